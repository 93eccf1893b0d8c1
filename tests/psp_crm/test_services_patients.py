"""Patient services: registering a patient (provider staff or a doctor)."""

from __future__ import annotations

import re

import pytest

from psp_crm import access
from psp_crm.errors import AccessDenied, DomainError
from psp_crm.models import AuditEvent, Patient
from psp_crm.services.patients import patient_register
from tests.factories import UserFactory, build_world


@pytest.fixture
def world(db):
    return build_world()


def counts() -> tuple[int, int]:
    return Patient.objects.count(), AuditEvent.objects.count()


@pytest.mark.parametrize("who", ["staff", "doctor", "superuser"])
def test_register(world, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    patient = patient_register(
        actor=actor,
        first_name="  Giulia ",
        last_name="Rossetti",
        city="Torino",
        territory="TO",
        sex="F",
    )
    assert (patient.first_name, patient.last_name, patient.city) == ("Giulia", "Rossetti", "Torino")
    assert re.fullmatch(r"PT-[A-Z2-9]{4}-[A-Z2-9]{4}", patient.code)
    audit = AuditEvent.objects.get(verb="patient.register", object_id=str(patient.pk))
    assert (audit.actor, audit.patient, audit.action) == (actor, patient, "create")


def test_register_with_a_login_joins_the_patient_group(world):
    user = UserFactory()
    patient = patient_register(actor=world.staff, first_name="A", last_name="B", user=user)
    assert patient.user == user
    assert access.has_role(user, "patient")
    assert user.groups.filter(name=access.ROLE_GROUPS["patient"]).exists()


@pytest.mark.parametrize("who", ["patient_user", "caregiver_user", "nurse", "client"])
def test_register_forbidden_writes_nothing(world, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    before = counts()
    with pytest.raises(AccessDenied):
        patient_register(actor=actor, first_name="A", last_name="B")
    assert counts() == before


def test_register_by_an_inactive_staff_member(world):
    world.staff.is_active = False
    world.staff.save()
    with pytest.raises(AccessDenied):
        patient_register(actor=world.staff, first_name="A", last_name="B")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"first_name": "A", "last_name": " "}, "name"),
        ({"first_name": "", "last_name": "B"}, "name"),
        ({"first_name": "A", "last_name": "B", "diagnosis": "x"}, "diagnosis"),
    ],
)
def test_register_validates(world, kwargs, expected):
    before = counts()
    with pytest.raises(DomainError) as excinfo:
        patient_register(actor=world.staff, **kwargs)
    assert expected in " ".join(excinfo.value.messages)
    assert counts() == before
