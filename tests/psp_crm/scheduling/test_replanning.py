"""Re-planning: status changes, therapy change, missed/cancelled per policy, absences."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from psp_crm.models import Activity, CarePathwayStep, OperatorAbsence
from psp_crm.scheduling import engine
from psp_crm.scheduling.engine import local_day, materialize
from psp_crm.services.activities import absence_record, therapy_change
from psp_crm.services.enrolments import enrolment_transition
from tests.factories import OperatorFactory

from .conftest import TODAY


def open_rows(enrolment, **filters):
    return Activity.objects.filter(
        enrolment=enrolment, status__in=Activity.OPEN_STATUSES, **filters
    ).order_by("scheduled_start")


@pytest.fixture
def live(pw):
    """An enrolment that starts today (real today: status changes cancel from *now*)."""
    today = timezone.localdate()
    enrolment = pw.enrol(start_date=today, therapy_start_date=today)
    materialize([enrolment.pk], today=today)
    return enrolment


@pytest.mark.parametrize("status", ["suspended", "withdrawn"])
def test_closing_cancels_future_activities_with_a_reason(pw, live, status):
    future = open_rows(live, scheduled_start__gte=timezone.now()).count()
    assert future > 0
    enrolment_transition(actor=pw.staff, enrolment=live, to_status=status, reason="Hospitalised")
    assert open_rows(live, scheduled_start__gte=timezone.now()).count() == 0
    cancelled = Activity.objects.filter(enrolment=live, cancel_cause="enrolment")
    assert cancelled.count() == future
    assert all("Hospitalised" in a.status_reason for a in cancelled)


def test_reactivation_brings_the_work_back(pw, live, django_capture_on_commit_callbacks):
    before = open_rows(live, scheduled_start__gte=timezone.now()).count()
    enrolment_transition(actor=pw.staff, enrolment=live, to_status="suspended", reason="Travel")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enrolment_transition(actor=pw.staff, enrolment=live, to_status="active")
    assert callbacks  # materialization is queued after commit (a task)
    assert open_rows(live, scheduled_start__gte=timezone.now()).count() == before


def test_activation_materializes_after_commit(pw, django_capture_on_commit_callbacks):
    enrolment = pw.enrol()
    enrolment.status = "consented"
    enrolment.start_date = None
    enrolment.save()
    with django_capture_on_commit_callbacks(execute=True):
        enrolment_transition(actor=pw.staff, enrolment=enrolment, to_status="active")
    assert Activity.objects.filter(enrolment=enrolment, step=pw.infusion).exists()


def test_therapy_change_replans_only_therapy_anchored_work(pw):
    enrolment = pw.enrol()
    materialize([enrolment.pk], today=TODAY)
    calls_before = list(open_rows(enrolment, step=pw.call).values_list("pk", flat=True))
    touched = therapy_change(
        actor=pw.staff,
        enrolment=enrolment,
        therapy_start_date=TODAY + dt.timedelta(days=7),
        reason="Started a week later",
        today=TODAY,
    )
    assert len(touched) > 0
    infusions = list(open_rows(enrolment, step=pw.infusion))
    assert [(local_day(a.scheduled_start) - TODAY).days for a in infusions] == [7, 35, 63]
    assert {a.cycle for a in infusions} == {1} and infusions[0].occurrence == 1
    old = Activity.objects.filter(enrolment=enrolment, step=pw.infusion, cycle=0)
    assert set(old.values_list("status", "cancel_cause")) == {("cancelled", "therapy")}
    pickups = list(open_rows(enrolment, step=pw.pickup))
    assert all(p.linked_to.cycle == 1 for p in pickups)
    # The enrolment-anchored calls are untouched.
    assert list(open_rows(enrolment, step=pw.call).values_list("pk", flat=True)) == calls_before
    # And a second run is still idempotent.
    assert materialize([enrolment.pk], today=TODAY) == 0


def test_missed_infusion_is_rescheduled_and_its_pickup_follows(pw):
    enrolment = pw.enrol()
    materialize([enrolment.pk], today=TODAY)
    infusion = Activity.objects.get(enrolment=enrolment, step=pw.infusion, occurrence=2)
    pickup = Activity.objects.get(enrolment=enrolment, step=pw.pickup, occurrence=2)
    infusion.status = Activity.Status.MISSED
    infusion.save()
    new = engine.reschedule_per_policy(infusion, today=TODAY)
    assert new is not None and new.attempt == 1 and new.rescheduled_from == infusion
    assert local_day(new.scheduled_start) == local_day(infusion.scheduled_start) + dt.timedelta(
        days=1
    )  # day 28 is a Monday: the next working day is Tuesday
    pickup.refresh_from_db()
    assert pickup.linked_to == new and pickup.scheduled_start > new.scheduled_end
    assert pickup.is_open


def test_without_a_policy_the_follow_ups_are_cancelled(pw):
    pw.infusion.reschedule_policy = CarePathwayStep.ReschedulePolicy.NONE
    pw.infusion.save()
    enrolment = pw.enrol()
    materialize([enrolment.pk], today=TODAY)
    infusion = Activity.objects.get(enrolment=enrolment, step=pw.infusion, occurrence=2)
    infusion.status = Activity.Status.CANCELLED
    infusion.save()
    assert engine.reschedule_per_policy(infusion, today=TODAY) is None
    pickup = Activity.objects.get(enrolment=enrolment, step=pw.pickup, occurrence=2)
    assert pickup.status == "cancelled" and pickup.cancel_cause == "linked"
    delivery = Activity.objects.get(enrolment=enrolment, step=pw.delivery, occurrence=2)
    assert delivery.is_open  # it came before the infusion: not ours to cancel here


def test_reschedules_stop_at_the_limit(pw):
    pw.infusion.max_reschedules = 1
    pw.infusion.save()
    enrolment = pw.enrol()
    materialize([enrolment.pk], today=TODAY)
    infusion = Activity.objects.get(enrolment=enrolment, step=pw.infusion, occurrence=2)
    infusion.status = Activity.Status.MISSED
    infusion.save()
    again = engine.reschedule_per_policy(infusion, today=TODAY)
    again.status = Activity.Status.MISSED
    again.save()
    assert engine.reschedule_per_policy(again, today=TODAY) is None


def test_an_absence_reassigns_to_a_colleague(pw):
    colleague = OperatorFactory(
        organization=pw.nurse.organization, programs=[pw.program], skills=["iv-infusion"]
    )
    enrolment = pw.enrol()
    materialize([enrolment.pk], today=TODAY)
    infusions = list(open_rows(enrolment, step=pw.infusion))
    assert {a.assignee_id for a in infusions} == {pw.nurse.pk}
    absence_record(
        actor=pw.staff,
        operator=pw.nurse,
        starts_on=TODAY + dt.timedelta(days=20),
        ends_on=TODAY + dt.timedelta(days=40),
        reason="Holiday",
    )
    after = {a.occurrence: a.assignee_id for a in open_rows(enrolment, step=pw.infusion)}
    assert after[2] == colleague.pk  # day 28 falls in the absence
    assert after[1] == after[3] == pw.nurse.pk


def test_an_absence_nobody_covers_goes_to_the_unassigned_queue(pw):
    enrolment = pw.enrol()
    materialize([enrolment.pk], today=TODAY)
    absence_record(
        actor=pw.staff, operator=pw.nurse, starts_on=TODAY, ends_on=TODAY + dt.timedelta(days=1)
    )
    infusion = Activity.objects.get(enrolment=enrolment, step=pw.infusion, occurrence=1)
    assert infusion.assignee_id is None
    assert OperatorAbsence.objects.filter(operator=pw.nurse).exists()


def test_new_plans_avoid_an_absent_operator(pw):
    OperatorAbsence.objects.create(operator=pw.nurse, starts_on=TODAY, ends_on=TODAY)
    enrolment = pw.enrol()
    materialize([enrolment.pk], today=TODAY)
    first = Activity.objects.get(enrolment=enrolment, step=pw.infusion, occurrence=1)
    second = Activity.objects.get(enrolment=enrolment, step=pw.infusion, occurrence=2)
    assert first.assignee_id is None and second.assignee_id == pw.nurse.pk
