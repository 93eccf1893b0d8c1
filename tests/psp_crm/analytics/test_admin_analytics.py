"""The provider admin's analytics pages: the watch list and the risk-model profiles."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from psp_crm.analytics import risk
from psp_crm.models import Program
from tests.factories import ProgramFactory
from tests.psp_crm.analytics.test_adherence import delivery, enrolment

pytestmark = pytest.mark.django_db
WATCH = "/admin/psp_crm/programanalyticssettings/watch-list/"


def test_watch_list_shows_low_pdc_patients_to_their_provider_only(client, demo_user):
    first = timezone.localdate().replace(day=1)
    two_months_ago = (first - dt.timedelta(days=1)).replace(day=1)
    two_months_ago = (two_months_ago - dt.timedelta(days=1)).replace(day=1)
    ms = Program.objects.get(code="MS-ADHERE")
    low = enrolment(program=ms, start_date=two_months_ago, therapy_start_date=two_months_ago)
    delivery(low, two_months_ago, days_supplied=5)
    other = enrolment(
        program=ProgramFactory(), start_date=two_months_ago, therapy_start_date=two_months_ago
    )
    client.force_login(demo_user("ops@curaplus.example"))
    response = client.get(WATCH)
    assert response.status_code == 200
    html = response.content.decode()
    assert low.patient.code in html
    assert other.patient.code not in html


def test_watch_list_needs_staff(client, demo_user):
    client.force_login(demo_user("medical@northwind.example"))
    assert client.get(WATCH).status_code in (302, 403)


def test_risk_model_change_page_shows_profiles_in_words(client, demo_user):
    version = risk.train_risk_model(program=Program.objects.get(code="MS-ADHERE"), clusters=2)
    client.force_login(demo_user("admin@curaplus.example"))
    response = client.get(f"/admin/psp_crm/riskmodelversion/{version.pk}/change/")
    assert response.status_code == 200
    assert "early dose adherence" in response.content.decode()


def test_staff_dashboard_shows_raw_counts_of_their_programs_only(client, demo_user):
    client.force_login(demo_user("ops@curaplus.example"))
    url = "/admin/psp_crm/programanalyticssettings/dashboard/{}/"
    response = client.get(url.format("MS-ADHERE"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="staff-dashboard"' in html
    assert 'data-testid="table-funnel"' in html
    assert "&lt;5" not in html  # provider staff see the real counts
    other = ProgramFactory()
    assert client.get(url.format(other.code)).status_code == 404


def test_staff_dashboard_is_not_for_clients(client, demo_user):
    client.force_login(demo_user("medical@northwind.example"))
    response = client.get("/admin/psp_crm/programanalyticssettings/dashboard/MS-ADHERE/")
    assert response.status_code in (302, 403)
