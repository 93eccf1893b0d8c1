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


@transaction.atomic
def delegation_copies_set(*, actor: User, delegation: Delegation, enabled: bool) -> Delegation:
    """Send the caregiver e-mail copies of the patient's reminders and appointment notices, or not.

    Only the caregiver turns copies on (they go to her own inbox); she, the patient or provider
    staff may turn them off, which stops at once every copy not sent yet.
    """
    delegation = (
        Delegation.objects.select_for_update()
        .select_related("caregiver__user", "patient")
        .get(pk=delegation.pk)
    )
    is_caregiver = delegation.caregiver.user_id == actor.pk
    if enabled and not is_caregiver:
        raise AccessDenied("Only the caregiver may ask for copies: they go to her own inbox.")
    if not is_caregiver and not access.can_manage_delegations(actor, delegation.patient):
        raise AccessDenied("Only the caregiver, the patient or provider staff may stop copies.")
    if (
        delegation.revoked_at is not None
        or not Delegation.objects.active().filter(pk=delegation.pk).exists()
    ):
        raise DomainError({"delegation": "This delegation is not in force."})
    if enabled and not (delegation.caregiver.user.email or "").strip():
        raise DomainError({"receives_copies": "Add an e-mail address to your account first."})
    if delegation.receives_copies == enabled:
        return delegation
    delegation.receives_copies = enabled
    delegation.save(update_fields=["receives_copies"])
    audit_write(
        actor=actor,
        action="update",
        verb="delegation.copies",
        obj=delegation,
        patient=delegation.patient,
        detail={"receives_copies": enabled},
    )
    _emit("delegation.changed", delegation)
    return delegation
