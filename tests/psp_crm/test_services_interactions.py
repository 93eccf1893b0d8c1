"""Contact-centre writes: logging interactions, opening cases and moving their status."""

from __future__ import annotations

import pytest

from psp_crm.errors import AccessDenied, DomainError
from psp_crm.models import AuditEvent, Case, Interaction, Operator, Patient
from psp_crm.services.interactions import (
    case_assign,
    case_open,
    case_update_status,
    interaction_log,
)
from tests.factories import OperatorFactory, build_world, record_events

NERI = "counsellor.neri@curaplus.example"
GALLO = "driver.gallo@swiftmed.example"
NORTHWIND = "medical@northwind.example"


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def anna(demo_world) -> Patient:
    return Patient.objects.get(user__email="anna.conti@example.com")


def _counts() -> tuple[int, int, int]:
    return Interaction.objects.count(), Case.objects.count(), AuditEvent.objects.count()


def test_counsellor_logs_a_call(world, monkeypatch, django_capture_on_commit_callbacks):
    events = record_events(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        interaction = interaction_log(
            actor=world.counsellor.user,
            patient=world.patient,
            channel="phone",
            direction="in",
            reason="logistics",
            outcome="resolved",
            duration_seconds=450,
            summary="Asked for a later slot.",
            enrolment=world.enrolment,
        )
    assert interaction.handled_by == world.counsellor.user
    assert (interaction.reason, interaction.outcome) == ("logistics", "resolved")
    assert interaction.duration_seconds == 450
    assert interaction.summary == "Asked for a later slot."
    audit = AuditEvent.objects.get(verb="interaction.log", object_id=str(interaction.pk))
    assert (audit.actor, audit.patient) == (world.counsellor.user, world.patient)
    assert events.verbs() == ["interaction.logged"]
    groups, message = events[0]
    assert groups == [f"enrolment.{world.enrolment.pk}"]
    assert message["interaction"] == interaction.pk and "summary" not in message


@pytest.mark.parametrize("who", ["staff", "nurse", "doctor"])
def test_other_care_roles_may_log(world, who):
    world.enrolment.operators.add(world.nurse)
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    interaction = interaction_log(
        actor=actor, patient=world.patient, channel="visit", direction="out", summary="Visit."
    )
    assert interaction.enrolment is None


@pytest.mark.parametrize(
    "who", ["driver", "client", "outsider_staff", "outsider_doctor", "patient_user"]
)
def test_forbidden_actor_writes_nothing(world, who, monkeypatch):
    events = record_events(monkeypatch)
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    before = _counts()
    with pytest.raises(AccessDenied):
        interaction_log(
            actor=actor, patient=world.patient, channel="phone", direction="in", summary="x"
        )
    with pytest.raises(AccessDenied):
        case_open(actor=actor, patient=world.patient, subject="x", category="request")
    assert _counts() == before
    assert events == []


def test_counsellor_of_another_program_is_refused(world):
    stranger = OperatorFactory(role=Operator.Role.COUNSELLOR, programs=[world.other_program])
    before = _counts()
    with pytest.raises(AccessDenied):
        interaction_log(
            actor=stranger.user, patient=world.patient, channel="phone", direction="in", summary="x"
        )
    assert _counts() == before


@pytest.mark.parametrize("email", [GALLO, NORTHWIND])
def test_demo_logistics_and_client_are_refused(anna, demo_user, email):
    before = _counts()
    with pytest.raises(AccessDenied):
        interaction_log(
            actor=demo_user(email), patient=anna, channel="phone", direction="in", summary="x"
        )
    with pytest.raises(AccessDenied):
        case_open(actor=demo_user(email), patient=anna, subject="x", category="request")
    assert _counts() == before


def test_neri_logs_a_call_for_anna(anna, demo_user):
    interaction = interaction_log(
        actor=demo_user(NERI), patient=anna, channel="phone", direction="in", summary="Hello."
    )
    assert interaction.patient == anna


def test_bad_input_gets_clear_messages(world):
    actor = world.counsellor.user
    with pytest.raises(DomainError) as caught:
        interaction_log(
            actor=actor, patient=world.patient, channel="pigeon", direction="in", summary=" "
        )
    errors = caught.value.message_dict
    assert "Unknown channel" in errors["channel"][0]
    assert errors["summary"] == ["Write what the contact was about."]
    with pytest.raises(DomainError) as caught:
        interaction_log(
            actor=actor,
            patient=world.patient,
            channel="sms",
            direction="in",
            summary="x",
            enrolment=world.other_enrolment,
        )
    assert "enrolment" in caught.value.message_dict
    with pytest.raises(DomainError) as caught:
        case_open(actor=actor, patient=world.patient, subject="", category="gossip")
    assert set(caught.value.message_dict) == {"subject", "category"}
    assert Interaction.objects.filter(patient=world.patient).count() == 0


def test_case_open_and_status(world, monkeypatch, django_capture_on_commit_callbacks):
    events = record_events(monkeypatch)
    actor = world.counsellor.user
    with django_capture_on_commit_callbacks(execute=True):
        case = case_open(
            actor=actor,
            patient=world.patient,
            subject="Late delivery",
            category="logistics",
            priority="high",
            enrolment=world.enrolment,
        )
    assert (case.status, case.opened_by, case.assigned_to) == ("open", actor, actor)
    assert AuditEvent.objects.filter(verb="case.open", object_id=str(case.pk)).exists()
    with django_capture_on_commit_callbacks(execute=True):
        case = case_update_status(actor=actor, case=case, status="resolved")
    assert case.status == "resolved" and case.closed_at is not None
    audit = AuditEvent.objects.get(verb="case.status", object_id=str(case.pk))
    assert audit.detail == {"from": "open", "to": "resolved"}
    assert events.verbs() == ["case.opened", "case.updated"]
    with pytest.raises(DomainError):
        case_update_status(actor=actor, case=case, status="lost")
    with pytest.raises(AccessDenied):
        case_update_status(actor=world.driver.user, case=case, status="open")
    case.refresh_from_db()
    assert case.status == "resolved"


def test_interaction_on_a_case_of_another_patient_is_refused(world):
    case = case_open(
        actor=world.counsellor.user, patient=world.patient, subject="x", category="request"
    )
    stranger_case = Case.objects.create(patient=world.other_patient, subject="y")
    interaction = interaction_log(
        actor=world.counsellor.user,
        patient=world.patient,
        channel="phone",
        direction="out",
        summary="Called back.",
        case=case,
    )
    assert interaction.case == case
    with pytest.raises(DomainError):
        interaction_log(
            actor=world.counsellor.user,
            patient=world.patient,
            channel="phone",
            direction="out",
            summary="x",
            case=stranger_case,
        )


def test_reason_alone_is_enough_and_notes_stay_free(world):
    interaction = interaction_log(
        actor=world.counsellor.user,
        patient=world.patient,
        channel="phone",
        direction="out",
        reason="missed_doses",
        outcome="no_answer",
    )
    assert (interaction.reason, interaction.outcome, interaction.summary) == (
        "missed_doses",
        "no_answer",
        "",
    )
    assert interaction.duration_seconds is None


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("reason", "gossip", "Unknown reason"),
        ("outcome", "shrug", "Unknown outcome"),
        ("duration_seconds", 0, "longer than zero"),
        ("duration_seconds", -5, "longer than zero"),
        ("duration_seconds", 8 * 3600 + 1, "8 hours"),
        ("duration_seconds", "7:30", "whole number of seconds"),
    ],
)
def test_bad_reason_outcome_or_duration(world, field, value, words):
    kwargs = {"reason": "information", field: value}
    before = _counts()
    with pytest.raises(DomainError) as caught:
        interaction_log(
            actor=world.counsellor.user,
            patient=world.patient,
            channel="phone",
            direction="in",
            **kwargs,
        )
    key = "duration" if field == "duration_seconds" else field
    assert words in caught.value.message_dict[key][0]
    assert _counts() == before


def test_duration_of_exactly_eight_hours_is_accepted(world):
    interaction = interaction_log(
        actor=world.counsellor.user,
        patient=world.patient,
        channel="visit",
        direction="out",
        reason="other",
        duration_seconds=8 * 3600,
    )
    assert interaction.duration_seconds == 8 * 3600


def test_case_open_with_owner_and_description(world):
    world.enrolment.operators.add(world.nurse)
    case = case_open(
        actor=world.counsellor.user,
        patient=world.patient,
        subject="Rash",
        category="request",
        description="Since Monday.",
        assigned_to=world.nurse.user,
        enrolment=world.enrolment,
    )
    assert (case.assigned_to, case.opened_by) == (world.nurse.user, world.counsellor.user)
    assert case.description == "Since Monday."


@pytest.mark.parametrize("who", ["driver", "client", "outsider_doctor", "patient_user"])
def test_case_owner_must_be_a_writer(world, who):
    owner = getattr(world, who)
    owner = getattr(owner, "user", owner)
    before = _counts()
    with pytest.raises(DomainError) as caught:
        case_open(
            actor=world.counsellor.user,
            patient=world.patient,
            subject="x",
            category="request",
            assigned_to=owner,
        )
    assert "owner" in caught.value.message_dict["assigned_to"][0]
    assert _counts() == before


def test_case_assign(world, monkeypatch, django_capture_on_commit_callbacks):
    events = record_events(monkeypatch)
    case = case_open(
        actor=world.counsellor.user, patient=world.patient, subject="x", category="request"
    )
    with django_capture_on_commit_callbacks(execute=True):
        case = case_assign(actor=world.counsellor.user, case=case, owner=world.doctor.user)
    assert case.assigned_to == world.doctor.user
    audit = AuditEvent.objects.get(verb="case.assign", object_id=str(case.pk))
    assert audit.detail == {"from": world.counsellor.user.pk, "to": world.doctor.user.pk}
    assert events.verbs() == ["case.updated"]
    with pytest.raises(DomainError):
        case_assign(actor=world.counsellor.user, case=case, owner=world.driver.user)
    with pytest.raises(AccessDenied):
        case_assign(actor=world.driver.user, case=case, owner=world.driver.user)
    case_update_status(actor=world.counsellor.user, case=case, status="closed")
    with pytest.raises(DomainError):
        case_assign(actor=world.counsellor.user, case=case, owner=world.counsellor.user)
    case.refresh_from_db()
    assert case.assigned_to == world.doctor.user
