"""Operator portal: own agenda; activity detail with logistics or clinical context, audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from psp_crm.models import Activity, AuditEvent, DiaryEntry

GALLO = "driver.gallo@swiftmed.example"
VERDI = "nurse.verdi@curaplus.example"


def _activity_of(email: str) -> Activity:
    activity = (
        Activity.objects.filter(assignee__user__email=email).order_by("-scheduled_start").first()
    )
    assert activity is not None, f"the demo world gives {email} no activity"
    return activity


@pytest.fixture
def gallo_today(demo_world) -> Activity:
    """A delivery for driver Gallo in an hour, so today's agenda is never empty."""
    template = _activity_of(GALLO)
    start = timezone.now() + dt.timedelta(hours=1)
    if timezone.localtime(start).date() != timezone.localdate():
        start = timezone.now()
    return Activity.objects.create(
        enrolment=template.enrolment,
        module=template.module,
        assignee=template.assignee,
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(minutes=30),
        items=[{"item": "Test parcel", "quantity": 1}],
        cold_chain=True,
    )


def test_agenda_shows_today_and_the_week(signed_in, gallo_today):
    response = signed_in(GALLO).get("/operator/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Operator portal — My agenda" in html
    assert 'data-testid="agenda-today"' in html and 'data-testid="agenda-week"' in html
    assert f"/operator/activities/{gallo_today.pk}/" in html


def test_nurse_agenda(signed_in):
    response = signed_in(VERDI).get("/operator/")
    assert response.status_code == 200
    assert "Operator portal — My agenda" in response.content.decode()


def test_logistics_detail_has_no_clinical_data(signed_in, gallo_today):
    enrolment = gallo_today.enrolment
    DiaryEntry.objects.create(
        enrolment=enrolment,
        kind="symptom",
        symptom="secret-headache",
        severity=7,
        note="SECRET-CLINICAL-NOTE",
        occurred_at=timezone.now(),
    )
    before = AuditEvent.objects.filter(portal="operator").count()
    response = signed_in(GALLO).get(f"/operator/activities/{gallo_today.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="logistics"' in html
    assert "Test parcel" in html and "Cold chain" in html
    assert enrolment.patient.city in html
    assert 'data-testid="clinical-context"' not in html
    assert "secret-headache" not in html and "SECRET-CLINICAL-NOTE" not in html
    assert "Latest diary entries" not in html
    assert enrolment.program.name not in html  # the program names the pathology
    assert AuditEvent.objects.filter(portal="operator").count() == before + 1
    event = AuditEvent.objects.filter(portal="operator").order_by("-pk").first()
    assert event.object_type == "psp_crm.activity" and event.object_id == str(gallo_today.pk)


def test_clinical_operator_sees_the_clinical_context(signed_in):
    activity = _activity_of(VERDI)
    response = signed_in(VERDI).get(f"/operator/activities/{activity.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="clinical-context"' in html
    assert 'data-testid="therapy"' in html


def test_someone_elses_activity_is_404(signed_in):
    nurse_activity = _activity_of(VERDI)
    before = AuditEvent.objects.count()
    assert signed_in(GALLO).get(f"/operator/activities/{nurse_activity.pk}/").status_code == 404
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("path", ["/operator/activities/abc/", "/operator/activities/999999999/"])
def test_malformed_or_unknown_ids_are_404(signed_in, path):
    response = signed_in(GALLO).get(path)
    assert response.status_code == 404
    assert 'data-testid="error-page"' in response.content.decode()
