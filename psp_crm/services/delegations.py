"""Delegation writes: a patient (or provider staff) grants, limits and revokes a caregiver."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .. import access
from ..errors import AccessDenied, DomainError
from ..events import enrolment_group, send_event_on_commit
from ..models import Caregiver, Delegation, Patient, User
from .audit import audit_write


def _emit(verb: str, delegation: Delegation) -> None:
    groups = [
        enrolment_group(pk) for pk in delegation.patient.enrolments.values_list("pk", flat=True)
    ]
    send_event_on_commit(verb, groups=groups, delegation=delegation.pk)


@transaction.atomic
def delegation_grant(
    *,
    actor: User,
    patient: Patient,
    caregiver: Caregiver,
    relationship: str = "",
    can_log_diary: bool = False,
    can_send_reports: bool = False,
) -> Delegation:
    """Let a caregiver see a patient's data and, if granted, log diary entries or send reports."""
    if not access.can_manage_delegations(actor, patient):
        raise AccessDenied("Only the patient or provider staff may grant a delegation.")
    if caregiver.user_id == patient.user_id:
        raise DomainError({"caregiver": "A patient cannot be her own caregiver."})
    if Delegation.objects.filter(
        patient=patient, caregiver=caregiver, revoked_at__isnull=True
    ).exists():
        raise DomainError(
            {"caregiver": "This caregiver already holds a delegation; change it instead."}
        )
    delegation = Delegation.objects.create(
        patient=patient,
        caregiver=caregiver,
        relationship=relationship,
        can_log_diary=can_log_diary,
        can_send_reports=can_send_reports,
        granted_by=actor,
    )
    caregiver.user.groups.add(access.role_group("caregiver"))
    audit_write(
        actor=actor,
        action="grant",
        verb="delegation.grant",
        obj=delegation,
        patient=patient,
        detail={"can_log_diary": can_log_diary, "can_send_reports": can_send_reports},
    )
    _emit("delegation.granted", delegation)
    return delegation


@transaction.atomic
def delegation_revoke(*, actor: User, delegation: Delegation) -> Delegation:
    """End a delegation now; the caregiver loses access at once."""
    if not access.can_manage_delegations(actor, delegation.patient):
        raise AccessDenied("Only the patient or provider staff may revoke a delegation.")
    if delegation.revoked_at is not None:
        raise DomainError("This delegation was already revoked.")
    delegation.revoked_at = timezone.now()
    delegation.save(update_fields=["revoked_at"])
    audit_write(
        actor=actor,
        action="revoke",
        verb="delegation.revoke",
        obj=delegation,
        patient=delegation.patient,
    )
    _emit("delegation.revoked", delegation)
    return delegation
