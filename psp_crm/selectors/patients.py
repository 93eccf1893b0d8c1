"""Patient reads for the patient portal: the patient herself and her caregivers' view."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import access
from ..access import Role
from ..errors import NotFound
from ..models import Activity, Delegation, DiaryEntry, Enrolment, Patient, Report, User

ACTIVITY_LIMIT = 10
DIARY_LIMIT = 15
REPORT_LIMIT = 5


def patient_self(*, actor: User) -> Patient | None:
    """The patient record of the signed-in patient, if she has one."""
    return access.patients_for(actor, role="patient").filter(user=actor).first()


def _active_delegations(actor: User) -> QuerySet[Delegation]:
    return Delegation.objects.active().filter(caregiver__user=actor)


def patients_for_caregiver(*, actor: User) -> QuerySet[Patient]:
    """Patients who delegated to the signed-in caregiver, with the delegation's relationship."""
    delegation = _active_delegations(actor).filter(patient=OuterRef("pk")).order_by("-valid_from")
    return (
        access.patients_for(actor, role="caregiver")
        .annotate(
            relationship=Subquery(delegation.values("relationship")[:1]),
            can_log_diary=Subquery(delegation.values("can_log_diary")[:1]),
            can_send_reports=Subquery(delegation.values("can_send_reports")[:1]),
        )
        .order_by("last_name", "first_name", "pk")
    )


def delegated_patient(*, actor: User, code: str) -> Patient:
    """A patient the caregiver acts for, by pseudonymous code; no delegation is the same 404."""
    patient = patients_for_caregiver(actor=actor).filter(code=code).first()
    if patient is None:
        raise NotFound(_("No such patient."))
    return patient


@dataclass(frozen=True)
class PatientDashboard:
    """What the patient portal shows of one patient."""

    patient: Patient
    role: Role
    enrolments: list[Enrolment]
    next_activities: list[Activity]
    diary_entries: list[DiaryEntry]
    reports: list[Report]


def patient_dashboard(
    *, actor: User, patient: Patient, role: Role | None = None
) -> PatientDashboard:
    """Programs, next activities, latest diary entries and reports of a patient the actor sees."""
    if role is None:
        role = "patient" if patient.user_id == actor.pk else "caregiver"
    if not access.patients_for(actor, role=role).filter(pk=patient.pk).exists():
        raise NotFound(_("No such patient."))
    now = timezone.now()
    enrolments = (
        access.enrolments_for(actor, role=role)
        .filter(patient=patient)
        .select_related("program", "product")
        .order_by("program__name", "pk")
    )
    activities = (
        access.activities_for(actor, role=role)
        .filter(
            enrolment__patient=patient,
            status__in=Activity.OPEN_STATUSES,
            scheduled_end__gte=now,
        )
        .select_related("module", "enrolment__program", "assignee__user", "partner")
        .order_by("scheduled_start", "pk")
    )
    diary = (
        access.diary_entries_for(actor, role=role)
        .filter(enrolment__patient=patient, superseded_by__isnull=True)
        .select_related("author", "enrolment__program")
        .order_by("-occurred_at", "-pk")
    )
    reports = (
        access.reports_for(actor, role=role)
        .filter(enrolment__patient=patient)
        .select_related("author", "enrolment__program")
        .order_by("-created_at", "-pk")
    )
    return PatientDashboard(
        patient=patient,
        role=role,
        enrolments=list(enrolments),
        next_activities=list(activities[:ACTIVITY_LIMIT]),
        diary_entries=list(diary[:DIARY_LIMIT]),
        reports=list(reports[:REPORT_LIMIT]),
    )


# --- the diary's and the delegations' reads for the patient portal and the API ---------------


def writable_enrolments(*, actor: User, role: Role, patient: Patient) -> QuerySet[Enrolment]:
    """The patient's visible enrolments that accept diary entries and reports."""
    from ..services.diary import DIARY_STATUSES

    return (
        access.enrolments_for(actor, role=role)
        .filter(patient=patient, status__in=DIARY_STATUSES)
        .select_related("program", "product")
        .order_by("program__name", "pk")
    )


def delegations_of(*, actor: User, patient: Patient) -> QuerySet[Delegation]:
    """The patient's open (not revoked) delegations, for who may manage them."""
    if not access.can_manage_delegations(actor, patient):
        raise NotFound(_("No such patient."))
    return (
        Delegation.objects.filter(patient=patient, revoked_at__isnull=True)
        .select_related("caregiver__user")
        .order_by("valid_from", "pk")
    )


def delegation_for(*, actor: User, patient: Patient, delegation_id: int) -> Delegation:
    """One open delegation of the patient that the actor manages; otherwise the same 404."""
    delegation = delegations_of(actor=actor, patient=patient).filter(pk=delegation_id).first()
    if delegation is None:
        raise NotFound(_("No such delegation."))
    return delegation


def caregiver_by_email(*, email: str):
    """The caregiver account with this e-mail, if there is one (to grant a delegation)."""
    from ..models import Caregiver

    return (
        Caregiver.objects.filter(user__email__iexact=email.strip(), user__is_active=True)
        .select_related("user")
        .first()
    )
