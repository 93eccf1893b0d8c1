"""The engine with frozen time: anchors, recurrences, idempotency, links and assignment."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from psp_crm.models import Activity, EnrolmentSchedule
from psp_crm.scheduling.engine import local_day, materialize

from .conftest import TODAY


def rows(enrolment, step=None):
    qs = Activity.objects.filter(enrolment=enrolment)
    if step is not None:
        qs = qs.filter(step=step)
    return list(qs.order_by("scheduled_start", "pk"))


def days(activities):
    return [(a.occurrence, (local_day(a.scheduled_start) - TODAY).days) for a in activities]


def test_every_anchor_and_recurrence_kind(pw):
    enrolment = pw.enrol()
    created = materialize([enrolment.pk], today=TODAY)
    # Therapy start, every 4 weeks, k counted from 1 (like the demo seed).
    assert days(rows(enrolment, pw.infusion)) == [(1, 0), (2, 28), (3, 56), (4, 84)]
    # Anchored 2 days before: the first would be in the past, so it is not created.
    assert days(rows(enrolment, pw.delivery)) == [(2, 26), (3, 54), (4, 82)]
    # Anchored the day after: the same occurrence number as its infusion.
    assert days(rows(enrolment, pw.pickup)) == [(1, 1), (2, 29), (3, 57), (4, 85)]
    # Enrolment start + 14 days, then monthly.
    assert days(rows(enrolment, pw.call)) == [(1, 14), (2, 45), (3, 75)]
    # A one-off step.
    assert days(rows(enrolment, pw.dietitian)) == [(1, 30)]
    # Not for a low-risk patient; on-request steps are never planned.
    assert rows(enrolment, pw.high_risk) == [] and rows(enrolment, pw.on_request) == []
    assert created == len(rows(enrolment)) == 15
    schedule = EnrolmentSchedule.objects.get(enrolment=enrolment)
    assert schedule.materialized_until == TODAY + dt.timedelta(days=90)


def test_time_window_duration_and_logistics(pw):
    enrolment = pw.enrol()
    materialize([enrolment.pk], today=TODAY)
    infusion = rows(enrolment, pw.infusion)[0]
    local = infusion.scheduled_start.astimezone(dt.UTC)
    assert infusion.scheduled_end - infusion.scheduled_start == dt.timedelta(minutes=120)
    assert local.tzinfo is not None
    delivery = rows(enrolment, pw.delivery)[0]
    assert delivery.cold_chain and delivery.items[0]["quantity"] == 1
    assert delivery.partner_id == pw.partner_id


def test_risk_profile_eligibility(pw):
    enrolment = pw.enrol(risk="high")
    materialize([enrolment.pk], today=TODAY)
    assert days(rows(enrolment, pw.high_risk)) == [(1, 21)]


def test_end_conditions(pw):
    pw.call.occurrence_limit = 2
    pw.call.save()
    pw.infusion.end_after_days = 30
    pw.infusion.save()
    enrolment = pw.enrol()
    materialize([enrolment.pk], today=TODAY)
    assert days(rows(enrolment, pw.call)) == [(1, 14), (2, 45)]
    assert days(rows(enrolment, pw.infusion)) == [(1, 0), (2, 28)]


def test_a_past_start_keeps_the_numbering_and_skips_the_past(pw):
    enrolment = pw.enrol(start_date=TODAY - dt.timedelta(days=60))
    enrolment.therapy_start_date = TODAY - dt.timedelta(days=56)
    enrolment.save()
    materialize([enrolment.pk], today=TODAY)
    # Infusions at -56, -28, 0, 28, ...: today's is the third occurrence.
    assert days(rows(enrolment, pw.infusion))[0] == (3, 0)


def test_running_twice_creates_nothing_twice(pw):
    enrolments = [pw.enrol() for _ in range(3)]
    ids = [e.pk for e in enrolments]
    first = materialize(ids, today=TODAY)
    before = sorted(Activity.objects.filter(enrolment__in=ids).values_list("pk", flat=True))
    assert materialize(ids, today=TODAY) == 0
    assert materialize(ids, today=TODAY + dt.timedelta(days=1)) >= 0
    after = Activity.objects.filter(enrolment__in=ids)
    keys = list(after.values_list("enrolment", "step", "cycle", "occurrence", "attempt"))
    assert len(keys) == len(set(keys))
    assert first == len(before) and set(before) <= set(after.values_list("pk", flat=True))


def test_the_database_refuses_a_duplicate_occurrence(pw):
    enrolment = pw.enrol()
    materialize([enrolment.pk], today=TODAY)
    existing = rows(enrolment, pw.infusion)[0]
    existing.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        existing.save()


def test_rolling_the_horizon_adds_only_the_new_days(pw):
    enrolment = pw.enrol()
    materialize([enrolment.pk], today=TODAY, horizon=30)
    assert days(rows(enrolment, pw.infusion)) == [(1, 0), (2, 28)]
    materialize([enrolment.pk], today=TODAY + dt.timedelta(days=1), horizon=60)
    assert days(rows(enrolment, pw.infusion)) == [(1, 0), (2, 28), (3, 56)]


def test_linked_activities_keep_their_order(pw):
    enrolment = pw.enrol()
    materialize([enrolment.pk], today=TODAY)
    infusions = {a.occurrence: a for a in rows(enrolment, pw.infusion)}
    for pickup in rows(enrolment, pw.pickup):
        anchor = infusions[pickup.occurrence]
        assert pickup.linked_to_id == anchor.pk
        assert pickup.scheduled_start > anchor.scheduled_end
    for delivery in rows(enrolment, pw.delivery):
        assert delivery.linked_to_id == infusions[delivery.occurrence].pk
        assert delivery.scheduled_end < infusions[delivery.occurrence].scheduled_start


def test_inactive_enrolments_get_nothing(pw):
    enrolment = pw.enrol()
    enrolment.status = "suspended"
    enrolment.save()
    assert materialize([enrolment.pk], today=TODAY) == 0
