"""Delegation services: a patient (or provider staff) grants and revokes a caregiver."""

from __future__ import annotations

import pytest

from psp_crm import access
from psp_crm.errors import AccessDenied, DomainError
from psp_crm.models import AuditEvent, Caregiver, Delegation
from psp_crm.services.delegations import delegation_grant, delegation_revoke
from tests.factories import CaregiverFactory, build_world, record_events


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def pushed(monkeypatch):
    return record_events(monkeypatch)


def counts() -> tuple[int, int]:
    return Delegation.objects.count(), AuditEvent.objects.count()


@pytest.mark.parametrize("who", ["patient_user", "staff"])
def test_grant(world, pushed, django_capture_on_commit_callbacks, who):
    helper = CaregiverFactory()
    with django_capture_on_commit_callbacks(execute=True):
        delegation = delegation_grant(
            actor=getattr(world, who),
            patient=world.patient,
            caregiver=helper,
            relationship="daughter",
            can_log_diary=True,
        )
    assert (delegation.can_log_diary, delegation.can_send_reports) == (True, False)
    assert delegation.granted_by == getattr(world, who)
    assert access.can_act_for_patient(helper.user, world.patient, "can_log_diary")
    assert world.enrolment in access.enrolments_for(helper.user, role="caregiver")
    audit = AuditEvent.objects.get(verb="delegation.grant", object_id=str(delegation.pk))
    assert (audit.actor, audit.patient, audit.action) == (
        getattr(world, who),
        world.patient,
        "grant",
    )
    assert audit.detail == {"can_log_diary": True, "can_send_reports": False}
    assert pushed == [
        (
            [f"enrolment.{world.enrolment.pk}"],
            {"verb": "delegation.granted", "delegation": delegation.pk},
        )
    ]


@pytest.mark.parametrize("who", ["caregiver_user", "outsider_staff", "doctor", "nurse", "client"])
def test_grant_forbidden_writes_nothing(world, pushed, django_capture_on_commit_callbacks, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    helper = CaregiverFactory()
    before = counts()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AccessDenied):
        delegation_grant(actor=actor, patient=world.patient, caregiver=helper)
    assert counts() == before
    assert pushed == []


def test_a_patient_cannot_be_her_own_caregiver(world):
    herself = Caregiver.objects.create(user=world.patient_user)
    before = counts()
    with pytest.raises(DomainError):
        delegation_grant(actor=world.staff, patient=world.patient, caregiver=herself)
    assert counts() == before


def test_one_open_delegation_per_pair(world):
    before = counts()
    with pytest.raises(DomainError):
        delegation_grant(actor=world.staff, patient=world.patient, caregiver=world.caregiver)
    assert counts() == before


def test_revoke(world, pushed, django_capture_on_commit_callbacks):
    assert access.enrolments_for(world.caregiver_user, role="caregiver").exists()
    with django_capture_on_commit_callbacks(execute=True):
        delegation_revoke(actor=world.patient_user, delegation=world.delegation)
    world.delegation.refresh_from_db()
    assert world.delegation.revoked_at is not None
    assert not access.enrolments_for(world.caregiver_user, role="caregiver").exists()
    audit = AuditEvent.objects.get(verb="delegation.revoke", object_id=str(world.delegation.pk))
    assert (audit.actor, audit.patient, audit.action) == (
        world.patient_user,
        world.patient,
        "revoke",
    )
    assert pushed.verbs() == ["delegation.revoked"]
    # A new delegation may be granted once the old one is revoked.
    delegation_grant(actor=world.staff, patient=world.patient, caregiver=world.caregiver)


def test_revoke_twice(world):
    delegation_revoke(actor=world.staff, delegation=world.delegation)
    audits = AuditEvent.objects.count()
    with pytest.raises(DomainError):
        delegation_revoke(actor=world.staff, delegation=world.delegation)
    assert AuditEvent.objects.count() == audits


@pytest.mark.parametrize("who", ["caregiver_user", "outsider_staff", "doctor", "client"])
def test_revoke_forbidden_writes_nothing(world, pushed, django_capture_on_commit_callbacks, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    audits = AuditEvent.objects.count()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AccessDenied):
        delegation_revoke(actor=actor, delegation=world.delegation)
    world.delegation.refresh_from_db()
    assert world.delegation.revoked_at is None
    assert AuditEvent.objects.count() == audits
    assert pushed == []


# --- limiting and widening rights (delegation_change) --------------------------------------


def test_change_limits_rights(world, pushed, django_capture_on_commit_callbacks):
    from psp_crm.services.delegations import delegation_change

    with django_capture_on_commit_callbacks(execute=True):
        changed = delegation_change(
            actor=world.patient_user,
            delegation=world.delegation,
            can_log_diary=False,
            can_send_reports=True,
        )
    assert (changed.can_log_diary, changed.can_send_reports) == (False, True)
    assert not access.can_act_for_patient(world.caregiver_user, world.patient, "can_log_diary")
    assert access.can_act_for_patient(world.caregiver_user, world.patient, "can_send_reports")
    audit = AuditEvent.objects.get(verb="delegation.change")
    assert audit.detail["after"] == {"can_log_diary": False, "can_send_reports": True}
    assert pushed[-1][1] == {"verb": "delegation.changed", "delegation": world.delegation.pk}


@pytest.mark.parametrize("who", ["caregiver_user", "outsider_staff", "doctor"])
def test_change_forbidden(world, who):
    from psp_crm.services.delegations import delegation_change

    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    with pytest.raises(AccessDenied):
        delegation_change(
            actor=actor, delegation=world.delegation, can_log_diary=True, can_send_reports=True
        )
    world.delegation.refresh_from_db()
    assert not world.delegation.can_send_reports
