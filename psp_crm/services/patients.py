"""Patient writes: registering a patient (provider staff or a referring doctor)."""

from __future__ import annotations

from django.db import transaction

from .. import access
from ..errors import AccessDenied, DomainError
from ..models import Patient, User
from .audit import audit_write

PATIENT_FIELDS = frozenset(
    {
        "birth_date",
        "sex",
        "fiscal_code",
        "phone",
        "email",
        "address",
        "city",
        "postcode",
        "territory",
    }
)


@transaction.atomic
def patient_register(
    *, actor: User, first_name: str, last_name: str, user: User | None = None, **fields
) -> Patient:
    """Register a new patient record with a fresh pseudonymous code."""
    if not (access.has_role(actor, "provider_staff") or access.has_role(actor, "doctor")):
        raise AccessDenied("Only provider staff and doctors may register patients.")
    unknown = set(fields) - PATIENT_FIELDS
    if unknown:
        raise DomainError(f"Unknown patient fields: {', '.join(sorted(unknown))}.")
    if not first_name.strip() or not last_name.strip():
        raise DomainError({"last_name": "First and last name are required."})
    patient = Patient.objects.create(
        first_name=first_name.strip(), last_name=last_name.strip(), user=user, **fields
    )
    if user is not None:
        user.groups.add(access.role_group("patient"))
    audit_write(actor=actor, action="create", verb="patient.register", obj=patient, patient=patient)
    return patient
