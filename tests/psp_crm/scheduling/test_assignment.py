"""Assignment: role, program staffing, partner, territory, skills, capacity; unassigned queue."""

from __future__ import annotations

from psp_crm.models import Activity
from psp_crm.scheduling.engine import materialize
from tests.factories import OperatorFactory, ProgramFactory

from .conftest import TODAY


def assignee(enrolment, step, k=1):
    return Activity.objects.get(enrolment=enrolment, step=step, occurrence=k).assignee_id


def test_each_role_gets_its_work(pw):
    enrolment = pw.enrol()
    materialize([enrolment.pk], today=TODAY)
    assert assignee(enrolment, pw.infusion) == pw.nurse.pk
    assert assignee(enrolment, pw.pickup) == pw.driver.pk
    assert assignee(enrolment, pw.call) == pw.counsellor.pk
    # Nobody works in the program as a dietitian: unassigned, not an error.
    assert assignee(enrolment, pw.dietitian) is None


def test_territory_must_match_for_home_work_only(pw):
    enrolment = pw.enrol(territory="Roma")
    materialize([enrolment.pk], today=TODAY)
    assert assignee(enrolment, pw.infusion) is None  # the nurse covers MI only
    assert assignee(enrolment, pw.call) == pw.counsellor.pk  # a phone call goes anywhere
    assert assignee(enrolment, pw.pickup) == pw.driver.pk  # the driver covers everywhere


def test_operators_outside_the_program_are_never_chosen(pw):
    OperatorFactory(role="dietitian", programs=[ProgramFactory()], territories=[])
    enrolment = pw.enrol()
    materialize([enrolment.pk], today=TODAY)
    assert assignee(enrolment, pw.dietitian) is None


def test_skills_are_required(pw):
    unskilled = OperatorFactory(organization=pw.nurse.organization, programs=[pw.program])
    pw.nurse.is_available = False
    pw.nurse.save()
    enrolment = pw.enrol()
    materialize([enrolment.pk], today=TODAY)
    assert assignee(enrolment, pw.infusion) is None
    assert unskilled.pk != pw.nurse.pk


def test_weekly_capacity_spills_to_a_colleague_then_the_queue(pw):
    pw.nurse.weekly_capacity_hours = 2  # one 2-hour infusion a week
    pw.nurse.save()
    first, second, third = (pw.enrol() for _ in range(3))
    colleague = OperatorFactory(
        organization=pw.nurse.organization,
        programs=[pw.program],
        skills=["iv-infusion"],
        weekly_capacity_hours=2,
    )
    materialize([first.pk, second.pk, third.pk], today=TODAY)
    week_one = {assignee(e, pw.infusion) for e in (first, second, third)}
    assert week_one == {pw.nurse.pk, colleague.pk, None}


def test_the_care_team_comes_first(pw):
    other = OperatorFactory(
        organization=pw.nurse.organization, programs=[pw.program], skills=["iv-infusion"]
    )
    enrolment = pw.enrol(operators=[other])
    materialize([enrolment.pk], today=TODAY)
    assert assignee(enrolment, pw.infusion) == other.pk


def test_capacity_counts_work_already_planned(pw):
    pw.nurse.weekly_capacity_hours = 2
    pw.nurse.save()
    first, second = pw.enrol(), pw.enrol()
    materialize([first.pk], today=TODAY)
    materialize([second.pk], today=TODAY)  # a later run sees the first one's load in the DB
    assert assignee(first, pw.infusion) == pw.nurse.pk
    assert assignee(second, pw.infusion) is None
