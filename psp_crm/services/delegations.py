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


@transaction.atomic
def delegation_change(
    *,
    actor: User,
    delegation: Delegation,
    can_log_diary: bool,
    can_send_reports: bool,
    relationship: str | None = None,
    valid_until=None,
) -> Delegation:
    """Limit or widen what a caregiver may do (view only, log the diary, send reports)."""
    delegation = Delegation.objects.select_for_update().get(pk=delegation.pk)
    if not access.can_manage_delegations(actor, delegation.patient):
        raise AccessDenied("Only the patient or provider staff may change a delegation.")
    if delegation.revoked_at is not None:
        raise DomainError("This delegation was revoked; grant a new one instead.")
    if valid_until is not None and valid_until <= timezone.now():
        raise DomainError({"valid_until": "The end of the delegation must be in the future."})
    before = {
        "can_log_diary": delegation.can_log_diary,
        "can_send_reports": delegation.can_send_reports,
    }
    delegation.can_log_diary = can_log_diary
    delegation.can_send_reports = can_send_reports
    fields = ["can_log_diary", "can_send_reports"]
    if relationship is not None:
        delegation.relationship = relationship.strip()[:50]
        fields.append("relationship")
    if valid_until is not None:
        delegation.valid_until = valid_until
        fields.append("valid_until")
    delegation.save(update_fields=fields)
    audit_write(
        actor=actor,
        action="update",
        verb="delegation.change",
        obj=delegation,
        patient=delegation.patient,
        detail={
            "before": before,
            "after": {"can_log_diary": can_log_diary, "can_send_reports": can_send_reports},
        },
    )
    _emit("delegation.changed", delegation)
    return delegation
