"""Doctor's private notes: only a following doctor writes them, only the author reads them."""

from __future__ import annotations

import pytest

from psp_crm.errors import AccessDenied, DomainError
from psp_crm.models import AuditEvent, DoctorNote
from psp_crm.selectors.enrolments import doctor_notes
from psp_crm.services.notes import note_add, note_delete
from tests.factories import DoctorFactory, build_world


@pytest.fixture
def world(db):
    return build_world()


def test_add_and_read_own_notes(world):
    note = note_add(actor=world.doctor.user, enrolment=world.enrolment, body=" Check MRI. ")
    assert note.body == "Check MRI."
    assert doctor_notes(actor=world.doctor.user, enrolment=world.enrolment) == [note]
    audit = AuditEvent.objects.get(verb="note.add", object_id=str(note.pk))
    assert (audit.actor, audit.patient) == (world.doctor.user, world.patient)


def test_another_doctor_never_sees_them(world):
    note_add(actor=world.doctor.user, enrolment=world.enrolment, body="private")
    colleague = DoctorFactory(programs=[world.program])
    world.enrolment.doctors.add(colleague)
    assert doctor_notes(actor=colleague.user, enrolment=world.enrolment) == []


@pytest.mark.parametrize("who", ["outsider_doctor", "patient_user", "nurse", "staff"])
def test_forbidden_writes_nothing(world, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    before = DoctorNote.objects.count(), AuditEvent.objects.count()
    with pytest.raises(AccessDenied):
        note_add(actor=actor, enrolment=world.enrolment, body="x")
    assert (DoctorNote.objects.count(), AuditEvent.objects.count()) == before


def test_empty_note_is_refused(world):
    with pytest.raises(DomainError):
        note_add(actor=world.doctor.user, enrolment=world.enrolment, body="  ")


def test_delete_own_only(world):
    note = note_add(actor=world.doctor.user, enrolment=world.enrolment, body="x")
    with pytest.raises(AccessDenied):
        note_delete(actor=world.outsider_doctor.user, note=note)
    note_delete(actor=world.doctor.user, note=note)
    assert not DoctorNote.objects.filter(pk=note.pk).exists()
    assert AuditEvent.objects.filter(verb="note.delete").exists()
