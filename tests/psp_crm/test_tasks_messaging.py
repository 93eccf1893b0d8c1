"""Periodic messaging tasks: dose reminders (due days, idempotency, the outbox, the timeline)
and the delivery of what is due."""

from __future__ import annotations

import datetime as dt
import json
import logging
import zoneinfo
from decimal import Decimal

import pytest
from django.utils import timezone

from psp_crm.demo.messaging import create_demo_contact_choices, create_message_templates
from psp_crm.models import (
    Consent,
    ContactPreferences,
    Enrolment,
    Message,
    Patient,
    Product,
    Purpose,
)
from psp_crm.selectors.timeline import patient_timeline
from psp_crm.services.reminders import (
    activity_confirmations_queue,
    dose_due_on,
    dose_interval_days,
    dose_reminders_queue,
)
from psp_crm.tasks_messaging import deliver_due, send_activity_confirmations, send_dose_reminders
from tests.factories import (
    ActivityFactory,
    ConsentFactory,
    DiaryEntryFactory,
    EnrolmentFactory,
    PatientFactory,
    ProductFactory,
    ProviderStaffFactory,
    ServiceModuleFactory,
    build_world,
)

ROME = zoneinfo.ZoneInfo("Europe/Rome")
TUESDAY = dt.date(2026, 3, 10)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ROME)


@pytest.fixture
def outbox(settings, tmp_path):
    settings.PSP_OUTBOX_DIR = str(tmp_path / "outbox")
    return tmp_path / "outbox"


def _lines(path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --- due days ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("per_week", "days"), [(7, 1), (14, 1), (1, 7), (0.25, 28), (2, 4), (3, 2), (0.5, 14)]
)
def test_dose_interval(per_week, days):
    assert dose_interval_days(per_week) == days


def test_weekly_dose_falls_on_the_therapy_weekday():
    enrolment = Enrolment(
        doses_per_week=Decimal("1"), start_date=dt.date(2026, 2, 1), therapy_start_date=TUESDAY
    )
    assert dose_due_on(enrolment, TUESDAY)
    assert dose_due_on(enrolment, TUESDAY + dt.timedelta(days=7))
    assert not dose_due_on(enrolment, TUESDAY + dt.timedelta(days=1))
    assert not dose_due_on(enrolment, TUESDAY - dt.timedelta(days=7))  # before the therapy


def test_daily_dose_every_day_from_the_start():
    enrolment = Enrolment(doses_per_week=Decimal("7"), start_date=TUESDAY)
    assert all(dose_due_on(enrolment, TUESDAY + dt.timedelta(days=n)) for n in range(10))
    assert not dose_due_on(enrolment, TUESDAY - dt.timedelta(days=1))
    assert dose_due_on(Enrolment(doses_per_week=Decimal("7")), TUESDAY)  # no date: daily anyway
    assert not dose_due_on(Enrolment(doses_per_week=Decimal("1")), TUESDAY)
    assert not dose_due_on(Enrolment(doses_per_week=None), TUESDAY)


# --- the reminder run -------------------------------------------------------------------------


@pytest.fixture
def daily(db) -> Enrolment:
    """A patient on a daily tablet since the start of March, reminded at 09:00."""
    create_message_templates()
    patient = PatientFactory(with_login=True, phone="+39 333 0000001")
    ConsentFactory(patient=patient, kind=Consent.Kind.CHANNEL_SMS)
    create_demo_contact_choices(patient)
    return EnrolmentFactory(
        patient=patient,
        active=True,
        doses_per_week=Decimal("7"),
        dose="15 mg",
        start_date=dt.date(2026, 3, 1),
    )


def _mine(enrolment: Enrolment):
    return Message.objects.filter(enrolment=enrolment, purpose=Purpose.DOSE_REMINDER)


def test_reminders_wait_for_the_reminder_time(daily):
    dose_reminders_queue(now=at(TUESDAY, 8, 55))
    assert not _mine(daily).exists()
    dose_reminders_queue(now=at(TUESDAY, 9, 5))
    assert sorted(_mine(daily).values_list("channel", flat=True)) == ["in_app", "push", "sms"]


def test_reminders_follow_the_patients_reminder_time(daily):
    ContactPreferences.objects.create(patient=daily.patient, reminder_time=dt.time(19, 30))
    dose_reminders_queue(now=at(TUESDAY, 12))
    assert not _mine(daily).exists()
    dose_reminders_queue(now=at(TUESDAY, 19, 45))
    assert _mine(daily).count() == 3


def test_a_second_run_the_same_day_creates_nothing(daily):
    first = dose_reminders_queue(now=at(TUESDAY, 9, 5))
    assert first >= 3
    total = Message.objects.count()
    assert dose_reminders_queue(now=at(TUESDAY, 9, 10)) == 0
    assert dose_reminders_queue(now=at(TUESDAY, 20)) == 0
    assert Message.objects.count() == total
    keys = sorted(_mine(daily).values_list("dedupe_key", flat=True))
    assert keys == [f"dose:{daily.pk}:2026-03-10:{c}" for c in ("in_app", "push", "sms")]
    # The next day is a new reminder.
    dose_reminders_queue(now=at(TUESDAY + dt.timedelta(days=1), 9, 5))
    assert _mine(daily).count() == 6


def test_no_reminder_once_the_dose_is_logged(daily):
    DiaryEntryFactory(enrolment=daily, occurred_at=at(TUESDAY, 7, 30))
    dose_reminders_queue(now=at(TUESDAY, 9, 5))
    assert not _mine(daily).exists()
    # Yesterday's dose does not count for today.
    dose_reminders_queue(now=at(TUESDAY + dt.timedelta(days=1), 9, 5))
    assert _mine(daily).count() == 3


def test_weekly_reminder_only_on_its_day(db):
    create_message_templates()
    weekly = EnrolmentFactory(
        active=True, doses_per_week=Decimal("1"), start_date=TUESDAY, therapy_start_date=TUESDAY
    )
    dose_reminders_queue(now=at(TUESDAY + dt.timedelta(days=1), 10))
    assert not _mine(weekly).exists()
    dose_reminders_queue(now=at(TUESDAY + dt.timedelta(days=7), 10))
    # No login and no consents: in-app goes out, push and SMS are recorded skips.
    statuses = dict(_mine(weekly).values_list("channel", "status"))
    assert statuses == {"in_app": "queued", "push": "skipped", "sms": "skipped"}


def test_inactive_enrolments_get_no_reminders(daily):
    Enrolment.objects.filter(pk=daily.pk).update(status="suspended")
    dose_reminders_queue(now=at(TUESDAY, 9, 5))
    assert not _mine(daily).exists()


def test_reminder_scan_has_a_bounded_number_of_queries(daily, django_assert_max_num_queries):
    dose_reminders_queue(now=at(TUESDAY, 9, 5))  # today's reminders exist: the scan remains
    for n in range(5):
        EnrolmentFactory(
            active=True, doses_per_week=Decimal("7"), start_date=TUESDAY + dt.timedelta(days=1 + n)
        )
    with django_assert_max_num_queries(5):
        assert dose_reminders_queue(now=at(TUESDAY, 9, 20)) == 0


# --- the periodic task, the outbox file and the timeline --------------------------------------


def test_task_writes_reminders_to_the_outbox_and_the_timeline(daily, outbox, caplog):
    staff = ProviderStaffFactory(organization=daily.program.provider).user
    with caplog.at_level(logging.INFO):
        queued = send_dose_reminders.call(at(TUESDAY, 9, 5).isoformat())
    assert queued >= 3
    assert f"dose reminders: {queued} queued" in caplog.text
    mine = {m.channel: m for m in _mine(daily)}
    assert {m.status for m in mine.values()} == {"sent"}
    sms = [line for line in _lines(outbox / "sms.jsonl") if line["id"] == mine["sms"].pk]
    assert len(sms) == 1 and sms[0]["to"] == "+39 333 0000001"
    assert "15 mg" in sms[0]["body"] and sms[0]["body"].startswith("Ciao ")
    push = [line for line in _lines(outbox / "push.jsonl") if line["id"] == mine["push"].pk]
    assert push[0]["to"] == f"user:{daily.patient.user_id}"
    timeline = patient_timeline(actor=staff, role="provider_staff", patient=daily.patient)
    reminders = [i for i in timeline.items if i.kind == "message" and "Dose" in i.subject]
    assert len(reminders) == 3 and {i.outcome for i in reminders} == {"Sent"}


def test_deliver_due_task_retries_what_is_due(db, settings):
    world = build_world()
    create_message_templates()
    settings.PSP_CHANNEL_BACKENDS = {
        **settings.PSP_CHANNEL_BACKENDS,
        "in_app": "psp_crm.messaging.backends.FailingBackend",
    }
    from psp_crm.services.messaging import message_queue

    now = at(TUESDAY, 10)
    message = message_queue(
        actor=None,
        patient=world.patient,
        purpose=Purpose.GENERAL,
        channel="in_app",
        context={},
        text="Ciao",
        now=now,
    )
    assert deliver_due.call(now.isoformat()) >= 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("retrying", 1)
    deliver_due.call((now + dt.timedelta(seconds=30)).isoformat())
    message.refresh_from_db()
    assert message.attempts == 1
    settings.PSP_CHANNEL_BACKENDS = {
        **settings.PSP_CHANNEL_BACKENDS,
        "in_app": "psp_crm.messaging.backends.InAppBackend",
    }
    deliver_due.call((now + dt.timedelta(minutes=1)).isoformat())
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)


def test_demo_world_reminders(demo_user, outbox):
    """Marco (demo world, self-injected pen) gets his dose reminder by push, SMS and in the app."""
    create_message_templates()
    marco = Patient.objects.get(user__email="marco.ferri@example.com")
    create_demo_contact_choices(marco)
    enrolment = marco.enrolments.get(status="active")
    interval = dose_interval_days(float(enrolment.doses_per_week))
    anchor = enrolment.therapy_start_date or enrolment.start_date
    # His next dose day after the seeded history (the demo is seeded relative to today).
    day = anchor + dt.timedelta(
        days=interval * ((timezone.localdate() - anchor).days // interval + 1)
    )
    send_dose_reminders.call(at(day, 12).isoformat())
    mine = {m.channel: m for m in _mine(enrolment)}
    assert {mine[c].status for c in ("in_app", "push", "sms")} == {"sent"}
    sms = [line for line in _lines(outbox / "sms.jsonl") if line["id"] == mine["sms"].pk]
    assert sms and "Marco" in sms[0]["body"] and sms[0]["to"] == marco.phone
    ops = demo_user("ops@curaplus.example")
    timeline = patient_timeline(actor=ops, role="provider_staff", patient=marco)
    assert any(
        i.kind == "message" and i.subject.startswith("Dose reminders") for i in timeline.items
    )


def test_infusions_get_no_dose_reminder(daily):
    """The nurse gives an infusion at home: her visit is confirmed instead."""
    daily.product = ProductFactory(form=Product.Form.INFUSION)
    daily.save(update_fields=["product"])
    dose_reminders_queue(now=at(TUESDAY, 12))
    assert not _mine(daily).exists()


def test_tomorrows_visits_are_confirmed_once(daily, outbox):
    visit = ActivityFactory(
        enrolment=daily,
        module=ServiceModuleFactory(channel="home_visit", name="Nurse visit"),
        scheduled_start=at(TUESDAY + dt.timedelta(days=1), 10),
        scheduled_end=at(TUESDAY + dt.timedelta(days=1), 11),
    )
    ActivityFactory(  # a phone call needs no confirmation
        enrolment=daily,
        module=ServiceModuleFactory(channel="phone"),
        scheduled_start=at(TUESDAY + dt.timedelta(days=1), 12),
        scheduled_end=at(TUESDAY + dt.timedelta(days=1), 12, 30),
    )
    ActivityFactory(  # too far ahead
        enrolment=daily,
        module=visit.module,
        scheduled_start=at(TUESDAY + dt.timedelta(days=3), 10),
        scheduled_end=at(TUESDAY + dt.timedelta(days=3), 11),
    )
    send_activity_confirmations.call(at(TUESDAY, 18).isoformat())
    confirmations = Message.objects.filter(enrolment=daily, purpose=Purpose.ACTIVITY_CONFIRMATION)
    assert {m.activity_id for m in confirmations} == {visit.pk}
    assert sorted(confirmations.values_list("channel", flat=True)) == ["in_app", "sms"]
    assert set(confirmations.values_list("status", flat=True)) == {"sent"}
    sms = confirmations.get(channel="sms")
    assert "10:00" in sms.body
    activity_confirmations_queue(now=at(TUESDAY, 18, 15))
    assert confirmations.count() == 2
