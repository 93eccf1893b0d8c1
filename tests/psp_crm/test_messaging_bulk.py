"""The bulk paths of the periodic reminders: queueing per chunk and batched delivery keep the
rules of the one-by-one path (consent at queue and send time, skips with their reason, quiet
hours, retries, idempotency, one audit row per message write, live events)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.db.models import F

from psp_crm.demo.messaging import create_message_templates
from psp_crm.messaging.backends import ChannelBackend, DeliveryError
from psp_crm.models import (
    AuditEvent,
    Channel,
    Consent,
    ContactPreferences,
    Enrolment,
    Message,
    Purpose,
)
from psp_crm.services import reminders
from psp_crm.services.messaging import SKIP_WITHDRAWN, deliver_due_messages
from psp_crm.services.reminders import dose_reminders_queue
from tests.factories import ConsentFactory, EnrolmentFactory, PatientFactory, record_events

ROME = zoneinfo.ZoneInfo("Europe/Rome")
TUESDAY = dt.date(2026, 3, 10)
NOON = dt.datetime.combine(TUESDAY, dt.time(12), tzinfo=ROME)
BROKEN_PHONE = "+39 333 9999999"
SENT: list[tuple[str, int]] = []


class RecordingBackend(ChannelBackend):
    def send(self, message: Message) -> str:
        SENT.append((message.channel, message.pk))
        return f"rec:{message.pk}"


class OneBrokenNumberBackend(RecordingBackend):
    """Fails (transiently) for one phone number only."""

    def send(self, message: Message) -> str:
        if message.to_address == BROKEN_PHONE:
            raise DeliveryError("provider hiccup")
        return super().send(message)


@pytest.fixture
def recording(settings) -> list:
    SENT.clear()
    settings.PSP_CHANNEL_BACKENDS = {c: f"{__name__}.RecordingBackend" for c in Channel.values}
    return SENT


def _daily(*, phone: str = "+39 333 0000001", sms: bool = True, login: bool = True) -> Enrolment:
    patient = (
        PatientFactory(with_login=login, phone=phone) if login else PatientFactory(phone=phone)
    )
    if sms:
        ConsentFactory(patient=patient, kind=Consent.Kind.CHANNEL_SMS)
    return EnrolmentFactory(
        patient=patient,
        active=True,
        doses_per_week=Decimal("7"),
        dose="15 mg",
        start_date=dt.date(2026, 3, 1),
    )


def _mine(enrolment: Enrolment) -> dict[str, Message]:
    return {
        m.channel: m
        for m in Message.objects.filter(enrolment=enrolment, purpose=Purpose.DOSE_REMINDER)
    }


@pytest.fixture
def templates(db):
    """The demo templates, and only this module's patients on a therapy (the session seed's
    active enrolments and messages are put aside inside the test's transaction)."""
    create_message_templates()
    Enrolment.objects.filter(status=Enrolment.Status.ACTIVE).update(
        status=Enrolment.Status.SUSPENDED
    )
    Message.objects.all().delete()


def _audits_match_messages() -> None:
    for message in Message.objects.all():
        assert (
            AuditEvent.objects.filter(
                object_type="psp_crm.message", object_id=str(message.pk), action="create"
            ).count()
            == 1
        )


def test_missing_consent_is_a_recorded_skip(templates, recording):
    enrolment = _daily(sms=False, login=False)
    assert dose_reminders_queue(now=NOON) == 3
    mine = _mine(enrolment)
    assert mine["in_app"].status == "queued"
    assert (mine["sms"].status, mine["sms"].skip_reason) == ("skipped", "no consent for SMS")
    assert mine["push"].skip_reason == "no consent for push notifications"
    assert "15 mg" in mine["sms"].body  # staff see what would have been sent
    skip = AuditEvent.objects.get(verb="message.skip", object_id=str(mine["sms"].pk))
    assert skip.actor is None and skip.patient_id == enrolment.patient_id
    assert skip.detail == {
        "channel": "sms",
        "purpose": Purpose.DOSE_REMINDER,
        "status": "skipped",
        "reason": "no consent for SMS",
    }
    _audits_match_messages()
    assert deliver_due_messages(now=NOON) == 1
    assert recording == [("in_app", mine["in_app"].pk)]


def test_quiet_hours_defer_all_but_in_app(templates, recording):
    enrolment = _daily()
    ConsentFactory(patient=enrolment.patient, kind=Consent.Kind.CHANNEL_PUSH)
    ContactPreferences.objects.create(
        patient=enrolment.patient,
        quiet_start=dt.time(21),
        quiet_end=dt.time(8),
        reminder_time=dt.time(20, 30),
    )
    late = dt.datetime.combine(TUESDAY, dt.time(22, 30), tzinfo=ROME)
    dose_reminders_queue(now=late)
    mine = _mine(enrolment)
    morning = dt.datetime.combine(TUESDAY + dt.timedelta(days=1), dt.time(8), tzinfo=ROME)
    assert (mine["in_app"].status, mine["in_app"].next_attempt_at) == ("queued", late)
    assert (mine["sms"].status, mine["sms"].next_attempt_at) == ("deferred", morning)
    assert mine["push"].status == "deferred"
    assert deliver_due_messages(now=late) == 1
    assert recording == [("in_app", mine["in_app"].pk)]
    assert deliver_due_messages(now=morning) == 2
    assert {m.status for m in _mine(enrolment).values()} == {"sent"}


def test_a_second_run_is_idempotent(templates, recording):
    enrolments = [_daily(phone=f"+39 333 00000{n:02d}") for n in range(4)]
    first = dose_reminders_queue(now=NOON)
    assert first == 12
    audits = AuditEvent.objects.count()
    assert dose_reminders_queue(now=NOON + dt.timedelta(minutes=5)) == 0
    assert Message.objects.count() == 12 and AuditEvent.objects.count() == audits
    keys = sorted(Message.objects.values_list("dedupe_key", flat=True))
    assert keys == sorted(
        f"dose:{e.pk}:{TUESDAY}:{c}" for e in enrolments for c in ("in_app", "push", "sms")
    )


def test_consent_withdrawn_before_the_batch_is_skipped(templates, recording):
    enrolment = _daily()
    dose_reminders_queue(now=NOON)
    sms = _mine(enrolment)["sms"]
    assert sms.status == "queued"
    Consent.objects.filter(patient=enrolment.patient, kind=Consent.Kind.CHANNEL_SMS).update(
        withdrawn_at=F("given_at") + dt.timedelta(seconds=1)
    )
    deliver_due_messages(now=NOON)
    sms.refresh_from_db()
    assert (sms.status, sms.skip_reason, sms.next_attempt_at) == ("skipped", SKIP_WITHDRAWN, None)
    assert ("sms", sms.pk) not in recording
    audit = AuditEvent.objects.get(verb="message.skip", object_id=str(sms.pk))
    assert audit.detail == {"reason": SKIP_WITHDRAWN} and audit.action == "update"


def test_one_failing_send_in_a_batch_retries_alone(templates, settings):
    SENT.clear()
    settings.PSP_CHANNEL_BACKENDS = {
        c: f"{__name__}.OneBrokenNumberBackend" for c in Channel.values
    }
    good = _daily(phone="+39 333 0000001")
    bad = _daily(phone=BROKEN_PHONE)
    for enrolment in (good, bad):
        ConsentFactory(patient=enrolment.patient, kind=Consent.Kind.CHANNEL_PUSH)
    dose_reminders_queue(now=NOON)
    assert deliver_due_messages(now=NOON) == 6
    statuses = {(m.enrolment_id, m.channel): (m.status, m.attempts) for m in Message.objects.all()}
    assert statuses.pop((bad.pk, "sms")) == ("retrying", 1)
    assert set(statuses.values()) == {("sent", 1)}
    retry = Message.objects.get(enrolment=bad, channel="sms")
    assert retry.next_attempt_at == NOON + dt.timedelta(minutes=1)
    assert retry.last_error == "provider hiccup"
    assert AuditEvent.objects.filter(verb="message.retry", object_id=str(retry.pk)).count() == 1
    assert AuditEvent.objects.filter(verb="message.sent").count() == 5
    assert good.pk  # the other patient's messages all went out
    # Not due yet, then due: sent on the second attempt.
    assert deliver_due_messages(now=NOON + dt.timedelta(seconds=30)) == 0
    Message.objects.filter(pk=retry.pk).update(to_address="+39 333 0000002")
    assert deliver_due_messages(now=NOON + dt.timedelta(minutes=1)) == 1
    retry.refresh_from_db()
    assert (retry.status, retry.attempts) == ("sent", 2)


def test_one_live_event_per_patient(
    templates, recording, monkeypatch, django_capture_on_commit_callbacks
):
    events = record_events(monkeypatch)
    enqueued: list[int] = []
    monkeypatch.setattr(reminders, "_enqueue_due", enqueued.append)
    enrolments = [_daily(phone=f"+39 333 00000{n:02d}") for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        dose_reminders_queue(now=NOON)
    assert events.verbs() == ["message.status"] * 3
    assert enqueued == [1]  # one delivery task for the 6 due messages, not one per message
    assert sorted(tuple(groups) for groups, _payload in events) == sorted(
        (f"enrolment.{e.pk}",) for e in enrolments
    )
    events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        deliver_due_messages(now=NOON)
    assert events.verbs() == ["message.status"] * 3


def test_a_chunk_of_fifty_patients_takes_a_bounded_number_of_queries(
    templates, recording, django_assert_max_num_queries
):
    for n in range(50):
        _daily(phone=f"+39 333 0001{n:03d}", sms=n % 2 == 0)
    with django_assert_max_num_queries(20):
        assert dose_reminders_queue(now=NOON) == 150
    assert AuditEvent.objects.filter(object_type="psp_crm.message").count() == 150
    with django_assert_max_num_queries(20):
        assert deliver_due_messages(now=NOON) == 75  # in-app 50, SMS 25 (push: no consent)
    assert Message.objects.filter(status="sent").count() == 75
    assert AuditEvent.objects.filter(verb="message.sent").count() == 75
