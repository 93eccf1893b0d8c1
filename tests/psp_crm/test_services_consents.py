"""Consent services: recording (provider staff) and withdrawing (the patient or staff)."""

from __future__ import annotations

import pytest

from psp_crm.errors import AccessDenied, DomainError
from psp_crm.models import AuditEvent, Consent
from psp_crm.services.consents import consent_record, consent_withdraw
from tests.factories import ConsentFactory, PatientFactory, build_world, record_events


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def pushed(monkeypatch):
    return record_events(monkeypatch)


def counts() -> tuple[int, int]:
    return Consent.objects.count(), AuditEvent.objects.count()


def test_participation_consent_moves_a_referred_enrolment_to_consented(
    world, pushed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        consent = consent_record(
            actor=world.staff,
            patient=world.patient,
            kind=Consent.Kind.PARTICIPATION,
            document_version="2.1",
            enrolment=world.enrolment,
        )
    assert consent.recorded_by == world.staff
    assert consent.is_active
    world.enrolment.refresh_from_db()
    assert world.enrolment.status == "consented"
    audit = AuditEvent.objects.get(verb="consent.record", object_id=str(consent.pk))
    assert (audit.actor, audit.patient, audit.object_id) == (
        world.staff,
        world.patient,
        str(consent.pk),
    )
    assert AuditEvent.objects.filter(verb="enrolment.transition", patient=world.patient).exists()
    assert pushed.verbs() == ["enrolment.consented"]


def test_other_consents_leave_the_enrolment_alone(
    world, pushed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        consent_record(
            actor=world.staff,
            patient=world.patient,
            kind=Consent.Kind.CHANNEL_SMS,
            document_version="1",
            enrolment=world.enrolment,
        )
    world.enrolment.refresh_from_db()
    assert world.enrolment.status == "referred"
    assert pushed == []


def test_patient_level_participation_consent_does_not_transition(world):
    consent_record(
        actor=world.staff,
        patient=world.patient,
        kind=Consent.Kind.PARTICIPATION,
        document_version="1",
    )
    world.enrolment.refresh_from_db()
    assert world.enrolment.status == "referred"


@pytest.mark.parametrize(
    "who", ["outsider_staff", "doctor", "nurse", "patient_user", "caregiver_user", "client"]
)
def test_record_forbidden_writes_nothing(world, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    before = counts()
    with pytest.raises(AccessDenied):
        consent_record(
            actor=actor,
            patient=world.patient,
            kind=Consent.Kind.PARTICIPATION,
            document_version="1",
            enrolment=world.enrolment,
        )
    assert counts() == before
    world.enrolment.refresh_from_db()
    assert world.enrolment.status == "referred"


def test_staff_cannot_record_for_a_patient_outside_their_programs(world):
    before = counts()
    with pytest.raises(AccessDenied):
        consent_record(
            actor=world.staff, patient=world.other_patient, kind="research", document_version="1"
        )
    assert counts() == before


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "telepathy"}, "kind"),
        ({"document_version": "  "}, "document_version"),
        ({"use_other_enrolment": True}, "enrolment"),
    ],
)
def test_record_validates(world, kwargs, field):
    data = {"kind": Consent.Kind.PARTICIPATION, "document_version": "1"}
    if kwargs.pop("use_other_enrolment", False):
        data["enrolment"] = world.other_enrolment
    data.update(kwargs)
    before = counts()
    with pytest.raises(DomainError) as excinfo:
        consent_record(actor=world.superuser, patient=world.patient, **data)
    assert field in excinfo.value.message_dict
    assert counts() == before


@pytest.mark.parametrize("who", ["patient_user", "staff", "superuser"])
def test_withdraw(world, who):
    consent = ConsentFactory(patient=world.patient)
    consent_withdraw(actor=getattr(world, who), consent=consent)
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    audit = AuditEvent.objects.get(verb="consent.withdraw", object_id=str(consent.pk))
    assert (audit.actor, audit.patient, audit.action) == (
        getattr(world, who),
        world.patient,
        "update",
    )


@pytest.mark.parametrize("who", ["caregiver_user", "outsider_staff", "doctor", "nurse", "client"])
def test_withdraw_forbidden_writes_nothing(world, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    consent = ConsentFactory(patient=world.patient)
    audits = AuditEvent.objects.count()
    with pytest.raises(AccessDenied):
        consent_withdraw(actor=actor, consent=consent)
    consent.refresh_from_db()
    assert consent.withdrawn_at is None
    assert AuditEvent.objects.count() == audits


def test_another_patient_cannot_withdraw(world):
    stranger = PatientFactory(with_login=True)
    consent = ConsentFactory(patient=world.patient)
    with pytest.raises(AccessDenied):
        consent_withdraw(actor=stranger.user, consent=consent)


def test_withdraw_twice(world):
    consent = ConsentFactory(patient=world.patient)
    consent_withdraw(actor=world.staff, consent=consent)
    first = Consent.objects.get(pk=consent.pk).withdrawn_at
    audits = AuditEvent.objects.count()
    with pytest.raises(DomainError):
        consent_withdraw(actor=world.staff, consent=consent)
    assert Consent.objects.get(pk=consent.pk).withdrawn_at == first
    assert AuditEvent.objects.count() == audits
