"""Activity reads for the operator portal: the agenda and one activity with what the role needs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import groupby

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import access
from ..errors import NotFound
from ..models import Activity, DiaryEntry, User

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
    """One activity the operator may see; absent and not visible are the same 404."""
    activity = (
        access.activities_for(actor, role="operator")
        .select_related(
            "module",
            "partner",
            "assignee__user",
            "enrolment__patient",
            "enrolment__program",
            "enrolment__product",
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
