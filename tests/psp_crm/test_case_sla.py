"""The case SLA clock: deadline by priority and category, pause while waiting, escalation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from psp_crm.models import AuditEvent, Case
from psp_crm.services.interactions import (
    case_escalate_overdue,
    case_open,
    case_update_status,
)
from psp_crm.tasks_contact_centre import escalate_overdue_cases
from tests.factories import build_world, record_events

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def world(db):
    # Counts below are exact: the seeded demo cases (rolled back after the test) stay out of it.
    Case.objects.update(status=Case.Status.CLOSED)
    return build_world()


def _open(world, **kwargs) -> Case:
    kwargs.setdefault("subject", "Question")
    kwargs.setdefault("category", "request")
    return case_open(actor=world.counsellor.user, patient=world.patient, **kwargs)


@pytest.mark.parametrize(
    ("priority", "hours"), [("urgent", 4), ("high", 24), ("normal", 72), ("low", 120)]
)
def test_due_at_by_priority(world, priority, hours):
    case = _open(world, priority=priority)
    assert case.due_at - case.opened_at == hours * HOUR
    assert case.sla_paused_at is None and case.escalation_level == 0


def test_adverse_event_suspicion_uses_the_program_sla(world):
    world.program.adverse_event_sla_hours = 12
    world.program.save(update_fields=["adverse_event_sla_hours"])
    case = _open(
        world, category="adverse_event_suspicion", priority="low", enrolment=world.enrolment
    )
    assert case.due_at - case.opened_at == 12 * HOUR
    without_program = _open(world, category="adverse_event_suspicion", priority="low")
    assert without_program.due_at - without_program.opened_at == 24 * HOUR


def test_waiting_pauses_the_clock_and_resuming_moves_the_deadline(world, monkeypatch):
    start = timezone.now()
    case = _open(world, priority="high")
    due = case.due_at
    monkeypatch.setattr(timezone, "now", lambda: start + 2 * HOUR)
    case = case_update_status(actor=world.counsellor.user, case=case, status="waiting")
    assert case.sla_paused_at == start + 2 * HOUR
    assert not case.is_overdue
    # Paused cases are never escalated, however late.
    assert case_escalate_overdue(now=due + 48 * HOUR) == 0
    monkeypatch.setattr(timezone, "now", lambda: start + 7 * HOUR)
    case = case_update_status(actor=world.counsellor.user, case=case, status="open")
    assert case.sla_paused_at is None
    assert case.due_at == due + 5 * HOUR


def test_closing_a_waiting_case_stops_the_pause(world):
    case = _open(world)
    case = case_update_status(actor=world.counsellor.user, case=case, status="waiting")
    case = case_update_status(actor=world.counsellor.user, case=case, status="resolved")
    assert case.sla_paused_at is None and case.closed_at is not None


def test_escalation_levels_with_explicit_now(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    events = record_events(monkeypatch)
    case = _open(world, priority="normal", enrolment=world.enrolment)
    done = _open(world, priority="normal")
    case_update_status(actor=world.counsellor.user, case=done, status="closed")
    assert case_escalate_overdue(now=case.due_at - HOUR) == 0

    with django_capture_on_commit_callbacks(execute=True):
        assert case_escalate_overdue(now=case.due_at + HOUR) == 1
    case.refresh_from_db()
    assert (case.escalation_level, case.priority) == (1, "high")
    assert case.escalated_at == case.due_at + HOUR
    audit = AuditEvent.objects.get(verb="case.escalate", object_id=str(case.pk))
    assert audit.actor is None
    assert audit.detail["to_level"] == 1 and audit.detail["to_priority"] == "high"
    assert events.verbs() == ["case.escalated"]
    assert f"enrolment.{world.enrolment.pk}" in events[0][0]
    # Idempotent: the same moment again changes nothing.
    assert case_escalate_overdue(now=case.due_at + HOUR) == 0

    assert case_escalate_overdue(now=case.due_at + 25 * HOUR) == 1
    case.refresh_from_db()
    assert (case.escalation_level, case.priority) == (2, "high")
    assert case_escalate_overdue(now=case.due_at + 25 * HOUR) == 0
    assert case_escalate_overdue(now=case.due_at + 100 * HOUR) == 0
    done.refresh_from_db()
    assert done.escalation_level == 0


def test_very_late_case_goes_straight_to_level_two(world):
    case = _open(world, priority="urgent")
    assert case_escalate_overdue(now=case.due_at + 30 * HOUR) == 1
    case.refresh_from_db()
    assert (case.escalation_level, case.priority) == (2, "urgent")


def test_the_periodic_task_escalates(world):
    case = _open(world, priority="low")
    moved = escalate_overdue_cases.call(now=(case.due_at + HOUR).isoformat())
    assert moved == 1
    case.refresh_from_db()
    assert (case.escalation_level, case.priority) == (1, "normal")
