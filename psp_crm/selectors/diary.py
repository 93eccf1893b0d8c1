"""Diary reads: the timeline, the calendar, one entry with its history, charts' series, due-dose
reminders and the gamification progress; every read starts from the access policy."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import access
from ..access import Role
from ..errors import NotFound
from ..models import BadgeAward, DiaryEntry, Enrolment, Patient, User
from ..services.diary import is_editable
from ..services.gamification import BADGES, STREAK_BADGES, diary_days, streak_length
from .pagination import page_of

CHART_DAYS = 90
CHART_LIMIT = 500


def current_entries(*, actor: User, role: Role | None) -> QuerySet[DiaryEntry]:
    """Current versions (not superseded) of the diary entries the actor may read."""
    return (
        access.diary_entries_for(actor, role=role)
        .filter(superseded_by__isnull=True)
        .select_related("author", "enrolment__program", "supersedes")
    )


def diary_page(
    *,
    actor: User,
    role: Role | None,
    patient: Patient | None = None,
    enrolment: Enrolment | None = None,
    kind: str | None = None,
    page: object = 1,
    per_page: int = 25,
):
    """One page of the diary timeline, newest first, each entry marked ``editable``."""
    entries = current_entries(actor=actor, role=role)
    if patient is not None:
        entries = entries.filter(enrolment__patient=patient)
    if enrolment is not None:
        entries = entries.filter(enrolment=enrolment)
    if kind in DiaryEntry.Kind.values:
        entries = entries.filter(kind=kind)
    result = page_of(entries.order_by("-occurred_at", "-pk"), page=page, per_page=per_page)
    now = timezone.now()
    for entry in result.object_list:
        entry.editable = is_editable(entry, now=now)
    return result


def diary_entry_for(*, actor: User, role: Role | None, entry_id: int) -> DiaryEntry:
    """One entry (any version) the actor may read; absent and not visible are the same 404."""
    entry = (
        access.diary_entries_for(actor, role=role)
        .select_related("author", "enrolment__program", "enrolment__patient")
        .filter(pk=entry_id)
        .first()
    )
    if entry is None:
        raise NotFound(_("No such diary entry."))
    return entry


def entry_history(entry: DiaryEntry) -> list[DiaryEntry]:
    """Every version of an entry, newest first (corrections form a short chain)."""
    latest = entry
    while True:
        newer = DiaryEntry.objects.filter(supersedes=latest).select_related("author").first()
        if newer is None:
            break
        latest = newer
    versions = [latest]
    while versions[-1].supersedes_id:
        versions.append(
            DiaryEntry.objects.select_related("author").get(pk=versions[-1].supersedes_id)
        )
    return versions


@dataclass(frozen=True)
class CalendarDay:
    day: dt.date | None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class DiaryCalendar:
    year: int
    month: int
    weeks: list[list[CalendarDay]]
    previous: dt.date
    next: dt.date

    @property
    def first(self) -> dt.date:
        return dt.date(self.year, self.month, 1)


def diary_calendar(
    *, actor: User, role: Role | None, patient: Patient, year: int, month: int
) -> DiaryCalendar:
    """A month grid with the number of entries of each kind per local day (one query)."""
    first = dt.date(year, month, 1)
    last = dt.date(year, month, calendar.monthrange(year, month)[1])
    tz = timezone.get_current_timezone()
    begin = timezone.make_aware(dt.datetime.combine(first, dt.time()))
    end = timezone.make_aware(dt.datetime.combine(last + dt.timedelta(days=1), dt.time()))
    rows = (
        current_entries(actor=actor, role=role)
        .filter(enrolment__patient=patient, occurred_at__gte=begin, occurred_at__lt=end)
        .annotate(day=TruncDate("occurred_at", tzinfo=tz))
        .values("day", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[dt.date, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["day"], {})[row["kind"]] = row["n"]
    weeks = [
        [CalendarDay(day if day.month == month else None, counts.get(day, {})) for day in week]
        for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    ]
    return DiaryCalendar(
        year=year,
        month=month,
        weeks=weeks,
        previous=(first - dt.timedelta(days=1)).replace(day=1),
        next=last + dt.timedelta(days=1),
    )


@dataclass(frozen=True)
class DoseReminder:
    """A dose that may be due: the enrolment, and when the last one was logged."""

    enrolment: Enrolment
    last_dose_at: dt.datetime | None
    due_since: dt.datetime | None


def due_doses(*, actor: User, role: Role | None, patient: Patient) -> list[DoseReminder]:
    """Reminders to log due doses: active enrolments whose next dose (by the regimen) is due."""
    from django.db.models import OuterRef, Subquery

    last_dose = (
        DiaryEntry.objects.filter(enrolment=OuterRef("pk"), kind="dose", superseded_by__isnull=True)
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    enrolments = (
        access.enrolments_for(actor, role=role)
        .filter(patient=patient, status="active", doses_per_week__gt=0)
        .select_related("program", "product")
        .annotate(last_dose_at=Subquery(last_dose))
        .order_by("program__name", "pk")
    )
    now = timezone.now()
    reminders = []
    for enrolment in enrolments:
        interval = dt.timedelta(days=7 / float(enrolment.doses_per_week))
        due = enrolment.last_dose_at + interval if enrolment.last_dose_at else None
        if due is None or due <= now:
            reminders.append(DoseReminder(enrolment, enrolment.last_dose_at, due))
    return reminders


@dataclass(frozen=True)
class Series:
    """One measurement's points for a chart and its accessible table."""

    measurement: str
    label: str
    unit: str
    points: list[tuple[dt.datetime, Decimal, Decimal | None]]


def measurement_series(
    *, actor: User, role: Role | None, enrolment: Enrolment, days: int = CHART_DAYS
) -> list[Series]:
    """Measurements of the last ``days`` days, oldest first, per measurement (one query)."""
    since = timezone.now() - dt.timedelta(days=days)
    rows = (
        access.diary_entries_for(actor, role=role)
        .filter(
            enrolment=enrolment,
            kind="measurement",
            superseded_by__isnull=True,
            occurred_at__gte=since,
        )
        .order_by("occurred_at", "pk")
        .values_list("measurement", "occurred_at", "value", "value_secondary")[:CHART_LIMIT]
    )
    grouped: dict[str, list] = {}
    for measurement, occurred_at, value, secondary in rows:
        grouped.setdefault(measurement, []).append((occurred_at, value, secondary))
    labels = dict(DiaryEntry.Measurement.choices)
    return [
        Series(m, str(labels[m]), DiaryEntry.CANONICAL_UNITS[m], grouped[m])
        for m in DiaryEntry.Measurement.values
        if m in grouped
    ]


@dataclass(frozen=True)
class Badge:
    code: str
    title: str
    description: str
    awarded_at: dt.datetime | None


@dataclass(frozen=True)
class Progress:
    """Points, streak and badges of one enrolment, and the next goal (never a penalty)."""

    enrolment: Enrolment
    enabled: bool
    points: int
    streak: int
    badges: list[Badge]
    next_goal: tuple[str, int] | None  # (badge title, days still to go)


def gamification_progress(*, actor: User, role: Role | None, enrolment_id: int) -> Progress:
    """The progress view of one visible enrolment."""
    enrolment = (
        access.enrolments_for(actor, role=role)
        .select_related("program")
        .filter(pk=enrolment_id)
        .first()
    )
    if enrolment is None:
        raise NotFound(_("No such program participation."))
    if not enrolment.program.gamification_enabled:
        return Progress(enrolment, False, 0, 0, [], None)
    points = enrolment.points.aggregate(total=Sum("points"))["total"] or 0
    today = timezone.localdate()
    streak = streak_length(diary_days(enrolment.pk, today=today), today=today)
    awarded = {
        b.code: b.awarded_at for b in BadgeAward.objects.filter(enrolment=enrolment).order_by("pk")
    }
    badges = [
        Badge(code, str(title), str(text), awarded.get(code))
        for code, (title, text) in BADGES.items()
        if code in awarded or code in dict(STREAK_BADGES) or code == "first-entry"
    ]
    next_goal = next(
        ((str(BADGES[code][0]), days - streak) for code, days in STREAK_BADGES if streak < days),
        None,
    )
    return Progress(enrolment, True, points, streak, badges, next_goal)


def app_diary_entries(*, actor: User) -> QuerySet[DiaryEntry]:
    """Diary entries (every version) of the actor's own and delegated enrolments."""
    from django.db.models import Exists, OuterRef

    scope = access.diary_entries_for(actor, role="patient") | access.diary_entries_for(
        actor, role="caregiver"
    )
    newer = DiaryEntry.objects.filter(supersedes=OuterRef("pk"))
    return scope.select_related("author").annotate(is_current=~Exists(newer))
