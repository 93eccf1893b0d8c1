"""Audit services: the append-only trail of writes and of patient-record reads."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from psp_crm.models import AuditEvent
from psp_crm.services.audit import audit_patient_read, audit_write
from tests.factories import build_world


@pytest.fixture
def world(db):
    return build_world()


def test_audit_write(world):
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3")
    event = audit_write(
        actor=world.staff,
        action="update",
        verb="enrolment.transition",
        obj=world.enrolment,
        patient=world.patient,
        detail={"from": "referred"},
        request=request,
    )
    event.refresh_from_db()
    assert event.actor == world.staff
    assert (event.action, event.verb) == ("update", "enrolment.transition")
    assert (event.object_type, event.object_id) == ("psp_crm.enrolment", str(world.enrolment.pk))
    assert event.patient == world.patient
    assert event.detail == {"from": "referred"}
    assert event.ip_address == "10.1.2.3"
    assert event.portal == ""


def test_audit_write_without_an_authenticated_actor(world):
    event = audit_write(actor=AnonymousUser(), action="create", verb="x.y", obj=world.program)
    assert event.actor is None
    assert event.ip_address is None
    assert event.patient is None
    assert event.detail == {}
    event = audit_write(actor=None, action="create", verb="x.y", obj=world.program)
    assert event.actor is None


def test_audit_patient_read(world):
    event = audit_patient_read(actor=world.doctor.user, patient=world.patient, portal="doctor")
    assert (event.action, event.verb, event.portal) == ("read", "patient.read", "doctor")
    assert (event.object_type, event.object_id) == ("psp_crm.patient", str(world.patient.pk))
    assert event.actor == world.doctor.user
    assert event.patient == world.patient


def test_audit_patient_read_of_a_related_record(world):
    request = RequestFactory().get("/", REMOTE_ADDR="2001:db8::1")
    event = audit_patient_read(
        actor=world.staff,
        patient=world.patient,
        portal="admin",
        obj=world.enrolment,
        request=request,
    )
    assert event.verb == "enrolment.read"
    assert (event.object_type, event.object_id) == ("psp_crm.enrolment", str(world.enrolment.pk))
    assert event.patient == world.patient
    assert event.ip_address == "2001:db8::1"
    assert AuditEvent.objects.filter(patient=world.patient, action="read").count() == 1
