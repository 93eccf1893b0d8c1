"""Adherence measures per enrolment and period, each computed in one SQL query for many enrolments.

Definitions (see ``docs/analytics.md``):

* **Observation window** of an enrolment in a period ``[start, end]`` (both inclusive): from the
  later of ``start`` and the therapy start (``therapy_start_date``, else ``start_date``) to the
  earlier of ``end`` and the day the enrolment stopped (``end_date`` for withdrawn/completed
  enrolments, the day of ``status_changed_at`` for a suspension or when no end date was set).
  Referred and consented enrolments have not started therapy: nothing is expected of them.
* **Dose adherence**: doses logged as taken or late (diary, app, device or nurse records) in the
  window ÷ doses expected (``doses_per_week × days / 7``), capped at 1.
* **PDC**: days covered by supply in the window ÷ days in the window, capped at 1. Supply comes
  from done ``drug-delivery`` activities when the enrolment has any in the period or the
  look-back before it (each covers ``outcome.days_supplied`` days, default
  ``PSP_ANALYTICS_DAYS_PER_DELIVERY``), otherwise from taken/late dose records (each covers
  ``7 / doses_per_week`` days). A supply that arrives before
  the previous one ran out starts when the previous one runs out (carry-forward), so early refills
  are not lost and overlapping days are not counted twice.
* **MPR**: days supplied by deliveries completed in the window ÷ days in the window (not capped).
* **Persistence**: days from therapy start to discontinuation — withdrawal, or the end of the last
  supply before a gap longer than the allowed gap.

Days are calendar days in ``settings.TIME_ZONE``. Corrected diary entries (superseded by a later
version) are not counted.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from ..models import Activity, DiaryEntry, Enrolment, ServiceModule

PDC_THRESHOLD = 0.8
DELIVERY_MODULE = "drug-delivery"
TAKEN_STATUSES = ("taken", "late")
DOSE_SOURCES = ("web", "app", "device", "nurse")
EPOCH = datetime.date(1970, 1, 1)
SQLITE_MAX_IDS = 5000
# Corrected entries are left out. ``NOT IN`` over the few superseded ids (a hashed subplan on the
# ``supersedes`` index) measured ~30% faster than ``NOT EXISTS`` on 1M dose records.
_NOT_SUPERSEDED = (
    "d.id NOT IN (SELECT x.supersedes_id FROM {d} x WHERE x.supersedes_id IS NOT NULL)"
)
_TOKEN = re.compile("\x00(\\d+)\x00")


def day_number(day: datetime.date) -> int:
    """Days since 1970-01-01 (the unit every SQL below computes in)."""
    return (day - EPOCH).days


def days_per_delivery() -> int:
    return int(getattr(settings, "PSP_ANALYTICS_DAYS_PER_DELIVERY", 28))


def default_allowed_gap() -> int:
    return int(getattr(settings, "PSP_ANALYTICS_ALLOWED_GAP_DAYS", 60))


class _Sql:
    """Builds one vendor-specific query, collecting positional parameters in writing order."""

    def __init__(self) -> None:
        self.values: list[object] = []
        self.pg = connection.vendor == "postgresql"

    def p(self, value: object) -> str:
        """A placeholder token; fragments may be built in any order and nested."""
        self.values.append(value)
        return f"\x00{len(self.values) - 1}\x00"

    def finish(self, query: str) -> tuple[str, list[object]]:
        """The query with ``%s`` placeholders and its parameters in text order."""
        params: list[object] = []

        def placeholder(match: re.Match[str]) -> str:
            params.append(self.values[int(match.group(1))])
            return "%s"

        return _TOKEN.sub(placeholder, query), params

    def day_of_ts(self, column: str) -> str:
        """Local calendar day number of an aware timestamp column."""
        tz = settings.TIME_ZONE
        if self.pg:
            return f"(({column} AT TIME ZONE {self.p(tz)})::date - DATE '1970-01-01')"
        return (
            f"(CAST(julianday(django_datetime_cast_date({column}, {self.p(tz)}, 'UTC'))"
            " AS INTEGER) - 2440587)"
        )

    def day_of_date(self, column: str) -> str:
        if self.pg:
            return f"({column} - DATE '1970-01-01')"
        return f"(CAST(julianday({column}) AS INTEGER) - 2440587)"

    def greatest(self, *args: str) -> str:
        return f"{'GREATEST' if self.pg else 'MAX'}({', '.join(args)})"

    def least(self, *args: str) -> str:
        return f"{'LEAST' if self.pg else 'MIN'}({', '.join(args)})"

    def json_number(self, column: str, key: str) -> str:
        if self.pg:
            return f"NULLIF({column}->>{self.p(key)}, '')::numeric"
        return f"json_extract({column}, {self.p('$.' + key)})"

    def in_ids(self, column: str, ids: Sequence[int]) -> str:
        if self.pg:
            return f"{column} = ANY({self.p(list(ids))})"
        return f"{column} IN ({', '.join(self.p(i) for i in ids)})"

    def in_values(self, column: str, values: Iterable[str]) -> str:
        return f"{column} IN ({', '.join(self.p(v) for v in values)})"


def _windows_cte(sql: _Sql, ids: Sequence[int], start: datetime.date, end: datetime.date) -> str:
    """``win(eid, lo, hi, dpw, t0)``: each enrolment's observation window, ``[lo, hi)`` day numbers.

    ``hi <= lo`` (or NULL) means nothing is observable in the period.
    """
    e = Enrolment._meta.db_table
    t0 = sql.day_of_date("COALESCE(therapy_start_date, start_date)")
    stopped = (
        f"CASE WHEN status IN ('withdrawn', 'completed') AND end_date IS NOT NULL"
        f" THEN {sql.day_of_date('end_date')} + 1"
        f" WHEN status IN ('suspended', 'withdrawn', 'completed')"
        f" THEN {sql.day_of_ts('status_changed_at')}"
        f" ELSE NULL END"
    )
    # PostgreSQL's GREATEST/LEAST skip NULLs where SQLite's MAX/MIN return NULL: guard both.
    lo = (
        "CASE WHEN COALESCE(therapy_start_date, start_date) IS NULL THEN NULL"
        f" ELSE {sql.greatest(sql.p(day_number(start)), t0)} END"
    )
    hi_period = sql.p(day_number(end) + 1)
    hi = (
        "CASE WHEN status IN ('referred', 'consented') THEN NULL"
        f" ELSE {sql.least(hi_period, f'COALESCE({stopped}, {sql.p(day_number(end) + 1)})')} END"
    )
    t0_again = sql.day_of_date("COALESCE(therapy_start_date, start_date)")
    where = sql.in_ids("id", ids)
    return (
        f"win AS (SELECT id AS eid, {lo} AS lo, {hi} AS hi, doses_per_week AS dpw,"
        f" {t0_again} AS t0 FROM {e} WHERE {where})"
    )


def _fetch(sql: _Sql, query: str) -> list[tuple]:
    """Run one analytics query. On PostgreSQL JIT compilation is switched off for it (it cost ~2 s
    on 1M rows, more than the query) and the sort memory raised, both for this transaction only.
    """
    statement, params = sql.finish(query)
    if not sql.pg:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'")
        cursor.execute(statement, params)
        return cursor.fetchall()


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    """PostgreSQL takes every id as one array parameter; SQLite limits the parameter count."""
    if connection.vendor == "postgresql":
        yield ids
        return
    for i in range(0, len(ids), SQLITE_MAX_IDS):
        yield ids[i : i + SQLITE_MAX_IDS]


def _unique(ids: Iterable[int]) -> list[int]:
    return sorted({int(i) for i in ids})


# --- dose adherence ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DoseTiming:
    """Dose records of one enrolment in a period, against what was expected."""

    expected: float | None
    on_time: int
    late: int
    missed: int

    @property
    def adherence(self) -> float | None:
        """Doses taken (on time or late) ÷ expected doses, capped at 1; None if none expected."""
        if not self.expected:
            return None
        return min(1.0, (self.on_time + self.late) / self.expected)

    @property
    def on_time_rate(self) -> float | None:
        """Doses taken on time ÷ doses recorded taken (on time or late)."""
        taken = self.on_time + self.late
        return self.on_time / taken if taken else None

    @property
    def unrecorded(self) -> float | None:
        """Expected doses with no record at all (neither taken, late nor missed)."""
        if self.expected is None:
            return None
        return max(0.0, self.expected - self.on_time - self.late - self.missed)


def dose_timing_for_enrolments(
    enrolment_ids: Iterable[int], *, start: datetime.date, end: datetime.date
) -> dict[int, DoseTiming]:
    """On-time, late and missed dose counts and expected doses per enrolment (one query)."""
    result: dict[int, DoseTiming] = {}
    for chunk in _chunks(_unique(enrolment_ids)):
        sql = _Sql()
        win = _windows_cte(sql, chunk, start, end)
        d = DiaryEntry._meta.db_table
        day = sql.day_of_ts("d.occurred_at")
        statuses = sql.in_values("d.dose_status", ("taken", "late", "missed"))
        sources = sql.in_values("d.source", DOSE_SOURCES)
        low, high = _bounds(start, end)
        period = f"d.occurred_at >= {sql.p(low)} AND d.occurred_at < {sql.p(high)}"
        query = (
            f"WITH {win}, doses AS ("
            f" SELECT d.enrolment_id AS eid, d.dose_status AS st, {day} AS dn"
            f" FROM {d} d JOIN win ON win.eid = d.enrolment_id"
            f" WHERE d.kind = 'dose' AND {statuses} AND {sources} AND {period}"
            f" AND {_NOT_SUPERSEDED.format(d=d)})"
            " SELECT win.eid, win.lo, win.hi, win.dpw,"
            " COUNT(CASE WHEN doses.st = 'taken' THEN 1 END),"
            " COUNT(CASE WHEN doses.st = 'late' THEN 1 END),"
            " COUNT(CASE WHEN doses.st = 'missed' THEN 1 END)"
            " FROM win LEFT JOIN doses ON doses.eid = win.eid"
            " AND doses.dn >= win.lo AND doses.dn < win.hi"
            " GROUP BY win.eid, win.lo, win.hi, win.dpw"
        )
        for eid, lo, hi, dpw, on_time, late, missed in _fetch(sql, query):
            expected = None
            if lo is not None and hi is not None and hi > lo and dpw:
                expected = float(dpw) * (hi - lo) / 7
            result[eid] = DoseTiming(expected, on_time, late, missed)
    return result


def dose_adherence_for_enrolments(
    enrolment_ids: list[int], *, start: datetime.date, end: datetime.date
) -> dict[int, float | None]:
    """Share of expected doses in ``[start, end]`` logged as taken or late, per enrolment.

    One SQL query for all ids; ``None`` when no dose is expected (no therapy in the period, or no
    ``doses_per_week``). Ids that do not exist are absent from the result.
    """
    timings = dose_timing_for_enrolments(enrolment_ids, start=start, end=end)
    return {eid: timing.adherence for eid, timing in timings.items()}


# --- supply: PDC and MPR ------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """Supply coverage of one enrolment in a period."""

    days: int  # days in the observation window (0: nothing observable)
    covered: float  # days covered by supply (carry-forward applied)
    supplied_by_deliveries: float  # days supplied by deliveries completed in the window
    deliveries: int  # deliveries completed in the window
    source: str  # "deliveries", "doses" or "" (no supply record at all)

    @property
    def pdc(self) -> float | None:
        if self.days <= 0:
            return None
        return min(1.0, self.covered / self.days)

    @property
    def mpr(self) -> float | None:
        if self.days <= 0 or self.source != "deliveries":
            return None
        return self.supplied_by_deliveries / self.days


def _bounds(first: datetime.date | None, last: datetime.date) -> tuple[object, object]:
    """Generous UTC timestamps around local days, so the indexes on time columns can be used."""
    utc = datetime.UTC
    low = (
        datetime.datetime.combine(first - datetime.timedelta(days=1), datetime.time(), tzinfo=utc)
        if first
        else None
    )
    high = datetime.datetime.combine(last + datetime.timedelta(days=2), datetime.time(), tzinfo=utc)
    return low, high


def _supply_ctes(
    sql: _Sql,
    *,
    before: int,
    lookback: int,
    delivery_days: int,
    since: datetime.date | None = None,
) -> str:
    """``sup(eid, s, d, src)`` supply events, ``stk(eid, s, d, stop, src)`` after carry-forward.

    Carry-forward in closed form: with ``C_n`` the running sum of supplied days in fill order, the
    supply of fill ``n`` runs out at ``C_n + max_{k<=n}(s_k - C_{k-1})``; it covers
    ``[stop_n - d_n, stop_n)``, and those intervals never overlap.
    """
    a = Activity._meta.db_table
    m = ServiceModule._meta.db_table
    d = DiaryEntry._meta.db_table
    a_day = sql.day_of_ts("a.completed_at")
    supplied = f"COALESCE({sql.json_number('a.outcome', 'days_supplied')}, {sql.p(delivery_days)})"
    d_day = sql.day_of_ts("d.occurred_at")
    low, high = _bounds(since, EPOCH + datetime.timedelta(days=before))
    a_time = f" AND a.completed_at < {sql.p(high)}"
    d_time = f" AND d.occurred_at < {sql.p(high)}"
    if low is not None:
        a_time += f" AND a.completed_at >= {sql.p(low)}"
        d_time += f" AND d.occurred_at >= {sql.p(low)}"
    statuses = sql.in_values("d.dose_status", TAKEN_STATUSES)
    sources = sql.in_values("d.source", DOSE_SOURCES)
    lo_limit = f"win.lo - {sql.p(lookback)}"
    return (
        f"del AS (SELECT a.enrolment_id AS eid, {a_day} AS s, {supplied} AS d"
        f" FROM {a} a JOIN {m} m ON m.id = a.module_id JOIN win ON win.eid = a.enrolment_id"
        f" WHERE m.code = {sql.p(DELIVERY_MODULE)} AND a.status = 'done'"
        f" AND a.completed_at IS NOT NULL{a_time}),"
        f" dos AS (SELECT d.enrolment_id AS eid, {d_day} AS s, 7.0 / win.dpw AS d"
        f" FROM {d} d JOIN win ON win.eid = d.enrolment_id"
        f" WHERE d.kind = 'dose' AND {statuses} AND {sources} AND win.dpw > 0{d_time}"
        f" AND {_NOT_SUPERSEDED.format(d=d)}"
        " AND NOT EXISTS (SELECT 1 FROM del WHERE del.eid = d.enrolment_id)),"
        " sup AS (SELECT eid, s, d, 1 AS src FROM del UNION ALL SELECT eid, s, d, 0 FROM dos),"
        " cut AS (SELECT sup.eid, sup.s, sup.d, sup.src, win.lo, win.hi FROM sup"
        f" JOIN win ON win.eid = sup.eid WHERE sup.s < {sql.p(before)} AND sup.s >= {lo_limit}),"
        " cum AS (SELECT eid, s, d, src, lo, hi,"
        " SUM(d) OVER (PARTITION BY eid ORDER BY s, d ROWS UNBOUNDED PRECEDING) AS c FROM cut),"
        " stk AS (SELECT eid, s, d, src, lo, hi, c + MAX(s - (c - d)) OVER"
        " (PARTITION BY eid ORDER BY s, d ROWS UNBOUNDED PRECEDING) AS stop FROM cum)"
    )


def coverage_for_enrolments(
    enrolment_ids: Iterable[int],
    *,
    start: datetime.date,
    end: datetime.date,
    lookback_days: int = 180,
    delivery_days: int | None = None,
) -> dict[int, Coverage]:
    """Days in window, days covered, delivery supply per enrolment — one query for all ids.

    Supplies that began up to ``lookback_days`` before the window still cover days inside it.
    """
    result: dict[int, Coverage] = {}
    delivery_days = days_per_delivery() if delivery_days is None else delivery_days
    for chunk in _chunks(_unique(enrolment_ids)):
        sql = _Sql()
        win = _windows_cte(sql, chunk, start, end)
        sup = _supply_ctes(
            sql,
            before=day_number(end) + 1,
            lookback=lookback_days,
            delivery_days=delivery_days,
            since=start - datetime.timedelta(days=lookback_days),
        )
        overlap = sql.greatest(
            "0", f"{sql.least('stk.stop', 'stk.hi')} - {sql.greatest('stk.stop - stk.d', 'stk.lo')}"
        )
        query = (
            f"WITH {win}, {sup},"
            f" agg AS (SELECT eid, SUM({overlap}) AS covered,"
            " SUM(CASE WHEN src = 1 AND s >= lo AND s < hi THEN d ELSE 0 END) AS supplied,"
            " COUNT(CASE WHEN src = 1 AND s >= lo AND s < hi THEN 1 END) AS n_del,"
            " MAX(src) AS src FROM stk GROUP BY eid)"
            " SELECT win.eid, win.lo, win.hi, agg.covered, agg.supplied, agg.n_del, agg.src"
            " FROM win LEFT JOIN agg ON agg.eid = win.eid"
        )
        for eid, lo, hi, covered, supplied, n_del, src in _fetch(sql, query):
            days = hi - lo if lo is not None and hi is not None and hi > lo else 0
            source = {1: "deliveries", 0: "doses"}.get(src if src is None else int(src), "")
            result[eid] = Coverage(
                days=days,
                covered=float(covered or 0) if days else 0.0,
                supplied_by_deliveries=float(supplied or 0),
                deliveries=int(n_del or 0),
                source=source,
            )
    return result


def pdc_for_enrolments(
    enrolment_ids: list[int], *, start: datetime.date, end: datetime.date
) -> dict[int, float | None]:
    """Proportion of days covered in ``[start, end]`` per enrolment (one SQL query for all ids).

    ``None`` when the enrolment has no day of therapy in the period.
    """
    coverage = coverage_for_enrolments(enrolment_ids, start=start, end=end)
    return {eid: cov.pdc for eid, cov in coverage.items()}


def mpr_for_enrolments(
    enrolment_ids: list[int], *, start: datetime.date, end: datetime.date
) -> dict[int, float | None]:
    """Medication possession ratio from deliveries; ``None`` where there is no delivery data."""
    coverage = coverage_for_enrolments(enrolment_ids, start=start, end=end)
    return {eid: cov.mpr for eid, cov in coverage.items()}


# --- persistence ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Persistence:
    """How long an enrolment stayed on therapy up to ``as_of``."""

    days: int | None  # therapy start to discontinuation (or to as_of while persistent)
    discontinued_on: datetime.date | None
    reason: str  # "", "withdrawn" or "gap"

    @property
    def persistent(self) -> bool:
        return self.discontinued_on is None and self.days is not None


def persistence_for_enrolments(
    enrolment_ids: Iterable[int],
    *,
    as_of: datetime.date,
    allowed_gap_days: int | None = None,
    delivery_days: int | None = None,
) -> dict[int, Persistence]:
    """Days on therapy until withdrawal or a supply gap longer than the allowed gap.

    One query fetches every supply interval (carry-forward applied) in the enrolments' history;
    the gap scan then walks them in order.
    """
    gap = default_allowed_gap() if allowed_gap_days is None else allowed_gap_days
    delivery_days = days_per_delivery() if delivery_days is None else delivery_days
    horizon = day_number(as_of) + 1
    result: dict[int, Persistence] = {}
    for chunk in _chunks(_unique(enrolment_ids)):
        sql = _Sql()
        win = _windows_cte(sql, chunk, datetime.date(1970, 1, 2), as_of)
        sup = _supply_ctes(sql, before=horizon, lookback=0, delivery_days=delivery_days)
        e = Enrolment._meta.db_table
        query = (
            f"WITH {win}, {sup}"
            " SELECT win.eid, win.t0, win.hi, en.status, stk.stop - stk.d, stk.stop"
            f" FROM win JOIN {e} en ON en.id = win.eid"
            " LEFT JOIN stk ON stk.eid = win.eid ORDER BY win.eid, stk.stop"
        )
        rows: dict[int, list] = {}
        for eid, t0, hi, status, begin, stop in _fetch(sql, query):
            entry = rows.setdefault(eid, [t0, hi, status, []])
            if stop is not None:
                entry[3].append((float(begin), float(stop)))
        for eid, (t0, hi, status, intervals) in rows.items():
            result[eid] = _persistence(t0, hi, status, intervals, gap=gap, horizon=horizon)
    return result


def _persistence(
    t0: int | None,
    hi: int | None,
    status: str,
    intervals: list[tuple[float, float]],
    *,
    gap: int,
    horizon: int,
) -> Persistence:
    if t0 is None or status in ("referred", "consented") or t0 >= horizon:
        return Persistence(None, None, "")
    covered_until = float(t0)
    stop_day: float | None = None
    for begin, stop in intervals:
        if begin - covered_until > gap:
            stop_day = covered_until
            break
        covered_until = max(covered_until, stop)
    if stop_day is None and intervals and horizon - covered_until > gap:
        stop_day = covered_until
    reason = "gap" if stop_day is not None else ""
    if status == "withdrawn" and hi is not None and (stop_day is None or hi < stop_day):
        stop_day, reason = float(hi), "withdrawn"
    if stop_day is None:
        return Persistence(horizon - t0, None, "")
    stop = int(stop_day)
    return Persistence(stop - t0, EPOCH + datetime.timedelta(days=stop), reason)
