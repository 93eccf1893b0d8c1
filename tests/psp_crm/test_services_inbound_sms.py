"""Inbound SMS: matching the sender, landing on the timeline, idempotency by provider id."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from psp_crm.errors import DomainError
from psp_crm.messaging import policy
from psp_crm.models import AuditEvent, Consent, Enrolment, InboundSms, Interaction, Message
from psp_crm.services.inbound_sms import (
    Replayed,
    inbound_sms_receive,
    is_stop_word,
    national_number,
    patients_with_number,
)
from tests.factories import (
    ConsentFactory,
    EnrolmentFactory,
    PatientFactory,
    build_world,
    record_events,
)

PHONE = "+39 347 555 0199"


@pytest.fixture
def world(db):
    world = build_world()
    world.patient.phone = PHONE
    world.patient.save(update_fields=["phone"])
    Enrolment.objects.filter(pk=world.enrolment.pk).update(status=Enrolment.Status.ACTIVE)
    world.enrolment.refresh_from_db()
    return world


def sms_sent(patient, *, hours_ago=1, enrolment=None, status=Message.Status.SENT) -> Message:
    when = timezone.now() - dt.timedelta(hours=hours_ago)
    return Message.objects.create(
        patient=patient,
        enrolment=enrolment,
        purpose="activity_confirmation",
        channel="sms",
        to_address=patient.phone,
        body="Your visit is tomorrow.",
        status=status,
        sent_at=when,
        created_at=when,
    )


@pytest.mark.parametrize(
    ("number", "national"),
    [
        ("+39 347 555 0199", "3475550199"),
        ("0039-347-555-0199", "3475550199"),
        ("(347) 555.0199", "3475550199"),
        ("393475550199", "3475550199"),
        ("3931234567", "3931234567"),  # an Italian mobile that starts with 393
        ("+41 79 123 45 67", "41791234567"),
    ],
)
def test_national_number(number, national):
    assert national_number(number) == national


@pytest.mark.parametrize(
    "number", ["3475550199", "+393475550199", "347-555-0199", "0039 347 5550199"]
)
def test_sender_is_matched_with_and_without_prefix(world, number):
    assert patients_with_number(number) == [world.patient]


def test_matched_reply_lands_on_the_timeline(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    events = record_events(monkeypatch)
    sms_sent(world.patient, hours_ago=5, enrolment=world.enrolment)
    newest = sms_sent(world.patient, hours_ago=1, enrolment=world.enrolment)
    sms_sent(world.patient, hours_ago=0, status=Message.Status.QUEUED)  # not sent yet
    sent_at = timezone.now() - dt.timedelta(minutes=2)
    with django_capture_on_commit_callbacks(execute=True):
        sms = inbound_sms_receive(
            provider_ref="prov-1",
            from_number="347 555 0199",
            body="Yes, confirmed.",
            sent_at=sent_at,
        )
    assert sms.status == InboundSms.Status.MATCHED
    assert sms.patient == world.patient and sms.in_reply_to == newest
    interaction = Interaction.objects.get(patient=world.patient, channel="sms", direction="in")
    assert interaction.summary == "Yes, confirmed."
    assert interaction.handled_by is None and interaction.enrolment == world.enrolment
    assert interaction.occurred_at == sent_at
    audit = AuditEvent.objects.get(verb="sms.receive", object_id=str(sms.pk))
    assert audit.actor is None and audit.patient == world.patient
    assert audit.detail["interaction"] == interaction.pk
    assert events.verbs() == ["interaction.logged"]
    groups, message = events[0]
    assert groups == [f"enrolment.{world.enrolment.pk}"]
    assert message["interaction"] == interaction.pk and "Yes" not in str(message)


def test_without_a_previous_sms_the_only_active_enrolment_is_used(world):
    sms = inbound_sms_receive(provider_ref="prov-2", from_number=PHONE, body="Hello")
    assert sms.in_reply_to is None
    interaction = Interaction.objects.get(patient=world.patient, channel="sms")
    assert interaction.enrolment == world.enrolment


def test_two_active_enrolments_and_no_previous_sms_leave_the_program_open(world):
    EnrolmentFactory(patient=world.patient, active=True)
    inbound_sms_receive(provider_ref="prov-3", from_number=PHONE, body="Hello")
    assert Interaction.objects.get(patient=world.patient, channel="sms").enrolment is None


def test_unknown_sender_is_kept_unmatched(world, monkeypatch, django_capture_on_commit_callbacks):
    events = record_events(monkeypatch)
    before = Interaction.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        sms = inbound_sms_receive(provider_ref="prov-4", from_number="+39 333 000 0000", body="?")
    assert sms.status == InboundSms.Status.UNMATCHED and sms.patient is None
    assert Interaction.objects.count() == before
    assert AuditEvent.objects.get(verb="sms.receive", object_id=str(sms.pk)).patient is None
    assert events == []


def test_shared_number_goes_to_the_patient_last_texted(world):
    sibling = PatientFactory(phone="347-555-0199")
    assert set(patients_with_number(PHONE)) == {world.patient, sibling}
    unmatched = inbound_sms_receive(provider_ref="prov-5", from_number=PHONE, body="Hi")
    assert unmatched.status == InboundSms.Status.UNMATCHED  # ambiguous: staff decide
    sms_sent(sibling, hours_ago=1)
    matched = inbound_sms_receive(provider_ref="prov-6", from_number=PHONE, body="Hi")
    assert matched.patient == sibling


def test_a_repeated_provider_id_is_refused_and_writes_nothing(world):
    inbound_sms_receive(provider_ref="prov-7", from_number=PHONE, body="Once")
    before = (InboundSms.objects.count(), Interaction.objects.count(), AuditEvent.objects.count())
    with pytest.raises(Replayed):
        inbound_sms_receive(provider_ref="prov-7", from_number=PHONE, body="Twice")
    assert (
        InboundSms.objects.count(),
        Interaction.objects.count(),
        AuditEvent.objects.count(),
    ) == before
    assert issubclass(Replayed, DomainError)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"provider_ref": ""}, "id"),
        ({"from_number": ""}, "from"),
        ({"from_number": "12"}, "from"),
        ({"body": "   "}, "text"),
        ({"sent_at": dt.datetime(2026, 1, 1, 10, 0)}, "sent_at"),
        ({"sent_at": timezone.now() + dt.timedelta(days=1)}, "sent_at"),
    ],
)
def test_invalid_input_is_a_field_error(world, values, field):
    data = {"provider_ref": "prov-8", "from_number": PHONE, "body": "Hi", **values}
    with pytest.raises(DomainError) as error:
        inbound_sms_receive(**data)
    assert field in error.value.message_dict
    assert not InboundSms.objects.filter(provider_ref="prov-8").exists()


# --- STOP: the holder of the number opts out of SMS -------------------------------------------


@pytest.mark.parametrize(
    ("body", "stop"),
    [
        ("STOP", True),
        (" stop. ", True),
        ("Stop SMS!", True),
        ("ANNULLA", True),
        ("unsubscribe", True),
        ("stop the pain please", False),
        ("Please don't stop", False),
        ("Yes, confirmed.", False),
    ],
)
def test_stop_words(body, stop):
    assert is_stop_word(body) is stop


def sms_consent(patient) -> Consent:
    return ConsentFactory(patient=patient, kind=Consent.Kind.CHANNEL_SMS)


def test_stop_withdraws_the_sms_consent_at_once(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    consent = sms_consent(world.patient)
    email = ConsentFactory(patient=world.patient, kind=Consent.Kind.CHANNEL_EMAIL)
    events = record_events(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        sms = inbound_sms_receive(provider_ref="prov-stop-1", from_number=PHONE, body="Stop")
    assert sms.opt_out and sms.status == InboundSms.Status.MATCHED
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None and consent.withdrawn_by is None
    assert consent.withdrawn_via == Consent.Via.SMS
    assert not policy.has_channel_consent(world.patient, "sms")
    assert policy.has_channel_consent(world.patient, "email")  # only SMS stops
    email.refresh_from_db()
    assert email.withdrawn_at is None
    audit = AuditEvent.objects.get(verb="consent.withdraw", object_id=str(consent.pk))
    assert audit.actor is None and audit.detail["via"] == "sms"
    assert audit.detail["inbound_sms"] == sms.pk
    # The reply itself is on the timeline as usual.
    assert Interaction.objects.get(patient=world.patient, channel="sms").summary == "Stop"
    assert sorted(events.verbs()) == ["consent.withdrawn", "interaction.logged"]


def test_stop_from_a_shared_number_stops_every_holder(world):
    sibling = PatientFactory(phone="347-555-0199")
    mine, theirs = sms_consent(world.patient), sms_consent(sibling)
    sms = inbound_sms_receive(provider_ref="prov-stop-2", from_number=PHONE, body="STOP")
    assert sms.status == InboundSms.Status.UNMATCHED and sms.opt_out  # ambiguous, still stopped
    for consent in (mine, theirs):
        consent.refresh_from_db()
        assert consent.withdrawn_via == Consent.Via.SMS


def test_stop_from_an_unknown_number_touches_nobody(world):
    consent = sms_consent(world.patient)
    sms = inbound_sms_receive(
        provider_ref="prov-stop-3", from_number="+39 333 0000000", body="STOP"
    )
    assert sms.status == InboundSms.Status.UNMATCHED and not sms.opt_out
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_stop_without_a_consent_in_force_only_records_the_sms(world):
    sms = inbound_sms_receive(provider_ref="prov-stop-4", from_number=PHONE, body="stop")
    assert sms.opt_out
    assert not AuditEvent.objects.filter(verb="consent.withdraw", actor__isnull=True).exists()


def test_an_ordinary_reply_keeps_the_consent(world):
    consent = sms_consent(world.patient)
    sms = inbound_sms_receive(provider_ref="prov-stop-5", from_number=PHONE, body="Ok, thanks")
    assert not sms.opt_out
    consent.refresh_from_db()
    assert consent.withdrawn_at is None
