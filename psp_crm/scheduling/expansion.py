"""The occurrences of a pathway step, numbered like the demo seed: from 1 at the first date."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from dateutil.rrule import rrulestr

from .rules import normalize_rrule

# A step recurring daily for years is still bounded: never expand more than this.
MAX_OCCURRENCES = 2000


@lru_cache(maxsize=4096)
def _expand(
    rrule: str, first: dt.date, until: dt.date, limit: int | None
) -> tuple[tuple[int, dt.date], ...]:
    out: list[tuple[int, dt.date]] = []
    rule = rrulestr(normalize_rrule(rrule), dtstart=dt.datetime.combine(first, dt.time()))
    for k, when in enumerate(rule, start=1):
        if when.date() > until or (limit and k > limit) or k > MAX_OCCURRENCES:
            break
        out.append((k, when.date()))
    return tuple(out)


def occurrences(
    *,
    rrule: str,
    offset_days: int,
    occurrence_limit: int | None,
    end_after_days: int | None,
    anchor_date: dt.date,
    until: dt.date,
) -> tuple[tuple[int, dt.date], ...]:
    """(occurrence, day) pairs from the anchor up to ``until`` (callers drop the past)."""
    first = anchor_date + dt.timedelta(days=offset_days)
    if not rrule:
        return ((1, first),) if first <= until else ()
    if end_after_days:
        until = min(until, first + dt.timedelta(days=end_after_days))
    if until < first:
        return ()
    return _expand(rrule, first, until, occurrence_limit)


def step_occurrences(step, *, anchor_date: dt.date, until: dt.date):
    """Occurrences of a step not anchored on another step."""
    if step.on_request:
        return ()
    return occurrences(
        rrule=step.rrule,
        offset_days=step.offset_days,
        occurrence_limit=step.occurrence_limit,
        end_after_days=step.end_after_days,
        anchor_date=anchor_date,
        until=until,
    )


def next_working_day(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day
