"""Enrolment reads: the doctor's patient list and one enrolment's record for a portal page."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import access
from ..access import Role
from ..errors import NotFound
from ..models import Activity, DiaryEntry, Enrolment, Report, User

MAX_SEARCH_TERMS = 5
DIARY_LIMIT = 20
ACTIVITY_LIMIT = 10
REPORT_LIMIT = 10


def _last_diary_entry_at() -> Subquery:
    # One index lookup per row on (enrolment, -occurred_at); the rows are already scoped.
    latest = (
        DiaryEntry.objects.filter(enrolment=OuterRef("pk"))
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    return Subquery(latest)


def doctor_patient_rows(
    *, actor: User, q: str | None = None, program: str | None = None
) -> QuerySet[Enrolment]:
    """Enrolments the doctor follows, with patient, program and last diary entry date."""
    rows = (
        access.enrolments_for(actor, role="doctor")
        .select_related("patient", "program", "product")
        .annotate(last_diary_at=_last_diary_entry_at())
    )
    if program:
        rows = rows.filter(program__code=program)
    for term in (q or "").split()[:MAX_SEARCH_TERMS]:
        rows = rows.filter(
            Q(patient__first_name__icontains=term)
            | Q(patient__last_name__icontains=term)
            | Q(patient__code__icontains=term)
        )
    return rows.order_by("patient__last_name", "patient__first_name", "program__code", "pk")


def enrolment_for(*, actor: User, role: Role, enrolment_id: int) -> Enrolment:
    """One enrolment the actor may see in ``role``; absent and not visible are the same 404."""
    enrolment = (
        access.enrolments_for(actor, role=role)
        .select_related(
            "patient",
            "program",
            "program__sponsor",
            "product",
            "referring_doctor__user",
            "referring_doctor__hospital",
        )
        .filter(pk=enrolment_id)
        .first()
    )
    if enrolment is None:
        raise NotFound(_("No such patient record."))
    return enrolment


@dataclass(frozen=True)
class EnrolmentRecord:
    """What a clinical portal shows of one enrolment besides identity and therapy."""

    enrolment: Enrolment
    doctors: list[str]
    diary_entries: list[DiaryEntry]
    upcoming: list[Activity]
    past: list[Activity]
    reports: list[Report]


def enrolment_record(*, actor: User, role: Role, enrolment: Enrolment) -> EnrolmentRecord:
    """Latest diary entries, upcoming and past activities and reports of a visible enrolment."""
    now = timezone.now()
    activities = (
        access.activities_for(actor, role=role)
        .filter(enrolment=enrolment)
        .select_related("module", "assignee__user", "partner")
    )
    diary = (
        access.diary_entries_for(actor, role=role)
        .filter(enrolment=enrolment, superseded_by__isnull=True)
        .select_related("author")
        .order_by("-occurred_at", "-pk")
    )
    reports = (
        access.reports_for(actor, role=role)
        .filter(enrolment=enrolment)
        .select_related("author", "recipient")
        .order_by("-created_at", "-pk")
    )
    return EnrolmentRecord(
        enrolment=enrolment,
        doctors=[str(d.user.get_full_name() or d.user.email) for d in _doctors(enrolment)],
        diary_entries=list(diary[:DIARY_LIMIT]),
        upcoming=list(
            activities.filter(scheduled_start__gte=now).order_by("scheduled_start", "pk")[
                :ACTIVITY_LIMIT
            ]
        ),
        past=list(
            activities.filter(scheduled_start__lt=now).order_by("-scheduled_start", "-pk")[
                :ACTIVITY_LIMIT
            ]
        ),
        reports=list(reports[:REPORT_LIMIT]),
    )


def _doctors(enrolment: Enrolment) -> list:
    return list(enrolment.doctors.select_related("user").order_by("user__last_name"))
