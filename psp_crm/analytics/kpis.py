"""Program KPIs as raw counts. Never hand these to a client face: ``selectors.programs`` suppresses
small cells first. Every function reads one program with a fixed number of queries.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, F, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from ..models import (
    Activity,
    AdherenceSnapshot,
    AdverseEvent,
    Enrolment,
    Program,
    ProgramAnalyticsSettings,
)
from .adherence import PDC_THRESHOLD, coverage_for_enrolments

THERAPY_STATUSES = ("active", "suspended", "withdrawn", "completed")
PDC_BINS = ((0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.01))
PDC_BIN_LABELS = ("0–19%", "20–39%", "40–59%", "60–79%", "80–100%")
SERVICE_CATEGORIES = ("visits", "infusions", "calls", "deliveries", "pickups", "other")
ON_TIME_GRACE = datetime.timedelta(minutes=30)


def analytics_settings_for(program: Program) -> ProgramAnalyticsSettings:
    """The program's analytics settings, or unsaved defaults (reading never writes)."""
    try:
        return program.analytics_settings
    except ProgramAnalyticsSettings.DoesNotExist:
        return ProgramAnalyticsSettings(program=program, min_cell=settings.PSP_CLIENT_MIN_CELL)


def month_starts(today: datetime.date, months: int) -> list[datetime.date]:
    """The first day of the last ``months`` calendar months, oldest first, this month last."""
    firsts = []
    year, month = today.year, today.month
    for _ in range(months):
        firsts.append(datetime.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return firsts[::-1]


def month_end(first: datetime.date) -> datetime.date:
    following = datetime.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - datetime.timedelta(days=1)


def service_category(code: str, channel: str) -> str:
    """Which contracted service a module's activities count as."""
    if code == "home-infusion":
        return "infusions"
    if code == "drug-delivery":
        return "deliveries"
    if code == "waste-pickup":
        return "pickups"
    if channel in ("phone", "video"):
        return "calls"
    if channel in ("home_visit", "hospital"):
        return "visits"
    return "other"


@dataclass
class ProgramKpis:
    """A program's raw KPI counts over a reference period ending ``today``."""

    program: Program
    today: datetime.date
    statuses: dict[str, int] = field(default_factory=dict)
    new_by_month: list[tuple[datetime.date, int]] = field(default_factory=list)
    pdc_bins: dict[str, int] = field(default_factory=dict)
    pdc_window: tuple[datetime.date, datetime.date] | None = None
    pdc_trend: list[tuple[datetime.date, int, int]] = field(default_factory=list)  # (month, n, ≥80)
    services_done: dict[str, int] = field(default_factory=dict)
    services_contract: dict[str, int] = field(default_factory=dict)
    activities_on_time: int = 0
    activities_late: int = 0
    adverse_events: dict[str, int] = field(default_factory=dict)
    regions: dict[str, int] = field(default_factory=dict)


def enrolment_statuses(program: Program) -> dict[str, int]:
    rows = program.enrolments.values("status").annotate(n=Count("pk"))
    counts = dict.fromkeys(Enrolment.Status.values, 0)
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def new_enrolments_by_month(
    program: Program, *, today: datetime.date, months: int = 12
) -> list[tuple[datetime.date, int]]:
    firsts = month_starts(today, months)
    since = datetime.datetime.combine(
        firsts[0], datetime.time(), tzinfo=timezone.get_current_timezone()
    )
    rows = (
        program.enrolments.filter(referred_at__gte=since)
        .annotate(month=TruncMonth("referred_at"))
        .values("month")
        .annotate(n=Count("pk"))
    )
    by_month = {
        row["month"].date() if hasattr(row["month"], "date") else row["month"]: row["n"]
        for row in rows
    }
    return [(first, by_month.get(first, 0)) for first in firsts]


def _therapy_ids(program: Program) -> list[int]:
    return list(program.enrolments.filter(status__in=THERAPY_STATUSES).values_list("pk", flat=True))


def pdc_distribution(
    program: Program, *, today: datetime.date, days: int = 90
) -> tuple[dict[str, int], tuple[datetime.date, datetime.date]]:
    """Enrolments by PDC band over the last ``days`` days (those with any day of therapy)."""
    start = today - datetime.timedelta(days=days - 1)
    supply = analytics_settings_for(program).days_per_delivery
    coverage = coverage_for_enrolments(
        _therapy_ids(program), start=start, end=today, delivery_days=supply
    )
    bins = dict.fromkeys(PDC_BIN_LABELS, 0)
    for cov in coverage.values():
        pdc = cov.pdc
        if pdc is None:
            continue
        for label, (low, high) in zip(PDC_BIN_LABELS, PDC_BINS, strict=True):
            if low <= pdc < high:
                bins[label] += 1
                break
    return bins, (start, today)


def pdc_trend(
    program: Program, *, today: datetime.date, months: int = 6
) -> list[tuple[datetime.date, int, int]]:
    """Per calendar month: enrolments with a PDC that month and how many reached 80%.

    Past months come from the nightly ``AdherenceSnapshot`` rows (one query for all of them);
    the current month, and any month without snapshots, is computed live.
    """
    firsts = month_starts(today, months)
    stored = {
        row["period_start"]: (row["n"], row["good"])
        for row in AdherenceSnapshot.objects.filter(
            enrolment__program=program, period_start__in=firsts[:-1], pdc__isnull=False
        )
        .values("period_start")
        .annotate(n=Count("pk"), good=Count("pk", filter=Q(pdc__gte=PDC_THRESHOLD)))
    }
    ids: list[int] | None = None
    days = analytics_settings_for(program).days_per_delivery
    trend = []
    for first in firsts:
        if first in stored:
            trend.append((first, *stored[first]))
            continue
        ids = _therapy_ids(program) if ids is None else ids
        last = min(month_end(first), today)
        coverage = coverage_for_enrolments(ids, start=first, end=last, delivery_days=days)
        measured = [c.pdc for c in coverage.values() if c.pdc is not None]
        trend.append((first, len(measured), sum(1 for v in measured if v >= PDC_THRESHOLD)))
    return trend


def service_volumes(
    program: Program, *, today: datetime.date
) -> tuple[dict[str, int], dict[str, int]]:
    """Activities done in the last 365 days by contracted service, and the yearly contract."""
    since = today - datetime.timedelta(days=364)
    rows = (
        Activity.objects.filter(
            enrolment__program=program, status="done", scheduled_start__date__gte=since
        )
        .values("module__code", "module__channel")
        .annotate(n=Count("pk"))
    )
    done = dict.fromkeys(SERVICE_CATEGORIES, 0)
    for row in rows:
        done[service_category(row["module__code"], row["module__channel"])] += row["n"]
    contract = analytics_settings_for(program).contract_volumes or {}
    return done, {key: int(value) for key, value in contract.items() if key in done}


def activity_punctuality(program: Program) -> tuple[int, int]:
    """Done activities completed within their window (plus a short grace) and those after it."""
    counts = Activity.objects.filter(
        enrolment__program=program, status="done", completed_at__isnull=False
    ).aggregate(
        on_time=Count("pk", filter=Q(completed_at__lte=F("scheduled_end") + ON_TIME_GRACE)),
        total=Count("pk"),
    )
    return counts["on_time"], counts["total"] - counts["on_time"]


def adverse_events_by_seriousness(program: Program) -> dict[str, int]:
    rows = AdverseEvent.objects.filter(enrolment__program=program).values("seriousness")
    counts = dict.fromkeys(AdverseEvent.Seriousness.values, 0)
    for row in rows.annotate(n=Count("pk")):
        counts[row["seriousness"]] = row["n"]
    return counts


def regions(program: Program) -> dict[str, int]:
    """Enrolments of every status by the patient's territory (the funnel's population)."""
    rows = (
        program.enrolments.values("patient__territory")
        .annotate(n=Count("pk"))
        .order_by("patient__territory")
    )
    return {(row["patient__territory"] or "—"): row["n"] for row in rows}


def program_kpis(program: Program, *, today: datetime.date | None = None) -> ProgramKpis:
    """Every KPI of the client dashboard for one program, as raw counts."""
    today = today or timezone.localdate()
    bins, window = pdc_distribution(program, today=today)
    done, contract = service_volumes(program, today=today)
    on_time, late = activity_punctuality(program)
    return ProgramKpis(
        program=program,
        today=today,
        statuses=enrolment_statuses(program),
        new_by_month=new_enrolments_by_month(program, today=today),
        pdc_bins=bins,
        pdc_window=window,
        pdc_trend=pdc_trend(program, today=today),
        services_done=done,
        services_contract=contract,
        activities_on_time=on_time,
        activities_late=late,
        adverse_events=adverse_events_by_seriousness(program),
        regions=regions(program),
    )
