"""Snapshots, tasks, risk clustering, KPIs and charts of the analytics package."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from psp_crm.analytics import risk
from psp_crm.analytics.charts import chart_svg
from psp_crm.analytics.kpis import month_starts, program_kpis
from psp_crm.analytics.snapshots import low_pdc_enrolments, refresh_adherence_snapshots
from psp_crm.models import (
    AdherenceSnapshot,
    Enrolment,
    Program,
    ProgramAnalyticsSettings,
    RiskModelVersion,
)
from psp_crm.selectors.programs import dashboard_from_kpis
from psp_crm.tasks_analytics import (
    recompute_adherence_nightly,
    refresh_enrolment_adherence,
    retrain_risk_models,
)
from tests.psp_crm.analytics.test_adherence import at, dose, enrolment

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 15)


def test_snapshots_upsert_per_month_and_flag_two_low_periods():
    low = enrolment(start_date=dt.date(2026, 1, 1), therapy_start_date=dt.date(2026, 1, 1))
    good = enrolment(start_date=dt.date(2026, 1, 1), therapy_start_date=dt.date(2026, 1, 1))
    for day in range(1, 29):
        dose(good, dt.date(2026, 2, day))
        dose(good, dt.date(2026, 3, min(day, 15)))
    dose(low, dt.date(2026, 2, 3))
    written = refresh_adherence_snapshots(enrolment_ids=[low.pk, good.pk], months=2, today=TODAY)
    assert written == 4
    march = AdherenceSnapshot.objects.get(enrolment=good, period_start=dt.date(2026, 3, 1))
    assert march.period_end == TODAY
    assert march.days_observed == 15
    assert march.pdc == pytest.approx(1.0)
    # A second run updates in place.
    assert refresh_adherence_snapshots(enrolment_ids=[good.pk], months=2, today=TODAY) == 2
    assert AdherenceSnapshot.objects.filter(enrolment=good).count() == 2
    assert low_pdc_enrolments([low.pk, good.pk], periods=2) == {low.pk}


def test_tasks_run_in_process():
    e = enrolment(start_date=dt.date(2026, 3, 1), therapy_start_date=dt.date(2026, 3, 1))
    dose(e, dt.date(2026, 3, 2))
    assert refresh_enrolment_adherence.enqueue([e.pk], TODAY.isoformat()).return_value == 1
    assert recompute_adherence_nightly.enqueue(TODAY.isoformat(), 1).return_value >= 1


def test_month_starts():
    assert month_starts(dt.date(2026, 2, 10), 3) == [
        dt.date(2025, 12, 1),
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
    ]


def test_risk_features_exclude_identity():
    assert not set(risk.FEATURES) & risk.IDENTITY_FIELDS


def test_risk_model_trains_versions_and_applies_only_mapped_segments():
    program = Program.objects.get(code="MS-ADHERE")
    first = risk.train_risk_model(program=program, clusters=2)
    assert first is not None and first.version == 1
    assert len(first.profiles) == 2
    assert all(p["words"].endswith(".") for p in first.profiles)
    second = risk.train_risk_model(program=program, clusters=2)
    assert second.version == 2
    first.refresh_from_db()
    assert not first.is_active and second.is_active
    before = dict(program.enrolments.values_list("pk", "risk_profile"))
    assert risk.apply_risk_segments(second) == 0  # no mapping: nothing written
    assert dict(program.enrolments.values_list("pk", "risk_profile")) == before
    ProgramAnalyticsSettings.objects.create(
        program=program, risk_segments={"0": "high", "1": "high"}
    )
    risk.apply_risk_segments(second)
    open_ones = program.enrolments.filter(status__in=Enrolment.OPEN_STATUSES)
    assert set(open_ones.values_list("risk_profile", flat=True)) == {"high"}


def test_retrain_task_versions_every_active_program():
    versions = retrain_risk_models.enqueue(None).return_value
    assert RiskModelVersion.objects.filter(pk__in=versions).count() == len(versions)


def test_program_kpis_and_charts_render_offline_svg():
    program = Program.objects.get(code="MS-ADHERE")
    kpis = program_kpis(program)
    assert sum(kpis.statuses.values()) == program.enrolments.count()
    assert len(kpis.new_by_month) == 12 and len(kpis.pdc_trend) == 6
    dashboard = dashboard_from_kpis(kpis, min_cell=5)
    for table in dashboard.tables:
        svg = str(chart_svg(table))
        if table.chart:
            assert svg.startswith("<svg") and 'role="img"' in svg
            assert "<script" not in svg and "http://pygal" not in svg
        else:
            assert svg == ""


def test_kpis_with_a_known_small_program(settings):
    program = Program.objects.get(code="RA-HOME")
    e = Enrolment.objects.filter(program=program, status="active").first()
    e.doses_per_week = Decimal("7")
    e.save()
    kpis = program_kpis(program, today=timezone.localdate())
    assert sum(kpis.pdc_bins.values()) <= program.enrolments.count()
    assert at(dt.date(2026, 1, 1)).tzinfo is not None


def test_pdc_trend_from_snapshots_matches_the_live_computation():
    from psp_crm.analytics.kpis import pdc_trend

    program = Program.objects.get(code="MS-ADHERE")
    today = timezone.localdate()
    live = pdc_trend(program, today=today)
    ids = list(program.enrolments.values_list("pk", flat=True))
    refresh_adherence_snapshots(enrolment_ids=ids, months=6, today=today)
    assert pdc_trend(program, today=today) == live


def test_refresh_is_queued_after_commit(django_capture_on_commit_callbacks):
    from psp_crm.tasks_analytics import refresh_adherence_on_commit

    e = enrolment(start_date=timezone.localdate(), therapy_start_date=timezone.localdate())
    dose(e, timezone.localdate())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        refresh_adherence_on_commit([e.pk, e.pk])
    assert len(callbacks) == 1
    assert not AdherenceSnapshot.objects.filter(enrolment=e).exists()
    callbacks[0]()
    assert AdherenceSnapshot.objects.filter(enrolment=e).exists()


def test_analytics_models_say_what_they_are():
    program = Program.objects.get(code="MS-ADHERE")
    settings_row = ProgramAnalyticsSettings.objects.create(program=program)
    assert str(settings_row) == "MS-ADHERE: k=5"
    e = enrolment(start_date=TODAY, therapy_start_date=TODAY)
    snapshot = AdherenceSnapshot.objects.create(
        enrolment=e, period_start=TODAY.replace(day=1), period_end=TODAY, pdc=0.5
    )
    assert "2026-03" in str(snapshot) and "0.5" in str(snapshot)
    version = RiskModelVersion.objects.create(program=program, version=7)
    assert str(version) == "Risk model v7 (MS-ADHERE)"
