"""The outbound call list: due calls, missed doses, missed deliveries, cases; and call scripts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from psp_crm.errors import AccessDenied
from psp_crm.models import Activity, CallScript, Case, Consent, Operator, ServiceModule
from psp_crm.selectors.call_list import (
    call_list_page,
    call_list_programs,
    case_owner_choices,
    outbound_calls_for,
    script_for,
)
from psp_crm.services.interactions import case_open, case_update_status, interaction_log
from tests.factories import (
    ActivityFactory,
    ConsentFactory,
    DiaryEntryFactory,
    EnrolmentFactory,
    OperatorFactory,
    PatientFactory,
    ServiceModuleFactory,
    build_world,
)

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def today() -> dt.date:
    return timezone.localdate()


def _at(day: dt.date, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _daily(world, **kwargs):
    """An active daily therapy in the counsellor's program, started a month ago."""
    return EnrolmentFactory(
        program=world.program,
        status="active",
        start_date=timezone.localdate() - dt.timedelta(days=30),
        therapy_start_date=timezone.localdate() - dt.timedelta(days=30),
        doses_per_week=7,
        **kwargs,
    )


def _dose(enrolment, day: dt.date, status: str = "taken"):
    return DiaryEntryFactory(enrolment=enrolment, occurred_at=_at(day, 9), dose_status=status)


def _kinds(items) -> list[tuple[str, str]]:
    return [(item.kind, item.patient.code) for item in items]


def _phone_module() -> ServiceModule:
    return ServiceModuleFactory(channel="phone", code="adherence-check-call-test")


def test_due_phone_activities(world, today):
    module = _phone_module()
    mine = ActivityFactory(
        enrolment=world.enrolment,
        module=module,
        assignee=world.counsellor,
        scheduled_start=_at(today, 10),
    )
    unassigned = ActivityFactory(
        enrolment=world.enrolment, module=module, scheduled_start=_at(today, 15)
    )
    overdue = ActivityFactory(
        enrolment=world.enrolment,
        module=module,
        scheduled_start=_at(today - dt.timedelta(days=2), 10),
    )
    someone_else = OperatorFactory(role=Operator.Role.COUNSELLOR, programs=[world.program])
    ActivityFactory(
        enrolment=world.enrolment,
        module=module,
        assignee=someone_else,
        scheduled_start=_at(today, 11),
    )
    ActivityFactory(
        enrolment=world.enrolment,
        module=module,
        scheduled_start=_at(today, 9),
        status=Activity.Status.DONE,
    )
    ActivityFactory(
        enrolment=world.enrolment,
        module=module,
        scheduled_start=_at(today + dt.timedelta(days=1), 9),
    )
    ActivityFactory(enrolment=world.enrolment, scheduled_start=_at(today, 9))  # a home visit
    items = outbound_calls_for(world.counsellor.user, today=today)
    assert [item.activity for item in items] == [overdue, mine, unassigned]
    assert {item.reason for item in items} == {"other"}
    assert all(item.program == world.program for item in items)
    assert module.name in items[0].why


def test_missed_doses_two_days_in_a_row(world, today):
    enrolment = _daily(world)
    _dose(enrolment, today - dt.timedelta(days=3))
    items = outbound_calls_for(world.counsellor.user, today=today)
    assert _kinds(items) == [("missed_doses", enrolment.patient.code)]
    item = items[0]
    assert item.reason == "missed_doses" and item.why.startswith("No dose logged on")
    first, second = today - dt.timedelta(days=2), today - dt.timedelta(days=1)
    if first.month == second.month:
        assert item.why == f"No dose logged on {first.day} and {second:%-d %b}"
    assert item.program == world.program and item.enrolment == enrolment
    # One taken dose on either day takes the patient off the list.
    _dose(enrolment, today - dt.timedelta(days=1))
    assert outbound_calls_for(world.counsellor.user, today=today) == []


def test_two_missed_doses_on_consecutive_days(world, today):
    enrolment = _daily(world)
    for days in (1, 2):
        _dose(enrolment, today - dt.timedelta(days=days))
    for days in (4, 5):
        _dose(enrolment, today - dt.timedelta(days=days), status="missed")
    items = outbound_calls_for(world.counsellor.user, today=today)
    assert _kinds(items) == [("missed_doses", enrolment.patient.code)]
    assert items[0].why.startswith("Doses reported missed on")


def test_two_days_reported_missed_read_as_no_dose_taken(world, today):
    enrolment = _daily(world)
    for days in (1, 2):
        _dose(enrolment, today - dt.timedelta(days=days), status="missed")
    items = outbound_calls_for(world.counsellor.user, today=today)
    assert _kinds(items) == [("missed_doses", enrolment.patient.code)]
    assert items[0].why.startswith("No dose logged on")  # the first rule wins


def test_a_corrected_dose_counts_as_its_latest_version(world, today):
    from psp_crm.models import DiaryEntry

    enrolment = _daily(world)
    taken = _dose(enrolment, today - dt.timedelta(days=1))
    assert outbound_calls_for(world.counsellor.user, today=today) == []
    # The patient corrects it: she did not take it after all.
    DiaryEntry.objects.create(
        enrolment=enrolment,
        kind="dose",
        occurred_at=taken.occurred_at,
        dose_status="missed",
        supersedes=taken,
    )
    items = outbound_calls_for(world.counsellor.user, today=today)
    assert _kinds(items) == [("missed_doses", enrolment.patient.code)]


def test_weekly_therapies_and_inactive_enrolments_are_not_checked(world, today):
    _daily(world).__class__.objects.filter(program=world.program).update(doses_per_week=1)
    EnrolmentFactory(program=world.program, status="suspended", doses_per_week=7)
    assert outbound_calls_for(world.counsellor.user, today=today) == []


def test_an_outbound_call_with_the_reason_clears_the_entry(world, today):
    enrolment = _daily(world)
    counsellor = world.counsellor.user
    # An inbound call, or another reason, does not clear it.
    interaction_log(
        actor=counsellor,
        patient=enrolment.patient,
        channel="phone",
        direction="in",
        reason="missed_doses",
    )
    interaction_log(
        actor=counsellor,
        patient=enrolment.patient,
        channel="phone",
        direction="out",
        reason="information",
    )
    assert len(outbound_calls_for(counsellor, today=today)) == 1
    interaction_log(
        actor=counsellor,
        patient=enrolment.patient,
        channel="phone",
        direction="out",
        reason="missed_doses",
        outcome="resolved",
    )
    assert outbound_calls_for(counsellor, today=today) == []


def test_missed_delivery_until_a_later_delivery_is_done(world, today):
    delivery, _ = ServiceModule.objects.get_or_create(
        code="drug-delivery",
        defaults={"name": "Drug delivery", "channel": "logistics", "performer_role": "logistics"},
    )
    missed = ActivityFactory(
        enrolment=world.enrolment,
        module=delivery,
        scheduled_start=_at(today - dt.timedelta(days=2), 10),
        status=Activity.Status.MISSED,
        status_reason="Nobody at home",
    )
    ActivityFactory(  # too old to matter
        enrolment=world.enrolment,
        module=delivery,
        scheduled_start=_at(today - dt.timedelta(days=20), 10),
        status=Activity.Status.MISSED,
    )
    items = outbound_calls_for(world.counsellor.user, today=today)
    assert [(item.kind, item.activity) for item in items] == [("missed_delivery", missed)]
    assert items[0].reason == "missed_delivery" and "Nobody at home" in items[0].why
    ActivityFactory(
        enrolment=world.enrolment,
        module=delivery,
        scheduled_start=_at(today - dt.timedelta(days=1), 10),
        status=Activity.Status.DONE,
    )
    assert outbound_calls_for(world.counsellor.user, today=today) == []


def test_cases_waiting_or_overdue(world, today):
    counsellor = world.counsellor.user
    waiting = case_open(
        actor=counsellor,
        patient=world.patient,
        subject="Needs the invoice",
        category="information",
        enrolment=world.enrolment,
    )
    case_update_status(actor=counsellor, case=waiting, status="waiting")
    overdue = case_open(
        actor=counsellor, patient=world.patient, subject="Late courier", category="logistics"
    )
    Case.objects.filter(pk=overdue.pk).update(due_at=timezone.now() - HOUR)
    case_open(actor=counsellor, patient=world.patient, subject="Fine", category="request")
    world.enrolment.operators.add(world.nurse)
    case_open(  # someone else's
        actor=counsellor,
        patient=world.patient,
        subject="Nurse's",
        category="request",
        assigned_to=world.nurse.user,
    )
    Case.objects.filter(subject="Nurse's").update(due_at=timezone.now() - HOUR)
    items = outbound_calls_for(counsellor, today=today)
    assert {(item.case.pk, item.reason) for item in items} == {
        (waiting.pk, "information"),
        (overdue.pk, "logistics"),
    }


def test_phone_consent_flag(world, today):
    with_consent = _daily(world)
    without = _daily(world)
    ConsentFactory(patient=with_consent.patient, kind=Consent.Kind.CHANNEL_PHONE)
    ConsentFactory(
        patient=without.patient,
        kind=Consent.Kind.CHANNEL_PHONE,
        given_at=timezone.now() - HOUR,
        withdrawn_at=timezone.now(),
    )
    flags = {
        item.patient.pk: item.phone_consent
        for item in outbound_calls_for(world.counsellor.user, today=today)
    }
    assert flags == {with_consent.patient.pk: True, without.patient.pk: False}


def test_another_programs_patients_are_not_listed(world, today):
    stranger = OperatorFactory(role=Operator.Role.COUNSELLOR, programs=[world.other_program])
    _daily(world)
    assert outbound_calls_for(stranger.user, today=today) == []


@pytest.mark.parametrize("who", ["driver", "client", "doctor", "patient_user"])
def test_only_clinical_operators_have_a_call_list(world, who):
    actor = getattr(world, who)
    with pytest.raises(AccessDenied):
        outbound_calls_for(getattr(actor, "user", actor))


def test_queries_do_not_grow_with_patients(world, today, django_assert_max_num_queries):
    delivery, _ = ServiceModule.objects.get_or_create(
        code="drug-delivery",
        defaults={"name": "Drug delivery", "channel": "logistics", "performer_role": "logistics"},
    )
    module = _phone_module()
    for _ in range(8):
        enrolment = _daily(world, patient=PatientFactory())
        ConsentFactory(patient=enrolment.patient, kind=Consent.Kind.CHANNEL_PHONE)
        ActivityFactory(enrolment=enrolment, module=module, scheduled_start=_at(today, 10))
        ActivityFactory(
            enrolment=enrolment,
            module=delivery,
            scheduled_start=_at(today - dt.timedelta(days=1), 10),
            status=Activity.Status.MISSED,
        )
        case = case_open(
            actor=world.counsellor.user,
            patient=enrolment.patient,
            subject="x",
            category="request",
        )
        case_update_status(actor=world.counsellor.user, case=case, status="waiting")
    with django_assert_max_num_queries(15):
        items = outbound_calls_for(world.counsellor.user, today=today)
        [(i.patient.code, i.program and i.program.code, i.why) for i in items]
    assert len(items) == 8 * 4


def test_script_for_prefers_the_programs_own(world):
    CallScript.objects.filter(reason="complaint").delete()
    assert script_for(world.program, "complaint") is None
    default = CallScript.objects.create(reason="complaint", language="it", title="D", body="…")
    english = CallScript.objects.create(reason="complaint", language="en", title="E", body="…")
    assert script_for(world.program, "complaint") == default
    assert script_for(world.program, "complaint", language="en") == english
    assert script_for(world.program, "complaint", language="de") == default
    own = CallScript.objects.create(
        program=world.program, reason="complaint", language="it", title="O", body="…"
    )
    assert script_for(world.program, "complaint") == own
    assert script_for(world.other_program, "complaint") == default
    assert script_for(None, "complaint") == default
    own.is_active = False
    own.save()
    assert script_for(world.program, "complaint") == default
    assert script_for(world.program, "nonsense") is None


def test_demo_scripts(demo_world):
    from psp_crm.demo.contact_centre import create_call_scripts
    from psp_crm.models import Interaction, Program

    create_call_scripts()
    assert create_call_scripts() == 0  # idempotent
    for reason in Interaction.Reason.values:
        for language in ("it", "en"):
            script = script_for(None, reason, language=language)
            assert script is not None and script.language == language
            assert "PT-XXXX-XXXX" in script.body
    ms = Program.objects.get(code="MS-ADHERE")
    assert script_for(ms, "missed_delivery").program == ms
    assert script_for(ms, "missed_doses").program is None


def test_case_owner_choices(world):
    world.enrolment.operators.add(world.nurse)
    owners = case_owner_choices(actor=world.counsellor.user, patient=world.patient)
    assert owners[0] == world.counsellor.user
    assert {world.nurse.user, world.doctor.user} <= set(owners)
    assert world.driver.user not in owners and world.outsider_doctor.user not in owners


# --- the page: counts per kind, filters, paging ------------------------------------------------


def test_call_list_page_counts_filters_and_pages(world, today):
    other_program = EnrolmentFactory().program  # not hers: filtering on it shows nothing
    daily = [_daily(world) for _ in range(5)]
    for enrolment in daily[:2]:
        ConsentFactory(patient=enrolment.patient, kind=Consent.Kind.CHANNEL_PHONE)
    case_open(
        actor=world.counsellor.user,
        patient=world.patient,
        subject="Call her back",
        category="information",
        assigned_to=world.counsellor.user,
        enrolment=world.enrolment,
    )
    Case.objects.filter(subject="Call her back").update(status=Case.Status.WAITING)
    actor = world.counsellor.user

    everything = call_list_page(actor, today=today, per_page=2)
    assert everything.counts == {
        "activity": 0,
        "missed_doses": 5,
        "missed_delivery": 0,
        "case": 1,
        "appointment_change": 0,
    }
    assert everything.total == 6 and everything.pages == 3 and everything.page == 1
    assert len(everything.items) == 2 and everything.has_next and not everything.has_previous

    cases = call_list_page(actor, today=today, kind="case")
    assert [item.kind for item in cases.items] == ["case"] and cases.total == 1
    assert cases.counts["missed_doses"] == 5  # the tabs still say what waits elsewhere

    last = call_list_page(actor, today=today, kind="missed_doses", per_page=2, page=99)
    assert (last.page, last.pages, len(last.items)) == (3, 3, 1)
    assert call_list_page(actor, today=today, per_page=2, page="x").page == 1
    assert call_list_page(actor, today=today, kind="no-such-kind").total == 6

    doses = call_list_page(actor, today=today, kind="missed_doses")
    consented = {item.patient.pk for item in doses.items if item.phone_consent}
    assert consented == {e.patient.pk for e in daily[:2]}

    elsewhere = call_list_page(actor, today=today, program=other_program)
    assert elsewhere.total == 0 and elsewhere.items == []


def test_call_list_programs_are_the_ones_she_staffs(world):
    assert call_list_programs(world.counsellor.user) == [world.program]
    with pytest.raises(AccessDenied):
        call_list_programs(world.driver.user)
