"""Enrolment reads: the doctor's patient list and one enrolment's record for a portal page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import access
from ..access import Role
from ..errors import NotFound
from ..models import Activity, DiaryEntry, DoctorNote, Enrolment, Report, ReportReceipt, User

MAX_SEARCH_TERMS = 5
DIARY_LIMIT = 20
ACTIVITY_LIMIT = 10
REPORT_LIMIT = 10
ADHERENCE_DAYS = 30


def _last_diary_entry_at() -> Subquery:
    # One index lookup per row on (enrolment, -occurred_at); the rows are already scoped.
    latest = (
        DiaryEntry.objects.filter(enrolment=OuterRef("pk"))
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    return Subquery(latest)


def _count(queryset) -> Subquery:
    """A correlated COUNT(*) subquery (one per row, on indexed, already-scoped rows)."""
    return Coalesce(
        Subquery(
            queryset.order_by().values("enrolment").annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def _unread_reports(actor: User) -> Subquery:
    read = ReportReceipt.objects.filter(report=OuterRef("pk"), reader=actor)
    return _count(
        Report.objects.filter(enrolment=OuterRef("pk"), recipient=actor).filter(~Exists(read))
    )


def adherence_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The doctor list's indicator period: the last 30 days, today included."""
    end = today or timezone.localdate()
    return end - dt.timedelta(days=ADHERENCE_DAYS - 1), end


def doctor_patient_rows(
    *,
    actor: User,
    q: str | None = None,
    program: str | None = None,
    below: float | None = None,
    unread: bool = False,
) -> QuerySet[Enrolment]:
    """Enrolments the doctor follows with the last diary date and his unread reports (one query
    per page); ``below`` keeps those whose 30-day dose adherence is under the threshold.

    The adherence share itself comes from ``psp_crm.analytics.adherence`` (one query for a page,
    see ``with_adherence``), so the portal and the analytics use one definition.
    """
    from ..analytics.adherence import dose_adherence_for_enrolments

    rows = (
        access.enrolments_for(actor, role="doctor")
        .select_related("patient", "program", "product")
        .annotate(last_diary_at=_last_diary_entry_at(), unread_reports=_unread_reports(actor))
    )
    if program:
        rows = rows.filter(program__code=program)
    for term in (q or "").split()[:MAX_SEARCH_TERMS]:
        rows = rows.filter(
            Q(patient__first_name__icontains=term)
            | Q(patient__last_name__icontains=term)
            | Q(patient__code__icontains=term)
        )
    if unread:
        rows = rows.filter(unread_reports__gt=0)
    if below is not None:
        start, end = adherence_period()
        shares = dose_adherence_for_enrolments(
            list(rows.values_list("pk", flat=True)), start=start, end=end
        )
        rows = rows.filter(
            pk__in=[pk for pk, share in shares.items() if share is not None and share < below]
        )
    return rows.order_by("patient__last_name", "patient__first_name", "program__code", "pk")


def with_adherence(enrolments: list[Enrolment]) -> list[Enrolment]:
    """Set ``adherence_30`` (dose adherence) and ``pdc_30`` (proportion of days covered), 0–1 or
    None when nothing was expected, on a page's rows: one query each, whatever the page size."""
    from ..analytics.adherence import dose_adherence_for_enrolments, pdc_for_enrolments

    start, end = adherence_period()
    ids = [e.pk for e in enrolments]
    shares = dose_adherence_for_enrolments(ids, start=start, end=end)
    pdcs = pdc_for_enrolments(ids, start=start, end=end)
    for enrolment in enrolments:
        enrolment.adherence_30 = shares.get(enrolment.pk)
        enrolment.pdc_30 = pdcs.get(enrolment.pk)
    return enrolments


def doctor_notes(*, actor: User, enrolment: Enrolment) -> list[DoctorNote]:
    """The doctor's own private notes on a visible enrolment, newest first."""
    return list(
        DoctorNote.objects.filter(
            author=actor,
            enrolment=enrolment,
            enrolment__in=access.enrolments_for(actor, role="doctor"),
        ).order_by("-created_at", "-pk")
    )


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


# --- the native apps' reads (the patient's own and delegated data) ---------------------------


def app_enrolments(*, actor: User) -> QuerySet[Enrolment]:
    """The actor's own enrolments and those of the patients who delegated to her, with the
    rights she holds on each (``may_log_diary``, ``may_send_reports``)."""
    from ..models import Delegation

    scope = access.enrolments_for(actor, role="patient") | access.enrolments_for(
        actor, role="caregiver"
    )
    delegations = Delegation.objects.active().filter(
        caregiver__user=actor, patient=OuterRef("patient")
    )
    own = Q(patient__user=actor)
    return (
        scope.select_related("patient", "program", "product")
        .annotate(
            may_log_diary=Case(
                When(own, then=Value(True)),
                default=Exists(delegations.filter(can_log_diary=True)),
            ),
            may_send_reports=Case(
                When(own, then=Value(True)),
                default=Exists(delegations.filter(can_send_reports=True)),
            ),
        )
        .order_by("patient__last_name", "program__code", "pk")
    )


def app_activities(*, actor: User) -> QuerySet[Activity]:
    """Activities of the actor's own and delegated enrolments."""
    scope = access.activities_for(actor, role="patient") | access.activities_for(
        actor, role="caregiver"
    )
    return scope.select_related("module", "enrolment__program", "assignee__user", "partner")
