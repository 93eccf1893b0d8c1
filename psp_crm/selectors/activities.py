"""Activity reads for the operator portal: the agenda and one activity with what the role needs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import groupby

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import access
from ..errors import NotFound
from ..models import Activity, DiaryEntry, Operator, Program, User

AGENDA_LIMIT = 500  # a week of one operator's work is far below this
DIARY_LIMIT = 10


def operator_agenda(*, actor: User, day_start: dt.datetime, day_end: dt.datetime) -> list[Activity]:
    """The operator's own activities whose window overlaps ``[day_start, day_end)``."""
    if not access.has_role(actor, "operator"):
        return []
    activities = (
        access.activities_for(actor, role="operator")
        .filter(
            assignee=actor.operator_profile,
            scheduled_start__lt=day_end,
            scheduled_end__gte=day_start,
        )
        .select_related("module", "enrolment__patient", "enrolment__program", "partner")
        .order_by("scheduled_start", "pk")
    )
    return list(activities[:AGENDA_LIMIT])


def group_by_local_day(activities: list[Activity]) -> list[tuple[dt.date, list[Activity]]]:
    """Activities grouped by the day they start in the active (the user's) time zone."""

    def day(activity: Activity) -> dt.date:
        return timezone.localtime(activity.scheduled_start).date()

    return [(key, list(group)) for key, group in groupby(activities, key=day)]


def operator_activity(*, actor: User, activity_id: int) -> Activity:
    """One of the operator's own activities; absent, not visible and another operator's work are
    the same 404 (a nurse sees her patients' other activities only in their timeline)."""
    if not access.has_role(actor, "operator"):
        raise NotFound(_("No such activity."))
    activity = (
        access.activities_for(actor, role="operator")
        .filter(assignee=actor.operator_profile)
        .select_related(
            "module",
            "partner",
            "assignee__user",
            "enrolment__patient",
            "enrolment__program",
            "enrolment__product",
            "step",
        )
        .filter(pk=activity_id)
        .first()
    )
    if activity is None:
        raise NotFound(_("No such activity."))
    return activity


@dataclass(frozen=True)
class ClinicalContext:
    """The patient's clinical context a clinical operator sees beside an activity."""

    diary_entries: list[DiaryEntry]


def activity_clinical_context(*, actor: User, activity: Activity) -> ClinicalContext | None:
    """Latest diary entries for clinical operators; ``None`` for logistics (no clinical data)."""
    if not access.sees_clinical_data(actor, "operator"):
        return None
    diary = (
        access.diary_entries_for(actor, role="operator")
        .filter(enrolment=activity.enrolment_id, superseded_by__isnull=True)
        .select_related("author")
        .order_by("-occurred_at", "-pk")
    )
    return ClinicalContext(diary_entries=list(diary[:DIARY_LIMIT]))


# --- the provider's control room -----------------------------------------------------------------

AT_RISK_WITHIN = dt.timedelta(hours=48)
UNASSIGNED_LIMIT = 50


def control_programs(*, actor: User) -> QuerySet[Program]:
    """Programs whose operations the provider-staff member runs."""
    if not access.has_role(actor, "provider_staff"):
        return Program.objects.none()
    return access.programs_for(actor, "manage_program").order_by("code")


def _control_scope(actor: User) -> QuerySet[Activity]:
    if not access.has_role(actor, "provider_staff"):
        return Activity.objects.none()
    return access.activities_for(actor, role="provider_staff")


def _overdue(now: dt.datetime) -> Q:
    return Q(status__in=Activity.OPEN_STATUSES, scheduled_end__lt=now)


def _at_risk(now: dt.datetime) -> Q:
    # Due within 48 hours and either nobody does it or nobody confirmed it with the patient.
    return Q(
        status__in=Activity.OPEN_STATUSES,
        scheduled_start__gte=now,
        scheduled_start__lt=now + AT_RISK_WITHIN,
    ) & (Q(assignee__isnull=True) | Q(status=Activity.Status.PLANNED))


def control_activities(
    *,
    actor: User,
    program: int | None = None,
    status: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    operator: int | None = None,
    overdue: bool = False,
    at_risk: bool = False,
    now: dt.datetime | None = None,
) -> QuerySet[Activity]:
    """Every activity of the actor's programs, filtered; ordered by start."""
    now = now or timezone.now()
    rows = _control_scope(actor).select_related(
        "module", "enrolment__patient", "enrolment__program", "assignee__user", "partner"
    )
    if program:
        rows = rows.filter(enrolment__program_id=program)
    if status:
        rows = rows.filter(status=status)
    tz = timezone.get_current_timezone()
    if date_from:
        rows = rows.filter(
            scheduled_start__gte=dt.datetime.combine(date_from, dt.time.min, tzinfo=tz)
        )
    if date_to:
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        rows = rows.filter(scheduled_start__lt=end)
    if operator:
        rows = rows.filter(assignee_id=operator)
    if overdue:
        rows = rows.filter(_overdue(now))
    if at_risk:
        rows = rows.filter(_at_risk(now))
    return rows.order_by("scheduled_start", "pk")


def control_unassigned(*, actor: User, program: int | None = None) -> list[Activity]:
    """The open activities nobody fits yet, soonest first (the queue the staff assigns)."""
    rows = _control_scope(actor).filter(assignee__isnull=True, status__in=Activity.OPEN_STATUSES)
    if program:
        rows = rows.filter(enrolment__program_id=program)
    rows = rows.select_related(
        "module", "step", "enrolment__patient", "enrolment__program", "partner"
    ).order_by("scheduled_start", "pk")
    return list(rows[:UNASSIGNED_LIMIT])


@dataclass(frozen=True)
class ControlCounts:
    overdue: int
    at_risk: int
    unassigned: int
    today: int


def control_counts(*, actor: User, program: int | None = None, now=None) -> ControlCounts:
    """Overdue, at-risk and unassigned counts of the actor's programs, in one query."""
    now = now or timezone.now()
    rows = _control_scope(actor)
    if program:
        rows = rows.filter(enrolment__program_id=program)
    today = timezone.localdate(now)
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(today, dt.time.min, tzinfo=tz)
    counts = rows.aggregate(
        overdue=Count("pk", filter=_overdue(now)),
        at_risk=Count("pk", filter=_at_risk(now)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True, status__in=Activity.OPEN_STATUSES)),
        today=Count(
            "pk",
            filter=Q(scheduled_start__gte=start, scheduled_start__lt=start + dt.timedelta(days=1)),
        ),
    )
    return ControlCounts(**counts)


def control_activity(*, actor: User, activity_id: int) -> Activity:
    """One activity of the actor's programs; absent and not visible are the same 404."""
    activity = (
        _control_scope(actor)
        .select_related("module", "step", "enrolment__program", "enrolment__patient")
        .filter(pk=activity_id)
        .first()
    )
    if activity is None:
        raise NotFound(_("No such activity."))
    return activity


def control_operators(*, actor: User) -> list[Operator]:
    """Operators who work in the actor's programs (for the filter and the assign action)."""
    from ..scheduling.assignment import staffed_users

    programs = list(control_programs(actor=actor).values_list("pk", flat=True))
    staffed = staffed_users(programs)
    users = set().union(*staffed.values()) if staffed else set()
    operators = (
        Operator.objects.filter(user_id__in=users)
        .select_related("user", "organization")
        .order_by("role", "user__last_name", "user__first_name")
    )
    result = list(operators)
    for operator in result:
        operator.program_ids = {pid for pid, ids in staffed.items() if operator.user_id in ids}
    return result
