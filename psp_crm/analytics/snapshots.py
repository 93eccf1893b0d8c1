"""Adherence snapshots: monthly measures per enrolment, stored so lists and trends read one table.

Refreshed incrementally for the enrolments a write touched (``refresh_enrolment_adherence`` task,
queued after commit by the diary and delivery services) and for everyone nightly. Each refresh
runs two set-based queries per month, whatever the number of enrolments, and one upsert.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.utils import timezone

from ..models import AdherenceSnapshot, Enrolment
from .adherence import coverage_for_enrolments, dose_timing_for_enrolments
from .kpis import month_end, month_starts

UPDATE_FIELDS = [
    "period_end",
    "days_observed",
    "pdc",
    "mpr",
    "dose_adherence",
    "doses_expected",
    "doses_on_time",
    "doses_late",
    "doses_missed",
    "computed_at",
]


def refresh_adherence_snapshots(
    *,
    enrolment_ids: Iterable[int] | None = None,
    months: int = 2,
    today: datetime.date | None = None,
) -> int:
    """Recompute the last ``months`` calendar months (the current one to date); rows written."""
    today = today or timezone.localdate()
    if enrolment_ids is None:
        enrolment_ids = Enrolment.objects.exclude(status__in=("referred", "consented")).values_list(
            "pk", flat=True
        )
    ids = list(enrolment_ids)
    if not ids:
        return 0
    now = timezone.now()
    rows: list[AdherenceSnapshot] = []
    for first in month_starts(today, months):
        last = min(month_end(first), today)
        coverage = coverage_for_enrolments(ids, start=first, end=last)
        timing = dose_timing_for_enrolments(ids, start=first, end=last)
        for eid, cov in coverage.items():
            if cov.days <= 0:
                continue
            t = timing.get(eid)
            rows.append(
                AdherenceSnapshot(
                    enrolment_id=eid,
                    period_start=first,
                    period_end=last,
                    days_observed=cov.days,
                    pdc=cov.pdc,
                    mpr=cov.mpr,
                    dose_adherence=t.adherence if t else None,
                    doses_expected=t.expected if t else None,
                    doses_on_time=t.on_time if t else 0,
                    doses_late=t.late if t else 0,
                    doses_missed=t.missed if t else 0,
                    computed_at=now,
                )
            )
    AdherenceSnapshot.objects.bulk_create(
        rows,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["enrolment", "period_start"],
        update_fields=UPDATE_FIELDS,
    )
    return len(rows)


def low_pdc_enrolments(
    enrolment_ids: Iterable[int], *, periods: int = 2, threshold: float = 0.8
) -> set[int]:
    """Enrolments whose last ``periods`` stored monthly PDCs were all below ``threshold``."""
    latest: dict[int, list[float | None]] = {}
    for eid, pdc in (
        AdherenceSnapshot.objects.filter(enrolment_id__in=list(enrolment_ids))
        .order_by("enrolment_id", "-period_start")
        .values_list("enrolment_id", "pdc")
    ):
        latest.setdefault(eid, [])
        if len(latest[eid]) < periods:
            latest[eid].append(pdc)
    return {
        eid
        for eid, values in latest.items()
        if len(values) == periods and all(v is not None and v < threshold for v in values)
    }
