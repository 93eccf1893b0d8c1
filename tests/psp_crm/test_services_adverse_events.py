"""Adverse-event capture from a call, a visit or a diary entry: a case plus the AE record."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from psp_crm.errors import AccessDenied, DomainError
from psp_crm.models import AdverseEvent, AuditEvent, Case, Interaction
from psp_crm.services.adverse_events import adverse_event_capture
from psp_crm.services.interactions import interaction_log
from tests.factories import (
    ActivityFactory,
    DiaryEntryFactory,
    EnrolmentFactory,
    ProductFactory,
    build_world,
    record_events,
)

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def world(db):
    world = build_world()
    world.product = ProductFactory()
    world.program.products.add(world.product)
    world.enrolment.product = world.product
    world.enrolment.save(update_fields=["product"])
    world.program.adverse_event_sla_hours = 24
    world.program.save(update_fields=["adverse_event_sla_hours"])
    return world


def _counts() -> tuple[int, int, int]:
    return AdverseEvent.objects.count(), Case.objects.count(), AuditEvent.objects.count()


def _capture(world, actor=None, **kwargs):
    kwargs.setdefault("reaction", "Rash on both arms")
    kwargs.setdefault("seriousness", "non_serious")
    kwargs.setdefault("reporter_type", "patient")
    kwargs.setdefault("channel", "phone")
    return adverse_event_capture(
        actor=actor or world.counsellor.user,
        patient=world.patient,
        enrolment=kwargs.pop("enrolment", world.enrolment),
        **kwargs,
    )


def test_counsellor_flags_an_event_from_a_call(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    events = record_events(monkeypatch)
    call = interaction_log(
        actor=world.counsellor.user,
        patient=world.patient,
        channel="phone",
        direction="in",
        reason="side_effect",
        enrolment=world.enrolment,
    )
    first_known = timezone.now() - 3 * HOUR
    onset = timezone.localdate() - dt.timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        event = _capture(
            world,
            description="Itchy since Sunday.",
            onset_date=onset,
            first_known_at=first_known,
            source_interaction=call,
        )
    assert event.reaction == "Rash on both arms"
    assert (event.reporter_type, event.reported_by) == ("patient", world.counsellor.user)
    assert event.suspect_product == world.product  # the enrolment's drug by default
    assert event.aware_at == first_known
    assert event.forward_due_at == first_known + 24 * HOUR
    assert (event.onset_date, event.channel) == (onset, "phone")
    case = event.case
    assert case.category == "adverse_event_suspicion" and case.priority == "high"
    assert case.due_at == first_known + 24 * HOUR
    assert case.description == "Itchy since Sunday."
    assert event.source_interaction == call
    call.refresh_from_db()
    assert call.case == case
    audit = AuditEvent.objects.get(verb="adverse_event.capture", object_id=str(event.pk))
    assert audit.actor == world.counsellor.user and audit.patient == world.patient
    assert events.verbs() == ["case.opened", "adverse_event.captured"]
    groups, message = events[1]
    assert f"enrolment.{world.enrolment.pk}" in groups
    assert f"program.{world.program.pk}.control" in groups
    assert not any(g.endswith(".client") for g in groups)
    assert message["adverse_event"] == event.pk and "reaction" not in message


def test_serious_event_opens_an_urgent_case(world):
    world.program.adverse_event_sla_hours = 8
    world.program.save(update_fields=["adverse_event_sla_hours"])
    event = _capture(world, seriousness="serious")
    assert event.case.priority == "urgent"
    assert event.forward_due_at - event.aware_at == 8 * HOUR
    assert event.case.due_at == event.forward_due_at


def test_nurse_flags_from_a_visit(world):
    world.enrolment.operators.add(world.nurse)
    visit = ActivityFactory(enrolment=world.enrolment, assignee=world.nurse)
    event = _capture(
        world, actor=world.nurse.user, reporter_type="nurse", channel="visit", source_activity=visit
    )
    assert event.source_activity == visit and event.reporter_type == "nurse"


def test_doctor_flags_a_diary_symptom(world):
    entry = DiaryEntryFactory(
        enrolment=world.enrolment, kind="symptom", dose_status="", symptom="fatigue", severity=6
    )
    event = _capture(
        world,
        actor=world.doctor.user,
        reaction="fatigue",
        channel="diary",
        source_diary_entry=entry,
    )
    assert event.source_diary_entry == entry and event.reported_by == world.doctor.user


@pytest.mark.parametrize(
    "who", ["driver", "client", "outsider_doctor", "outsider_staff", "patient_user", "caregiver"]
)
def test_forbidden_reporters_write_nothing(world, who, monkeypatch):
    events = record_events(monkeypatch)
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    before = _counts()
    with pytest.raises(AccessDenied):
        _capture(world, actor=actor)
    assert _counts() == before and events == []


def test_counsellor_of_another_program_is_refused(world):
    from psp_crm.models import Operator
    from tests.factories import OperatorFactory

    stranger = OperatorFactory(role=Operator.Role.COUNSELLOR, programs=[world.other_program])
    with pytest.raises(AccessDenied):
        _capture(world, actor=stranger.user)


def _errors(world, **kwargs) -> dict[str, list[str]]:
    before = _counts()
    with pytest.raises(DomainError) as caught:
        _capture(world, **kwargs)
    assert _counts() == before
    return caught.value.message_dict


def test_bad_input_gets_clear_messages(world):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert "reaction" in _errors(world, reaction="  ")
    assert "future" in _errors(world, onset_date=tomorrow)["onset_date"][0]
    errors = _errors(
        world,
        onset_date=timezone.localdate() - dt.timedelta(days=1),
        first_known_at=timezone.now() - dt.timedelta(days=3),
    )
    assert "after it was first known" in errors["onset_date"][0]
    assert "future" in _errors(world, first_known_at=timezone.now() + 2 * HOUR)["first_known_at"][0]
    assert "suspect_product" in _errors(world, suspect_product=ProductFactory())
    errors = _errors(world, seriousness="meh", reporter_type="alien")
    assert {"seriousness", "reporter_type"} <= set(errors)


def test_sources_must_be_the_patients(world):
    other_visit = ActivityFactory(enrolment=world.other_enrolment)
    other_entry = DiaryEntryFactory(enrolment=world.other_enrolment)
    other_call = Interaction.objects.create(
        patient=world.other_patient, channel="phone", direction="in"
    )
    errors = _errors(
        world,
        source_activity=other_visit,
        source_diary_entry=other_entry,
        source_interaction=other_call,
    )
    assert {"source_activity", "source_diary_entry", "source_interaction"} <= set(errors)


def test_enrolment_must_be_the_patients(world):
    stranger = EnrolmentFactory(program=world.program)
    assert "enrolment" in _errors(world, enrolment=stranger)
