"""Message services: consent and skips, quiet hours, retries with backoff, templates and bad
input, dedupe, staff sends and retries, the domain's notification hooks."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from psp_crm.demo.messaging import create_message_templates
from psp_crm.errors import AccessDenied, DomainError
from psp_crm.messaging.backends import ChannelBackend, DeliveryError
from psp_crm.messaging.templates import TemplateVariableMissing
from psp_crm.models import (
    Activity,
    AuditEvent,
    Channel,
    ChannelPreference,
    Consent,
    ContactPreferences,
    Message,
    MessageTemplate,
    Patient,
    Purpose,
)
from psp_crm.services.activities import activity_reschedule
from psp_crm.services.consents import consent_withdraw
from psp_crm.services.messaging import (
    backoff,
    deliver_due_messages,
    message_deliver,
    message_notify,
    message_queue,
    message_retry_now,
    message_send,
)
from psp_crm.services.reports import report_reply, report_send
from tests.factories import ActivityFactory, ConsentFactory, build_world, record_events

ROME = zoneinfo.ZoneInfo("Europe/Rome")
MORNING = dt.datetime(2026, 3, 10, 10, 0, tzinfo=ROME)
DOSE_CONTEXT = {"product": "Reumetrex", "dose": "15 mg SC", "time": "09:00"}

RECORDED: list[tuple[str, int, str]] = []


class RecordingBackend(ChannelBackend):
    """Remembers what it was asked to send."""

    def send(self, message: Message) -> str:
        RECORDED.append((message.channel, message.pk, message.body))
        return f"rec:{message.pk}"


class ExplodingBackend(ChannelBackend):
    """A provider SDK that crashes with something other than a DeliveryError."""

    def send(self, message: Message) -> str:
        raise RuntimeError("provider SDK crashed")


class RefusingBackend(ChannelBackend):
    """A provider that refuses the number for good."""

    def send(self, message: Message) -> str:
        raise DeliveryError("number not in service", transient=False)


def _backends(settings, **paths: str) -> None:
    default = f"{__name__}.RecordingBackend"
    settings.PSP_CHANNEL_BACKENDS = {c: paths.get(c, default) for c in Channel.values}


@pytest.fixture
def recording(settings) -> list:
    RECORDED.clear()
    _backends(settings)
    return RECORDED


@pytest.fixture
def world(db):
    w = build_world()
    Patient.objects.filter(pk=w.patient.pk).update(
        phone="+39 333 1112233", email="paziente@example.com"
    )
    w.patient.refresh_from_db()
    create_message_templates()
    return w


def _consent(patient: Patient, *kinds: str) -> list[Consent]:
    return [ConsentFactory(patient=patient, kind=kind) for kind in kinds]


def _queue(world, channel=Channel.SMS, now=MORNING, **kw) -> Message:
    kw.setdefault("purpose", Purpose.DOSE_REMINDER)
    kw.setdefault("context", DOSE_CONTEXT)
    return message_queue(
        actor=None,
        patient=world.patient,
        channel=channel,
        enrolment=world.enrolment,
        now=now,
        **kw,
    )


# --- consent ----------------------------------------------------------------------------------


def test_without_consent_the_send_is_skipped_and_nothing_is_sent(world, recording):
    message = _queue(world)
    assert message.status == Message.Status.SKIPPED
    assert message.skip_reason == "no consent for SMS"
    assert "Reumetrex" in message.body  # staff see what would have been sent
    audit = AuditEvent.objects.get(verb="message.skip", object_id=str(message.pk))
    assert audit.patient == world.patient and audit.actor is None
    assert message_deliver(message.pk, now=MORNING + dt.timedelta(hours=1)).status == "skipped"
    assert deliver_due_messages(now=MORNING + dt.timedelta(hours=1)) == 0
    assert recording == []


def test_with_consent_it_is_queued_then_sent(world, recording, monkeypatch):
    _consent(world.patient, Consent.Kind.CHANNEL_SMS)
    message = _queue(world)
    assert (message.status, message.next_attempt_at) == ("queued", MORNING)
    assert (message.to_address, message.language) == ("+39 333 1112233", "it")
    events = record_events(monkeypatch)
    sent = message_deliver(message.pk, now=MORNING)
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, MORNING)
    assert sent.provider_ref == f"rec:{message.pk}"
    assert recording == [("sms", message.pk, message.body)]
    assert AuditEvent.objects.filter(verb="message.sent", object_id=str(message.pk)).exists()
    assert message_deliver(message.pk, now=MORNING).attempts == 1  # not sent twice
    assert len(recording) == 1
    assert events == []  # live events wait for the commit


def test_delivery_event_after_commit_carries_ids_only(
    world, recording, monkeypatch, django_capture_on_commit_callbacks
):
    message = _queue(world, channel=Channel.IN_APP)
    events = record_events(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        message_deliver(message.pk, now=MORNING)
    assert events.verbs() == ["message.status"]
    groups, payload = events[0]
    assert groups == [f"enrolment.{world.enrolment.pk}"]
    assert payload == {
        "verb": "message.status",
        "enrolment": world.enrolment.pk,
        "message": message.pk,
    }


def test_consent_withdrawn_before_delivery_skips_the_send(world, recording):
    (consent,) = _consent(world.patient, Consent.Kind.CHANNEL_SMS)
    message = _queue(world)
    assert message.status == "queued"
    consent_withdraw(actor=world.staff, consent=consent)
    message = message_deliver(message.pk, now=MORNING)
    assert message.status == Message.Status.SKIPPED
    assert message.skip_reason == "consent withdrawn before sending"
    assert message.attempts == 0 and recording == []


def test_in_app_needs_no_consent(world, recording):
    message = _queue(world, channel=Channel.IN_APP)
    assert message.status == "queued" and message.recipient == world.patient_user
    assert message_deliver(message.pk, now=MORNING).status == "sent"
    assert recording == [("in_app", message.pk, message.body)]


def test_no_phone_number_is_a_recorded_skip(world, recording):
    _consent(world.patient, Consent.Kind.CHANNEL_SMS)
    Patient.objects.filter(pk=world.patient.pk).update(phone="")
    world.patient.refresh_from_db()
    message = _queue(world)
    assert (message.status, message.skip_reason) == ("skipped", "no phone number on file")


# --- quiet hours ------------------------------------------------------------------------------


def test_quiet_hours_defer_until_the_morning(world, recording):
    _consent(world.patient, Consent.Kind.CHANNEL_SMS)
    late = dt.datetime(2026, 3, 10, 22, 30, tzinfo=ROME)
    message = _queue(world, now=late)
    assert message.status == Message.Status.DEFERRED
    assert message.next_attempt_at == dt.datetime(2026, 3, 11, 8, 0, tzinfo=ROME)
    assert message_deliver(message.pk, now=late + dt.timedelta(minutes=30)).status == "deferred"
    assert deliver_due_messages(now=late + dt.timedelta(hours=1)) == 0
    assert recording == []
    morning = dt.datetime(2026, 3, 11, 8, 0, tzinfo=ROME)
    assert deliver_due_messages(now=morning) == 1
    assert Message.objects.get(pk=message.pk).status == "sent"


def test_in_app_is_never_deferred(world, recording):
    late = dt.datetime(2026, 3, 10, 22, 30, tzinfo=ROME)
    message = _queue(world, channel=Channel.IN_APP, now=late)
    assert (message.status, message.next_attempt_at) == ("queued", late)
    assert message_deliver(message.pk, now=late).status == "sent"


def test_quiet_hours_are_checked_again_at_send_time(world, recording):
    _consent(world.patient, Consent.Kind.CHANNEL_SMS)
    ContactPreferences.objects.create(
        patient=world.patient, quiet_start=dt.time(12), quiet_end=dt.time(14)
    )
    message = _queue(world)
    message = message_deliver(message.pk, now=MORNING.replace(hour=13))
    assert message.status == "deferred"
    assert message.next_attempt_at == MORNING.replace(hour=14)
    assert recording == []


# --- retries ----------------------------------------------------------------------------------


def test_backoff_is_exponential_and_capped():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [dt.timedelta(minutes=m) for m in (1, 5, 25, 125)]
    assert backoff(5) == backoff(12) == dt.timedelta(hours=6)


def test_failing_backend_retries_with_backoff_then_gives_up(world, settings):
    _backends(settings, sms="psp_crm.messaging.backends.FailingBackend")
    settings.PSP_MESSAGE_MAX_ATTEMPTS = 5
    _consent(world.patient, Consent.Kind.CHANNEL_SMS)
    message = _queue(world)
    body = message.body
    now = MORNING
    for attempt, wait in enumerate((1, 5, 25, 125), start=1):
        message = message_deliver(message.pk, now=now)
        assert (message.status, message.attempts) == ("retrying", attempt)
        assert message.next_attempt_at == now + dt.timedelta(minutes=wait)
        assert "FailingBackend" in message.last_error
        # Not due yet: nothing happens.
        early = message_deliver(message.pk, now=now + dt.timedelta(seconds=30))
        assert early.attempts == attempt
        now = message.next_attempt_at
    message = message_deliver(message.pk, now=now)
    assert (message.status, message.attempts, message.failed_at) == ("failed", 5, now)
    assert message.next_attempt_at is None and message.body == body
    assert Message.objects.filter(pk=message.pk, status="failed").exists()
    assert AuditEvent.objects.filter(verb="message.retry", object_id=str(message.pk)).count() == 4
    assert AuditEvent.objects.filter(verb="message.fail", object_id=str(message.pk)).count() == 1


def test_a_crashing_backend_never_loses_the_message(world, settings):
    _backends(settings, sms=f"{__name__}.ExplodingBackend")
    _consent(world.patient, Consent.Kind.CHANNEL_SMS)
    message = message_deliver(_queue(world).pk, now=MORNING)
    assert (message.status, message.attempts) == ("retrying", 1)
    assert message.last_error == "RuntimeError: provider SDK crashed"
    assert message.next_attempt_at == MORNING + dt.timedelta(minutes=1)
    assert message.body


def test_a_misconfigured_backend_is_a_failed_attempt(world, settings):
    _backends(settings, sms="psp_crm.messaging.backends.NoSuchBackend")
    _consent(world.patient, Consent.Kind.CHANNEL_SMS)
    message = message_deliver(_queue(world).pk, now=MORNING)
    assert (message.status, message.attempts) == ("retrying", 1)
    assert "NoSuchBackend" in message.last_error


def test_a_permanent_refusal_fails_at_once(world, settings):
    _backends(settings, sms=f"{__name__}.RefusingBackend")
    _consent(world.patient, Consent.Kind.CHANNEL_SMS)
    message = message_deliver(_queue(world).pk, now=MORNING)
    assert (message.status, message.attempts, message.last_error) == (
        "failed",
        1,
        "number not in service",
    )


def test_deliver_due_messages_takes_only_due_pending_rows(world, recording):
    _consent(world.patient, Consent.Kind.CHANNEL_SMS)
    due = _queue(world)
    later = _queue(world, due_at=MORNING + dt.timedelta(hours=2))
    skipped = _queue(world, channel=Channel.EMAIL)  # no e-mail consent
    assert deliver_due_messages(now=MORNING) == 1
    statuses = dict(
        Message.objects.filter(pk__in=[due.pk, later.pk, skipped.pk]).values_list("pk", "status")
    )
    assert statuses == {due.pk: "sent", later.pk: "queued", skipped.pk: "skipped"}
    assert deliver_due_messages(now=MORNING + dt.timedelta(hours=2)) == 1


# --- templates and bad input ------------------------------------------------------------------


def test_interactive_send_with_a_missing_variable_is_refused(world, recording):
    _consent(world.patient, Consent.Kind.CHANNEL_SMS)
    before = Message.objects.count()
    with pytest.raises(TemplateVariableMissing) as caught:
        _queue(world, context={"dose": "15 mg", "time": "09:00"})
    assert "{product}" in caught.value.message_dict["body"][0]
    assert Message.objects.count() == before


def test_notification_with_a_missing_variable_is_kept_as_failed(world, recording):
    _consent(world.patient, Consent.Kind.CHANNEL_SMS)
    messages = message_notify(
        patient=world.patient,
        purpose=Purpose.DOSE_REMINDER,
        context={"dose": "15 mg", "time": "09:00"},
        enrolment=world.enrolment,
        now=MORNING,
    )
    by_channel = {m.channel: m for m in messages}
    for channel in ("in_app", "sms"):
        assert by_channel[channel].status == "failed"
        assert "{product}" in by_channel[channel].last_error
    assert by_channel["push"].status == "skipped"  # no push consent: consent comes first
    assert deliver_due_messages(now=MORNING) == 0 and recording == []


def test_a_missing_template_is_a_clear_error(world, recording):
    MessageTemplate.objects.filter(purpose=Purpose.CASE_UPDATE, channel=Channel.IN_APP).delete()
    with pytest.raises(DomainError) as caught:
        _queue(world, channel=Channel.IN_APP, purpose=Purpose.CASE_UPDATE, context={})
    assert (
        "no message template for case_update by in_app" in caught.value.message_dict["template"][0]
    )


def test_invalid_email_is_refused_on_the_field(world, recording):
    _consent(world.patient, Consent.Kind.CHANNEL_EMAIL)
    Patient.objects.filter(pk=world.patient.pk).update(email="anna@@example")
    world.patient.refresh_from_db()
    with pytest.raises(DomainError) as caught:
        message_send(
            actor=world.counsellor.user, patient=world.patient, channel="email", text="Ciao!"
        )
    assert caught.value.message_dict["to_address"] == [
        "“anna@@example” is not a valid e-mail address."
    ]
    # A system notification keeps the row, failed, for staff to see.
    messages = message_notify(
        patient=world.patient,
        purpose=Purpose.REPORT_NOTIFICATION,
        context={"author": "Dr Rossi", "report_title": "Re: Rash"},
        enrolment=world.enrolment,
        now=MORNING,
    )
    email = next(m for m in messages if m.channel == "email")
    assert email.status == "failed" and "not a valid e-mail address" in email.last_error


def test_unknown_channel_or_purpose_is_refused(world):
    with pytest.raises(DomainError) as caught:
        _queue(world, channel="pigeon", purpose="gossip")
    assert set(caught.value.message_dict) == {"channel", "purpose"}


def test_email_goes_out_through_django_mail(world, settings, mailoutbox):
    settings.PSP_CHANNEL_BACKENDS = {
        **settings.PSP_CHANNEL_BACKENDS,
        "email": "psp_crm.messaging.backends.EmailBackend",
    }
    _consent(world.patient, Consent.Kind.CHANNEL_EMAIL)
    message = message_send(
        actor=world.counsellor.user,
        patient=world.patient,
        channel="email",
        text="Ricordati il prelievo.",
        enrolment=world.enrolment,
        now=MORNING,
    )
    assert message_deliver(message.pk, now=MORNING).status == "sent"
    assert [m.to for m in mailoutbox] == [["paziente@example.com"]]
    assert mailoutbox[0].body == "Ricordati il prelievo."
    assert world.program.name in mailoutbox[0].subject


# --- dedupe -----------------------------------------------------------------------------------


def test_dedupe_key_returns_the_existing_message(world, recording):
    first = _queue(world, dedupe_key="test:1")
    again = _queue(world, dedupe_key="test:1", now=MORNING + dt.timedelta(hours=1))
    assert again.pk == first.pk
    assert Message.objects.filter(dedupe_key="test:1").count() == 1


def test_notify_keys_each_channel_and_runs_once(world, recording):
    _consent(world.patient, Consent.Kind.CHANNEL_SMS)
    kwargs = {
        "patient": world.patient,
        "purpose": Purpose.DOSE_REMINDER,
        "context": DOSE_CONTEXT,
        "enrolment": world.enrolment,
        "dedupe_key": "dose:x:2026-03-10",
        "now": MORNING,
    }
    first = message_notify(**kwargs)
    assert [m.channel for m in first] == ["in_app", "push", "sms"]
    assert [m.dedupe_key for m in first] == [
        f"dose:x:2026-03-10:{c}" for c in ("in_app", "push", "sms")
    ]
    assert [m.pk for m in message_notify(**kwargs)] == [m.pk for m in first]


def test_notify_follows_the_patients_channel_choices(world, recording):
    ChannelPreference.objects.create(
        patient=world.patient, purpose=Purpose.DOSE_REMINDER, channel=Channel.SMS, enabled=False
    )
    messages = message_notify(
        patient=world.patient,
        purpose=Purpose.DOSE_REMINDER,
        context=DOSE_CONTEXT,
        enrolment=world.enrolment,
        now=MORNING,
    )
    assert [m.channel for m in messages] == ["in_app", "push"]


def test_english_patient_gets_the_english_template(world, recording):
    ContactPreferences.objects.create(patient=world.patient, language="en")
    message = _queue(world, channel=Channel.IN_APP)
    assert message.language == "en" and message.body.startswith("Hi ")


# --- staff sends ------------------------------------------------------------------------------


def test_counsellor_sends_a_message(
    world, recording, monkeypatch, django_capture_on_commit_callbacks
):
    events = record_events(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(
            actor=world.counsellor.user,
            patient=world.patient,
            channel="in_app",
            text="Ciao, {come} stai?",
            enrolment=world.enrolment,
        )
    message.refresh_from_db()
    assert message.body == "Ciao, {come} stai?"  # a free text is sent as written
    assert message.created_by == world.counsellor.user
    assert message.status == "sent"  # the immediate task backend delivered it after commit
    assert events.verbs() == ["message.status", "message.status"]
    audit = AuditEvent.objects.get(verb="message.queue", object_id=str(message.pk))
    assert audit.actor == world.counsellor.user


@pytest.mark.parametrize("who", ["driver", "client", "patient_user", "outsider_staff"])
def test_forbidden_actor_sends_nothing(world, recording, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    before = Message.objects.count(), AuditEvent.objects.count()
    with pytest.raises(AccessDenied):
        message_send(actor=actor, patient=world.patient, channel="in_app", text="Hi")
    assert (Message.objects.count(), AuditEvent.objects.count()) == before


def test_empty_text_is_refused(world):
    with pytest.raises(DomainError) as caught:
        message_send(actor=world.staff, patient=world.patient, channel="in_app", text="  ")
    assert "text" in caught.value.message_dict


# --- retry now --------------------------------------------------------------------------------


@pytest.fixture
def failed(world, settings) -> Message:
    _backends(settings, sms=f"{__name__}.RefusingBackend")
    _consent(world.patient, Consent.Kind.CHANNEL_SMS)
    message = message_deliver(_queue(world).pk, now=MORNING)
    assert message.status == "failed"
    return message


def test_staff_retry_a_failed_message_now(world, failed, settings):
    _backends(settings)
    RECORDED.clear()
    retried = message_retry_now(actor=world.staff, message=failed, now=MORNING)
    assert (retried.status, retried.next_attempt_at, retried.failed_at) == ("queued", MORNING, None)
    assert AuditEvent.objects.get(verb="message.retry_now").actor == world.staff
    sent = message_deliver(failed.pk, now=MORNING)
    assert (sent.status, sent.attempts) == ("sent", 2)


@pytest.mark.parametrize(
    "who", ["counsellor", "client", "doctor", "outsider_staff", "patient_user"]
)
def test_retry_now_is_for_the_patients_provider_staff(world, failed, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    with pytest.raises(AccessDenied):
        message_retry_now(actor=actor, message=failed)
    assert Message.objects.get(pk=failed.pk).status == "failed"


def test_retry_now_refuses_a_sent_message(world, recording):
    message = message_deliver(_queue(world, channel=Channel.IN_APP).pk, now=MORNING)
    with pytest.raises(DomainError):
        message_retry_now(actor=world.staff, message=message)


def test_admin_retry_action(client, world, failed, settings):
    _backends(settings)
    client.force_login(world.staff)
    url = reverse("admin:psp_crm_message_changelist")
    listing = client.get(url, {"status__exact": "failed"})
    assert listing.status_code == 200 and "number not in service" in listing.text
    response = client.post(url, {"action": "retry_now", "_selected_action": [failed.pk]})
    assert response.status_code == 302
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert texts == ["1 message(s) queued again."]
    assert Message.objects.get(pk=failed.pk).status in ("queued", "sent")


def test_admin_retry_action_refusal_is_a_message(client, world, recording):
    message = message_deliver(_queue(world, channel=Channel.IN_APP).pk, now=MORNING)
    client.force_login(world.staff)
    url = reverse("admin:psp_crm_message_changelist")
    response = client.post(url, {"action": "retry_now", "_selected_action": [message.pk]})
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(texts) == 1 and "Only failed or retrying messages" in texts[0]


def test_admin_cannot_add_or_edit_messages(client, world, recording):
    message = _queue(world, channel=Channel.IN_APP)
    client.force_login(world.staff)
    assert client.get(reverse("admin:psp_crm_message_add")).status_code == 403
    change = reverse("admin:psp_crm_message_change", args=[message.pk])
    page = client.get(change)
    assert page.status_code == 200 and 'name="body"' not in page.text
    assert client.post(change, {"body": "edited", "status": "sent"}).status_code == 403
    assert Message.objects.get(pk=message.pk).status == "queued"


# --- hooks ------------------------------------------------------------------------------------


@pytest.fixture
def active(world):
    world.enrolment.status = "active"
    world.enrolment.save()
    return world


def test_rescheduling_an_activity_notifies_the_patient(active, recording):
    world = active
    _consent(world.patient, Consent.Kind.CHANNEL_SMS)
    activity = ActivityFactory(enrolment=world.enrolment)
    start = (activity.scheduled_start + dt.timedelta(days=3)).replace(microsecond=0)
    new = activity_reschedule(
        actor=world.staff,
        activity=activity,
        start=start,
        end=start + dt.timedelta(hours=2),
        reason="Patient asked",
    )
    messages = Message.objects.filter(activity=new).order_by("channel")
    assert [(m.channel, m.purpose) for m in messages] == [
        ("in_app", "activity_rescheduled"),
        ("sms", "activity_rescheduled"),
    ]
    local = start.astimezone(ROME)
    assert f"{local:%d/%m/%Y}" in messages[0].body and new.module.name in messages[0].body


def test_a_failing_notification_never_fails_the_reschedule(active, recording, monkeypatch):
    world = active
    from psp_crm.services import messaging

    def refuse(**kwargs):
        raise DomainError("no")

    monkeypatch.setattr(messaging, "message_notify", refuse)
    activity = ActivityFactory(enrolment=world.enrolment)
    start = activity.scheduled_start + dt.timedelta(days=3)
    new = activity_reschedule(
        actor=world.staff,
        activity=activity,
        start=start,
        end=start + dt.timedelta(hours=1),
        reason="x",
    )
    assert Activity.objects.get(pk=activity.pk).status == "rescheduled"
    assert new.pk and not Message.objects.filter(activity=new).exists()


def test_a_doctors_reply_notifies_the_patient(active, recording, settings, tmp_path):
    world = active
    settings.MEDIA_ROOT = tmp_path
    report = report_send(
        actor=world.patient_user, enrolment=world.enrolment, subject="Rash", body="Look."
    )
    reply = report_reply(actor=world.doctor.user, report=report, body="Use the cream.")
    messages = list(
        Message.objects.filter(purpose=Purpose.REPORT_NOTIFICATION, patient=world.patient)
    )
    assert {m.channel for m in messages} == {"in_app", "email"}
    in_app = next(m for m in messages if m.channel == "in_app")
    assert "Re: Rash" in in_app.body and world.doctor.user.get_full_name() in in_app.body
    assert in_app.dedupe_key == f"report_reply:{reply.pk}:in_app"
    email = next(m for m in messages if m.channel == "email")
    assert (email.status, email.skip_reason) == ("skipped", "no consent for e-mail")


def test_a_reply_to_a_caregivers_report_does_not_message_the_patient(active, recording):
    world = active
    world.delegation.can_send_reports = True
    world.delegation.save()
    report = report_send(
        actor=world.caregiver_user, enrolment=world.enrolment, subject="Q", body="?"
    )
    report_reply(actor=world.doctor.user, report=report, body="A.")
    assert not Message.objects.filter(
        purpose=Purpose.REPORT_NOTIFICATION, patient=world.patient
    ).exists()
