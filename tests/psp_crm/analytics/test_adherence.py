"""Known-answer tests for dose adherence, PDC, MPR and persistence on hand-computed cases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from psp_crm.analytics.adherence import (
    coverage_for_enrolments,
    dose_adherence_for_enrolments,
    dose_timing_for_enrolments,
    mpr_for_enrolments,
    pdc_for_enrolments,
    persistence_for_enrolments,
)
from psp_crm.models import ServiceModule
from tests.factories import ActivityFactory, DiaryEntryFactory, EnrolmentFactory

pytestmark = pytest.mark.django_db
ROME = ZoneInfo("Europe/Rome")
JAN1 = dt.date(2026, 1, 1)
JAN31 = dt.date(2026, 1, 31)


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=ROME)


def enrolment(**kwargs):
    values = {
        "status": "active",
        "start_date": dt.date(2025, 12, 1),
        "therapy_start_date": dt.date(2025, 12, 1),
        "doses_per_week": Decimal("7"),
    }
    values.update(kwargs)
    return EnrolmentFactory(**values)


def dose(e, day: dt.date, status: str = "taken", *, source: str = "app", hour: int = 9):
    return DiaryEntryFactory(
        enrolment=e, occurred_at=at(day, hour), dose_status=status, source=source
    )


def delivery(e, day: dt.date, *, days_supplied: int | None = None, status: str = "done"):
    module, _ = ServiceModule.objects.get_or_create(
        code="drug-delivery", defaults={"name": "Drug delivery", "channel": "logistics"}
    )
    outcome = {} if days_supplied is None else {"days_supplied": days_supplied}
    start = at(day, 10)
    return ActivityFactory(
        enrolment=e,
        module=module,
        status=status,
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(hours=1),
        completed_at=start + dt.timedelta(minutes=30) if status == "done" else None,
        outcome=outcome,
    )


def reads(queries: CaptureQueriesContext) -> list[str]:
    """Statements that read a table (PostgreSQL adds a savepoint and ``SET LOCAL`` around)."""
    return [q["sql"] for q in queries.captured_queries if "psp_crm_" in q["sql"]]


def day(n: int) -> dt.date:
    return JAN1 + dt.timedelta(days=n - 1)


# --- dose adherence -----------------------------------------------------------------------


def test_dose_adherence_daily_doses_with_late_and_missed():
    e = enrolment()
    for n in range(1, 21):  # 20 doses on 1..20 Jan: 16 taken, 4 late
        dose(e, day(n), "late" if n % 5 == 0 else "taken")
    for n in (21, 22):
        dose(e, day(n), "missed")
    timing = dose_timing_for_enrolments([e.pk], start=JAN1, end=JAN31)[e.pk]
    assert (timing.on_time, timing.late, timing.missed) == (16, 4, 2)
    assert timing.expected == pytest.approx(31.0)
    assert timing.adherence == pytest.approx(20 / 31)
    assert timing.on_time_rate == pytest.approx(16 / 20)
    assert timing.unrecorded == pytest.approx(9.0)


def test_dose_adherence_weekly_capped_at_one_and_outside_period_ignored():
    e = enrolment(doses_per_week=Decimal("1"))
    for n in (1, 2, 8, 15, 22, 29):  # six doses where 31/7 = 4.43 are expected
        dose(e, day(n))
    dose(e, dt.date(2025, 12, 31))  # before the period
    dose(e, dt.date(2026, 2, 1))  # after the period
    assert dose_adherence_for_enrolments([e.pk], start=JAN1, end=JAN31) == {e.pk: 1.0}


def test_dose_adherence_enrolment_mid_period_and_none_when_nothing_expected():
    mid = enrolment(start_date=day(11), therapy_start_date=day(11))  # 21 days in January
    for n in range(11, 25):  # 14 doses
        dose(mid, day(n))
    dose(mid, day(5))  # before therapy start: not counted
    referred = enrolment(status="referred", start_date=None, therapy_start_date=None)
    no_rate = enrolment(doses_per_week=None)
    result = dose_adherence_for_enrolments([mid.pk, referred.pk, no_rate.pk], start=JAN1, end=JAN31)
    assert result[mid.pk] == pytest.approx(14 / 21)
    assert result[referred.pk] is None
    assert result[no_rate.pk] is None


def test_dose_adherence_suspension_stops_expectation_and_superseded_entries_ignored():
    e = enrolment(status="suspended", status_changed_at=at(day(11), 12))  # days 1..10 observed
    for n in range(1, 6):
        dose(e, day(n))
    wrong = dose(e, day(6), "missed")
    DiaryEntryFactory(enrolment=e, occurred_at=at(day(6)), dose_status="taken", supersedes=wrong)
    timing = dose_timing_for_enrolments([e.pk], start=JAN1, end=JAN31)[e.pk]
    assert timing.expected == pytest.approx(10.0)
    assert (timing.on_time, timing.missed) == (6, 0)
    assert timing.adherence == pytest.approx(0.6)


def test_dose_adherence_one_query_for_many_enrolments():
    enrolments = [enrolment() for _ in range(5)]
    for e in enrolments:
        dose(e, day(3))
    with CaptureQueriesContext(connection) as queries:
        result = dose_adherence_for_enrolments([e.pk for e in enrolments], start=JAN1, end=JAN31)
    assert len(reads(queries)) == 1
    assert set(result) == {e.pk for e in enrolments}


def test_local_day_boundary_uses_rome_time():
    e = enrolment()
    dose(e, dt.date(2026, 2, 1), hour=0)  # 00:30 Rome on 1 Feb is 31 Jan in UTC
    result = dose_timing_for_enrolments([e.pk], start=JAN1, end=JAN31)[e.pk]
    assert result.on_time == 0


# --- PDC ------------------------------------------------------------------------------------


def test_pdc_from_deliveries_with_gap():
    e = enrolment()
    delivery(e, day(1), days_supplied=10)  # covers 1..10
    delivery(e, day(21), days_supplied=5)  # covers 21..25: gap 11..20 and 26..31
    cov = coverage_for_enrolments([e.pk], start=JAN1, end=JAN31)[e.pk]
    assert cov.source == "deliveries"
    assert cov.days == 31
    assert cov.covered == pytest.approx(15)
    assert cov.pdc == pytest.approx(15 / 31)
    assert cov.mpr == pytest.approx(15 / 31)


def test_pdc_overlapping_supplies_carry_forward():
    e = enrolment()
    delivery(e, day(1), days_supplied=10)  # 1..10
    delivery(e, day(5), days_supplied=10)  # early refill: starts on 11, covers 11..20
    delivery(e, day(25), days_supplied=30)  # 25..31 in the period (7 days)
    cov = coverage_for_enrolments([e.pk], start=JAN1, end=JAN31)[e.pk]
    assert cov.covered == pytest.approx(27)
    assert cov.pdc == pytest.approx(27 / 31)
    assert cov.mpr == pytest.approx(50 / 31)  # MPR counts supply, not capped
    assert cov.deliveries == 3


def test_pdc_supply_from_before_the_period_and_default_days(settings):
    settings.PSP_ANALYTICS_DAYS_PER_DELIVERY = 28
    e = enrolment()
    delivery(e, dt.date(2025, 12, 20))  # 28 days: 20 Dec .. 16 Jan -> 16 days in January
    delivery(e, day(10), status="missed")  # not done: no supply
    cov = coverage_for_enrolments([e.pk], start=JAN1, end=JAN31)[e.pk]
    assert cov.covered == pytest.approx(16)
    assert cov.deliveries == 0
    assert cov.mpr == pytest.approx(0)


def test_pdc_capped_at_one_and_mid_period_enrolment():
    e = enrolment(start_date=day(17), therapy_start_date=day(17))  # 15 days observed
    delivery(e, day(17), days_supplied=90)
    result = pdc_for_enrolments([e.pk], start=JAN1, end=JAN31)
    assert result == {e.pk: 1.0}
    assert coverage_for_enrolments([e.pk], start=JAN1, end=JAN31)[e.pk].days == 15


def test_pdc_from_doses_when_no_delivery_data():
    weekly = enrolment(doses_per_week=Decimal("1"))
    for n in (1, 8, 22):  # each covers 7 days: 1..14 and 22..28 -> 21 days
        dose(weekly, day(n))
    dose(weekly, day(29), "missed")  # a missed dose supplies nothing
    cov = coverage_for_enrolments([weekly.pk], start=JAN1, end=JAN31)[weekly.pk]
    assert cov.source == "doses"
    assert cov.covered == pytest.approx(21)
    assert cov.mpr is None
    assert mpr_for_enrolments([weekly.pk], start=JAN1, end=JAN31) == {weekly.pk: None}


def test_pdc_suspension_ends_the_window():
    e = enrolment(status="suspended", status_changed_at=at(day(21), 12))  # days 1..20
    delivery(e, day(1), days_supplied=15)
    cov = coverage_for_enrolments([e.pk], start=JAN1, end=JAN31)[e.pk]
    assert cov.days == 20
    assert cov.pdc == pytest.approx(0.75)


def test_pdc_none_without_therapy_and_zero_without_supply():
    referred = enrolment(status="referred", start_date=None, therapy_start_date=None)
    empty = enrolment()
    result = pdc_for_enrolments([referred.pk, empty.pk], start=JAN1, end=JAN31)
    assert result == {referred.pk: None, empty.pk: 0.0}


def test_pdc_one_query_for_many_enrolments():
    enrolments = [enrolment() for _ in range(4)]
    delivery(enrolments[0], day(1), days_supplied=31)
    dose(enrolments[1], day(1))
    with CaptureQueriesContext(connection) as queries:
        result = pdc_for_enrolments([e.pk for e in enrolments], start=JAN1, end=JAN31)
    assert len(reads(queries)) == 1
    assert result[enrolments[0].pk] == 1.0
    assert result[enrolments[1].pk] == pytest.approx(1 / 31)


# --- persistence ----------------------------------------------------------------------------


def test_persistence_gap_longer_than_allowed():
    e = enrolment(start_date=JAN1, therapy_start_date=JAN1)
    delivery(e, day(1), days_supplied=28)  # covers 1..28 (supply ends on day 29)
    delivery(e, day(29 + 61), days_supplied=28)  # 61 days without supply: over a 60-day gap
    result = persistence_for_enrolments([e.pk], as_of=dt.date(2026, 6, 30), allowed_gap_days=60)
    p = result[e.pk]
    assert p.reason == "gap"
    assert p.discontinued_on == day(29)
    assert p.days == 28
    assert not p.persistent


def test_persistence_gap_within_allowance_and_still_persistent():
    e = enrolment(start_date=JAN1, therapy_start_date=JAN1)
    delivery(e, day(1), days_supplied=28)
    delivery(e, day(29 + 30), days_supplied=60)  # 30-day gap: allowed; covers to day 118
    as_of = day(118)
    p = persistence_for_enrolments([e.pk], as_of=as_of, allowed_gap_days=60)[e.pk]
    assert p.persistent
    assert p.days == 118


def test_persistence_trailing_gap_and_withdrawal():
    lapsed = enrolment(start_date=JAN1, therapy_start_date=JAN1)
    delivery(lapsed, day(1), days_supplied=30)  # ends on day 31, then nothing until as_of
    withdrawn = enrolment(
        status="withdrawn",
        start_date=JAN1,
        therapy_start_date=JAN1,
        end_date=day(45),
        status_changed_at=at(day(45)),
    )
    delivery(withdrawn, day(1), days_supplied=90)
    as_of = day(31 + 61)
    result = persistence_for_enrolments([lapsed.pk, withdrawn.pk], as_of=as_of, allowed_gap_days=60)
    assert result[lapsed.pk].reason == "gap"
    assert result[lapsed.pk].days == 30
    assert result[withdrawn.pk].reason == "withdrawn"
    assert result[withdrawn.pk].days == 45
    assert result[withdrawn.pk].discontinued_on == day(46)


def test_persistence_not_started():
    e = enrolment(status="consented", therapy_start_date=None)
    p = persistence_for_enrolments([e.pk], as_of=JAN31)[e.pk]
    assert p.days is None
    assert not p.persistent
