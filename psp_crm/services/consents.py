"""Consent writes: recorded by provider staff, withdrawable by the patient or staff."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .. import access
from ..errors import AccessDenied, DomainError
from ..models import Consent, Enrolment, Patient, User
from .audit import audit_write


def _may_record(actor: User, patient: Patient) -> bool:
    return access.has_role(actor, "provider_staff") and (
        actor.is_superuser
        or access.enrolments_for(actor, role="provider_staff").filter(patient=patient).exists()
    )


@transaction.atomic
def consent_record(
    *,
    actor: User,
    patient: Patient,
    kind: str,
    document_version: str,
    enrolment: Enrolment | None = None,
) -> Consent:
    """Record a consent the patient gave; a referred enrolment moves to consented."""
    if not _may_record(actor, patient):
        raise AccessDenied("Only provider staff of the patient's programs may record consents.")
    if kind not in Consent.Kind.values:
        raise DomainError({"kind": "Unknown consent kind."})
    if not document_version.strip():
        raise DomainError({"document_version": "Give the version of the consent document."})
    if enrolment is not None and enrolment.patient_id != patient.pk:
        raise DomainError({"enrolment": "This enrolment belongs to another patient."})
    consent = Consent.objects.create(
        patient=patient,
        enrolment=enrolment,
        kind=kind,
        document_version=document_version,
        recorded_by=actor,
        given_via=Consent.Via.STAFF,
    )
    audit_write(actor=actor, action="create", verb="consent.record", obj=consent, patient=patient)
    if (
        kind == Consent.Kind.PARTICIPATION
        and enrolment is not None
        and enrolment.status == "referred"
    ):
        from .enrolments import enrolment_transition

        enrolment_transition(actor=actor, enrolment=enrolment, to_status="consented")
    return consent


@transaction.atomic
def consent_withdraw(*, actor: User, consent: Consent) -> Consent:
    """Withdraw a consent (the patient herself, or provider staff); history is kept."""
    is_the_patient = consent.patient.user_id is not None and consent.patient.user_id == actor.pk
    if not is_the_patient and not _may_record(actor, consent.patient):
        raise AccessDenied("Only the patient or provider staff may withdraw this consent.")
    if consent.withdrawn_at is not None:
        raise DomainError("This consent was already withdrawn.")
    consent.withdrawn_at = timezone.now()
    consent.withdrawn_by = actor
    consent.withdrawn_via = Consent.Via.PORTAL if is_the_patient else Consent.Via.STAFF
    consent.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawn_via"])
    audit_write(
        actor=actor, action="update", verb="consent.withdraw", obj=consent, patient=consent.patient
    )
    return consent
