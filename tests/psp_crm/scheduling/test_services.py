"""Activity services: happy path, forbidden actor (nothing written), bad input, events, audit."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from psp_crm.errors import DomainError, NotFound
from psp_crm.models import Activity, AuditEvent, DiaryEntry
from psp_crm.scheduling.engine import materialize
from psp_crm.services.activities import (
    activity_assign,
    activity_cancel,
    activity_complete,
    activity_no_show,
    activity_reschedule,
)
from tests.factories import OperatorFactory, ProviderStaffFactory


@pytest.fixture
def today_plan(pw):
    """A patient whose first infusion is today (in real time), with its linked work."""
    today = timezone.localdate()
    enrolment = pw.enrol(start_date=today, therapy_start_date=today)
    materialize([enrolment.pk], today=today)
    infusion = Activity.objects.get(enrolment=enrolment, step=pw.infusion, occurrence=1)
    return enrolment, infusion


@pytest.fixture
def pushed():
    with mock.patch("psp_crm.events._push") as push:
        yield push


def verbs(push) -> list[str]:
    return [call.args[1]["verb"] for call in push.call_args_list]


def test_nurse_completes_her_infusion_and_the_dose_counts(
    pw, today_plan, pushed, django_capture_on_commit_callbacks
):
    enrolment, infusion = today_plan
    with django_capture_on_commit_callbacks(execute=True):
        activity_complete(
            actor=pw.nurse.user,
            activity=infusion,
            outcome={"administered": True, "dose": "300 mg", "reaction": "none"},
            notes="All fine",
        )
    infusion.refresh_from_db()
    assert infusion.status == "done" and infusion.completed_at is not None
    dose = DiaryEntry.objects.get(enrolment=enrolment, kind="dose")
    assert dose.source == "nurse" and dose.dose_status == "taken" and dose.author == pw.nurse.user
    assert AuditEvent.objects.filter(verb="activity.complete", object_id=str(infusion.pk)).exists()
    assert "activity.done" in verbs(pushed) and "diary.created" in verbs(pushed)
    groups = next(c.args[0] for c in pushed.call_args_list if c.args[1]["verb"] == "activity.done")
    assert f"operator.{pw.nurse.pk}" in groups and f"program.{pw.program.pk}.control" in groups
    # The linked waste pickup stays scheduled for the driver.
    pickup = Activity.objects.get(enrolment=enrolment, step=pw.pickup, occurrence=1)
    assert pickup.status == "planned" and pickup.assignee == pw.driver


def test_completing_twice_is_refused_and_changes_nothing(pw, today_plan):
    _, infusion = today_plan
    activity_complete(actor=pw.nurse.user, activity=infusion, outcome={"administered": True})
    done = Activity.objects.get(pk=infusion.pk)
    audits = AuditEvent.objects.count()
    with pytest.raises(DomainError, match="already done"):
        activity_complete(actor=pw.nurse.user, activity=infusion, outcome={"administered": True})
    assert Activity.objects.get(pk=infusion.pk).completed_at == done.completed_at
    assert DiaryEntry.objects.filter(enrolment=infusion.enrolment).count() == 1
    assert AuditEvent.objects.count() == audits


def test_another_operator_gets_404_and_nothing_is_written(pw, today_plan):
    _, infusion = today_plan
    stranger = OperatorFactory(organization=pw.nurse.organization, programs=[pw.program])
    with pytest.raises(NotFound):
        activity_complete(actor=stranger.user, activity=infusion, outcome={})
    with pytest.raises(NotFound):
        activity_complete(actor=pw.driver.user, activity=infusion, outcome={})
    assert Activity.objects.get(pk=infusion.pk).status == "planned"


def test_a_future_activity_cannot_be_completed_yet(pw, today_plan):
    enrolment, _ = today_plan
    later = Activity.objects.get(enrolment=enrolment, step=pw.infusion, occurrence=2)
    with pytest.raises(DomainError, match="later day"):
        activity_complete(actor=pw.nurse.user, activity=later, outcome={})


def test_delivery_needs_proof_and_cold_chain_temperature(pw, today_plan):
    enrolment, _ = today_plan
    pickup = Activity.objects.get(enrolment=enrolment, step=pw.pickup, occurrence=1)
    pickup.scheduled_start = timezone.now()
    pickup.scheduled_end = pickup.scheduled_start + dt.timedelta(minutes=20)
    pickup.save()
    with pytest.raises(DomainError) as error:
        activity_complete(actor=pw.driver.user, activity=pickup, outcome={})
    assert "proof_of_delivery" in error.value.error_dict
    delivery = Activity.objects.create(
        enrolment=enrolment,
        module=pickup.module.__class__.objects.get(code="drug-delivery"),
        assignee=pw.driver,
        scheduled_start=timezone.now(),
        scheduled_end=timezone.now() + dt.timedelta(minutes=30),
        cold_chain=True,
    )
    with pytest.raises(DomainError) as error:
        activity_complete(
            actor=pw.driver.user, activity=delivery, outcome={}, proof_of_delivery="Signed"
        )
    assert "temperature" in error.value.error_dict
    activity_complete(
        actor=pw.driver.user,
        activity=delivery,
        outcome={"temperature": "11.5"},
        proof_of_delivery="Signed by the patient",
    )
    delivery.refresh_from_db()
    assert delivery.outcome == {"temperature": "11.5", "cold_chain_ok": False}
    assert not DiaryEntry.objects.filter(enrolment=enrolment).exists()


def test_reschedule_moves_the_work_and_keeps_history(pw, today_plan):
    enrolment, infusion = today_plan
    start = timezone.now() + dt.timedelta(days=2)
    new = activity_reschedule(
        actor=pw.nurse.user,
        activity=infusion,
        start=start,
        end=start + dt.timedelta(hours=2),
        reason="Patient asked",
    )
    infusion.refresh_from_db()
    assert infusion.status == "rescheduled" and infusion.status_reason == "Patient asked"
    assert new.attempt == 1 and new.scheduled_start == start and new.assignee == pw.nurse
    pickup = Activity.objects.get(enrolment=enrolment, step=pw.pickup, occurrence=1)
    assert pickup.linked_to == new and pickup.scheduled_start > new.scheduled_end


def test_reschedule_window_must_end_after_it_starts(pw, today_plan):
    _, infusion = today_plan
    start = timezone.now() + dt.timedelta(days=2)
    with pytest.raises(DomainError, match="end after it starts"):
        activity_reschedule(
            actor=pw.nurse.user, activity=infusion, start=start, end=start, reason="x"
        )
    assert Activity.objects.get(pk=infusion.pk).status == "planned"
    assert Activity.objects.filter(rescheduled_from=infusion).count() == 0


def test_cancel_needs_a_reason_and_applies_the_policy(pw, today_plan):
    _, infusion = today_plan
    with pytest.raises(DomainError):
        activity_cancel(actor=pw.nurse.user, activity=infusion, reason="  ")
    new = activity_cancel(actor=pw.nurse.user, activity=infusion, reason="Fever")
    infusion.refresh_from_db()
    assert infusion.status == "cancelled" and infusion.cancel_cause == "manual"
    assert new is not None and new.rescheduled_from_id == infusion.pk


def test_no_show_records_a_missed_dose_and_replans(pw, today_plan):
    enrolment, infusion = today_plan
    infusion.scheduled_start = timezone.now() - dt.timedelta(minutes=5)
    infusion.scheduled_end = infusion.scheduled_start + dt.timedelta(hours=2)
    infusion.save()
    new = activity_no_show(actor=pw.nurse.user, activity=infusion, reason="Nobody home")
    assert Activity.objects.get(pk=infusion.pk).status == "missed"
    assert DiaryEntry.objects.get(enrolment=enrolment).dose_status == "missed"
    assert new is not None and new.is_open


def test_staff_assign_checks_role_and_staffing(pw, today_plan):
    enrolment, _ = today_plan
    dietitian = Activity.objects.get(enrolment=enrolment, step=pw.dietitian)
    assert dietitian.assignee is None
    with pytest.raises(DomainError, match="dietitian"):
        activity_assign(actor=pw.staff, activity=dietitian, operator=pw.nurse)
    outsider_dietitian = OperatorFactory(role="dietitian", territories=[])
    with pytest.raises(DomainError, match="does not work"):
        activity_assign(actor=pw.staff, activity=dietitian, operator=outsider_dietitian)
    staffed = OperatorFactory(role="dietitian", programs=[pw.program], territories=[])
    activity_assign(actor=pw.staff, activity=dietitian, operator=staffed)
    assert Activity.objects.get(pk=dietitian.pk).assignee == staffed


def test_staff_of_another_provider_cannot_assign(pw, today_plan):
    enrolment, _ = today_plan
    dietitian = Activity.objects.get(enrolment=enrolment, step=pw.dietitian)
    outsider = ProviderStaffFactory().user
    with pytest.raises(NotFound):
        activity_assign(actor=outsider, activity=dietitian, operator=None)
