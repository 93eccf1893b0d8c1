"""The timeline selector: every source merged newest first, scoped, bounded."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from psp_crm.errors import NotFound
from psp_crm.models import Activity, Case, Consent, Interaction, Message
from psp_crm.selectors.timeline import find_patients, patient_timeline
from psp_crm.services.interactions import interaction_log
from tests.factories import (
    ActivityFactory,
    AdverseEventFactory,
    ConsentFactory,
    DeviceEventFactory,
    DeviceFactory,
    DiaryEntryFactory,
    ReportFactory,
    build_world,
)


@pytest.fixture
def world(db):
    world = build_world()
    now = timezone.now()
    DiaryEntryFactory(enrolment=world.enrolment, occurred_at=now - dt.timedelta(hours=5))
    DiaryEntryFactory(
        enrolment=world.enrolment, source="device", occurred_at=now - dt.timedelta(hours=4)
    )
    ActivityFactory(
        enrolment=world.enrolment,
        status=Activity.Status.DONE,
        scheduled_start=now - dt.timedelta(hours=3, minutes=30),
        scheduled_end=now - dt.timedelta(hours=3),
        completed_at=now - dt.timedelta(hours=3),
    )
    ActivityFactory(
        enrolment=world.enrolment,
        status=Activity.Status.PLANNED,  # not a touchpoint yet
        scheduled_start=now + dt.timedelta(days=1),
        scheduled_end=now + dt.timedelta(days=1, hours=1),
    )
    report = ReportFactory(enrolment=world.enrolment, subject="Tired")
    report.created_at = now - dt.timedelta(hours=2)
    report.save()
    device = DeviceFactory(enrolment=world.enrolment)
    DeviceEventFactory(device=device, occurred_at=now - dt.timedelta(hours=1))
    interaction_log(
        actor=world.counsellor.user,
        patient=world.patient,
        channel="phone",
        direction="in",
        summary="Called.",
    )
    return world


def test_every_source_newest_first(world):
    timeline = patient_timeline(actor=world.counsellor.user, role="operator", patient=world.patient)
    kinds = [item.kind for item in timeline.items]
    assert kinds == ["interaction", "device", "report", "activity", "diary", "diary"]
    assert [item.channel for item in timeline.items][-2:] == ["device", "web"]
    assert not timeline.has_next


def test_channel_filter_and_paging(world):
    actor = world.counsellor.user
    timeline = patient_timeline(
        actor=actor, role="operator", patient=world.patient, channels=["device"]
    )
    assert [item.kind for item in timeline.items] == ["device", "diary"]
    first = patient_timeline(actor=actor, role="operator", patient=world.patient, per_page=4)
    second = patient_timeline(
        actor=actor, role="operator", patient=world.patient, per_page=4, page=2
    )
    assert first.has_next and not second.has_next
    assert len(first.items) == 4 and len(second.items) == 2


def test_query_count_does_not_grow_with_history(world):
    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            patient_timeline(actor=world.counsellor.user, role="operator", patient=world.patient)
        return len(context.captured_queries)

    before = queries()
    for _ in range(30):
        DiaryEntryFactory(enrolment=world.enrolment)
        Message.objects.create(patient=world.patient, purpose="general", channel="sms", body="x")
        Case.objects.create(patient=world.patient, subject="More")
    assert queries() == before


@pytest.mark.parametrize(
    ("who", "role"),
    [("driver", "operator"), ("client", "client"), ("outsider_doctor", "doctor")],
)
def test_who_may_not_see_gets_not_found(world, who, role):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    with pytest.raises(NotFound):
        patient_timeline(actor=actor, role=role, patient=world.patient)


def test_find_patients_is_scoped(world):
    world.patient.phone = "+39 02 1234 5678"
    world.patient.save()
    world.other_patient.phone = "02 1234 5678"
    world.other_patient.save()
    found = find_patients(actor=world.counsellor.user, role="operator", query="0212345678")
    assert [m.patient for m in found] == [world.patient]
    assert find_patients(actor=world.driver.user, role="operator", query="0212345678") == []


def test_messages_show_their_delivery_status(world):
    now = timezone.now()
    Message.objects.create(
        patient=world.patient,
        enrolment=world.enrolment,
        purpose="dose_reminder",
        channel="sms",
        body="Time for your dose",
        status=Message.Status.SKIPPED,
        skip_reason="no consent for SMS",
        created_at=now - dt.timedelta(minutes=30),
    )
    Message.objects.create(
        patient=world.patient,
        enrolment=world.enrolment,
        purpose="activity_rescheduled",
        channel="email",
        body="Your visit moved",
        status=Message.Status.RETRYING,
        attempts=2,
        last_error="SMTP timeout",
        next_attempt_at=now + dt.timedelta(minutes=25),
        created_at=now - dt.timedelta(minutes=20),
    )
    timeline = patient_timeline(actor=world.counsellor.user, role="operator", patient=world.patient)
    messages = [item for item in timeline.items if item.kind == "message"]
    assert [m.channel for m in messages] == ["email", "sms"]
    assert "Failed, will retry" in messages[0].outcome and "2 attempts" in messages[0].outcome
    assert "SMTP timeout" in messages[0].outcome and "next try" in messages[0].outcome
    assert messages[1].outcome == "Skipped · no consent for SMS"
    assert messages[1].who == "automatic"
    only_sms = patient_timeline(
        actor=world.counsellor.user, role="operator", patient=world.patient, channels=["sms"]
    )
    assert [item.kind for item in only_sms.items] == ["message"]


def test_calls_show_reason_outcome_and_duration(world):
    Interaction.objects.create(
        patient=world.patient,
        enrolment=world.enrolment,
        channel="phone",
        direction="out",
        reason="missed_doses",
        outcome="callback",
        duration_seconds=450,
        summary="Forgot the pen at work.",
        handled_by=world.counsellor.user,
    )
    item = patient_timeline(
        actor=world.counsellor.user, role="operator", patient=world.patient
    ).items[0]
    assert item.subject == "Missed doses — Forgot the pen at work."
    assert item.outcome == "Call back requested · 7 min 30 s"


def test_cases_show_sla_clock_owner_and_adverse_event(world):
    now = timezone.now()
    overdue = Case.objects.create(
        patient=world.patient,
        enrolment=world.enrolment,
        subject="Rash after infusion",
        category="adverse_event_suspicion",
        priority="high",
        assigned_to=world.counsellor.user,
        due_at=now - dt.timedelta(hours=1),
        escalation_level=1,
    )
    AdverseEventFactory(enrolment=world.enrolment, case=overdue, reaction="rash")
    Case.objects.create(
        patient=world.patient,
        subject="Waiting for the patient's documents",
        status="waiting",
        due_at=now - dt.timedelta(hours=5),
        sla_paused_at=now - dt.timedelta(hours=6),
        opened_at=now - dt.timedelta(days=1),
    )
    items = [
        i
        for i in patient_timeline(
            actor=world.counsellor.user, role="operator", patient=world.patient
        ).items
        if i.kind == "case"
    ]
    assert "suspected adverse event: rash" in items[0].subject
    assert "SLA overdue" in items[0].outcome and "escalated (level 1)" in items[0].outcome
    assert "owner" in items[0].outcome
    assert "SLA paused" in items[1].outcome and "overdue" not in items[1].outcome


def test_consents_given_and_withdrawn_show_where_they_came_from(world):
    from psp_crm.services.contact_preferences import (
        channel_consent_set,
        channel_consent_withdraw_on_call,
    )
    from psp_crm.services.inbound_sms import inbound_sms_receive

    now = timezone.now()
    ConsentFactory(
        patient=world.patient,
        kind=Consent.Kind.CHANNEL_PHONE,
        given_via=Consent.Via.STAFF,
        recorded_by=world.staff,
        given_at=now - dt.timedelta(days=3),
    )
    channel_consent_set(actor=world.patient_user, patient=world.patient, channel="sms", given=True)
    channel_consent_set(
        actor=world.caregiver_user, patient=world.patient, channel="email", given=True
    )
    channel_consent_withdraw_on_call(
        actor=world.counsellor.user, patient=world.patient, channel="email"
    )
    world.patient.phone = "+39 347 555 0123"
    world.patient.save(update_fields=["phone"])
    inbound_sms_receive(provider_ref="stop-tl", from_number="3475550123", body="STOP")

    actor = world.counsellor.user
    items = [
        item
        for item in patient_timeline(actor=actor, role="operator", patient=world.patient).items
        if item.kind == "consent"
    ]
    rows = [
        (item.subject.split(" (")[0], item.channel, item.direction, item.outcome) for item in items
    ]
    assert rows == [
        ("Consent withdrawn: Contact by SMS", "sms", "in", "SMS reply"),
        ("Consent withdrawn: Contact by e-mail", "phone", "in", "Contact centre call"),
        ("Consent given: Contact by e-mail", "web", "in", "Patient portal"),
        ("Consent given: Contact by SMS", "web", "in", "Patient portal"),
        ("Consent given: Contact by phone", "", "", "Provider staff"),
    ]
    who = {item.subject.split(" (")[0]: item.who for item in items}
    assert who["Consent withdrawn: Contact by SMS"] == "the patient, by SMS"
    assert who["Consent withdrawn: Contact by e-mail"] == world.counsellor.user.get_full_name()
    assert who["Consent given: Contact by e-mail"] == world.caregiver_user.get_full_name()
    # The channel filter keeps the changes made on that channel only.
    sms_only = patient_timeline(
        actor=actor, role="operator", patient=world.patient, channels=["sms"]
    )
    consent_rows = [item.subject for item in sms_only.items if item.kind == "consent"]
    assert consent_rows == ["Consent withdrawn: Contact by SMS"]
