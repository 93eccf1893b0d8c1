"""The audit trail: one place that appends audit events for reads and writes."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from ..models import AuditEvent, Patient, User


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_write(
    *,
    actor: User | None,
    action: str,
    verb: str,
    obj: models.Model,
    patient: Patient | None = None,
    detail: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append the audit event of a change (called inside the service's transaction)."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        verb=verb,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        patient=patient,
        ip_address=_client_ip(request),
        detail=detail or {},
    )


def audit_patient_read(
    *,
    actor: User,
    patient: Patient,
    portal: str,
    obj: models.Model | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append the audit event of someone opening a patient's record in a portal."""
    target = obj or patient
    return AuditEvent.objects.create(
        actor=actor,
        action=AuditEvent.Action.READ,
        verb=f"{target._meta.model_name}.read",
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        patient=patient,
        portal=portal,
        ip_address=_client_ip(request),
    )
