"""Enrolment writes: referral, the status machine, and the care team."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import access
from ..errors import AccessDenied, DomainError, InvalidTransition
from ..events import (
    enrolment_group,
    program_client_group,
    program_control_group,
    send_event_on_commit,
)
from ..models import Consent, Doctor, Enrolment, Operator, Patient, Product, Program, User
from .audit import audit_write


def _emit(verb: str, enrolment: Enrolment) -> None:
    send_event_on_commit(
        verb,
        groups=[
            enrolment_group(enrolment.pk),
            program_control_group(enrolment.program_id),
            program_client_group(enrolment.program_id),
        ],
        enrolment=enrolment.pk,
        program=enrolment.program_id,
    )


@transaction.atomic
def enrolment_refer(
    *,
    actor: User,
    patient: Patient,
    program: Program,
    referring_doctor: Doctor | None = None,
    product: Product | None = None,
    dose: str = "",
    frequency: str = "",
    doses_per_week: float | None = None,
) -> Enrolment:
    """Refer a patient to a program; the enrolment waits for consent before it becomes active."""
    if not access.can_refer_to_program(actor, program):
        raise AccessDenied("You may not refer patients to this program.")
    if referring_doctor is None and access.has_role(actor, "doctor"):
        referring_doctor = actor.doctor_profile
    if program.status != Program.Status.ACTIVE:
        raise DomainError({"program": "Patients can only be referred to an active program."})
    if Enrolment.objects.filter(
        patient=patient, program=program, status__in=Enrolment.OPEN_STATUSES
    ).exists():
        raise DomainError(
            {"patient": "This patient already has an open enrolment in this program."}
        )
    if product is not None and not program.products.filter(pk=product.pk).exists():
        raise DomainError({"product": "This product is not supported by the program."})
    enrolment = Enrolment.objects.create(
        patient=patient,
        program=program,
        referring_doctor=referring_doctor,
        product=product,
        dose=dose,
        frequency=frequency,
        doses_per_week=doses_per_week,
    )
    if referring_doctor is not None:
        enrolment.doctors.add(referring_doctor)
    audit_write(
        actor=actor, action="create", verb="enrolment.refer", obj=enrolment, patient=patient
    )
    _emit("enrolment.referred", enrolment)
    return enrolment


@transaction.atomic
def enrolment_transition(
    *,
    actor: User,
    enrolment: Enrolment,
    to_status: str,
    reason: str = "",
    on_date: dt.date | None = None,
) -> Enrolment:
    """Move an enrolment along its status machine (provider staff only)."""
    enrolment = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
    if not access.can_manage_enrolment(actor, enrolment):
        raise AccessDenied("Only provider staff of this program may change an enrolment's status.")
    if not enrolment.can_transition_to(to_status):
        current = enrolment.get_status_display().lower()
        raise InvalidTransition(f"An enrolment that is {current} cannot become {to_status}.")
    if to_status in ("suspended", "withdrawn") and not reason.strip():
        raise DomainError({"reason": "Give a reason for suspending or withdrawing."})
    if (
        to_status == "active"
        and not Consent.objects.filter(
            # A participation consent given for another program does not cover this one.
            Q(enrolment=enrolment) | Q(enrolment__isnull=True),
            patient=enrolment.patient,
            kind=Consent.Kind.PARTICIPATION,
            withdrawn_at__isnull=True,
        ).exists()
    ):
        raise DomainError("The patient has no active participation consent.")
    previous = enrolment.status
    today = on_date or timezone.localdate()
    enrolment.status = to_status
    enrolment.status_reason = reason
    enrolment.status_changed_at = timezone.now()
    if to_status == "active" and enrolment.start_date is None:
        enrolment.start_date = today
        enrolment.therapy_start_date = enrolment.therapy_start_date or today
    if to_status in ("withdrawn", "completed"):
        enrolment.end_date = today
    enrolment.save()
    audit_write(
        actor=actor,
        action="update",
        verb="enrolment.transition",
        obj=enrolment,
        patient=enrolment.patient,
        detail={"from": previous, "to": to_status, "reason": reason},
    )
    _emit(f"enrolment.{to_status}", enrolment)
    # Scheduling engine (issue 3): closing cancels future activities with the reason; activating
    # (or reactivating) materializes the pathway over the rolling horizon after commit.
    from ..scheduling.hooks import after_transition

    after_transition(
        enrolment=enrolment,
        previous=previous,
        to_status=to_status,
        reason=reason,
        today=max(today, timezone.localdate()),
    )
    return enrolment


@transaction.atomic
def enrolment_add_doctor(*, actor: User, enrolment: Enrolment, doctor: Doctor) -> None:
    """Add a following doctor to the enrolment's care team."""
    if not access.can_manage_enrolment(actor, enrolment):
        raise AccessDenied("Only provider staff of this program may change the care team.")
    if not access.has_program_perm(doctor.user, enrolment.program, "follow_program"):
        raise DomainError({"doctor": "This doctor does not take part in the program."})
    enrolment.doctors.add(doctor)
    audit_write(
        actor=actor,
        action="grant",
        verb="enrolment.add_doctor",
        obj=enrolment,
        patient=enrolment.patient,
        detail={"doctor": doctor.pk},
    )
    _emit("enrolment.care_team_changed", enrolment)


@transaction.atomic
def enrolment_assign_operator(*, actor: User, enrolment: Enrolment, operator: Operator) -> None:
    """Assign an operator to the enrolment's care team."""
    if not access.can_manage_enrolment(actor, enrolment):
        raise AccessDenied("Only provider staff of this program may change the care team.")
    if not access.has_program_perm(operator.user, enrolment.program, "staff_program"):
        raise DomainError({"operator": "This operator does not work in the program."})
    enrolment.operators.add(operator)
    audit_write(
        actor=actor,
        action="grant",
        verb="enrolment.assign_operator",
        obj=enrolment,
        patient=enrolment.patient,
        detail={"operator": operator.pk},
    )
    _emit("enrolment.care_team_changed", enrolment)
