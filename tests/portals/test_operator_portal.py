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


# --- working an activity (issue 3) ------------------------------------------------------------


def _anna(code: str) -> Activity:
    today = timezone.localdate()
    for activity in Activity.objects.filter(
        enrolment__patient__first_name="Anna",
        enrolment__patient__last_name="Conti",
        module__code=code,
        status__in=Activity.OPEN_STATUSES,
    ).order_by("scheduled_start"):
        if timezone.localtime(activity.scheduled_start).date() >= today:
            return activity
    raise AssertionError(f"Anna has no open {code}")


def test_nurse_sees_the_visit_report_form(signed_in):
    infusion = _anna("home-infusion")
    html = signed_in(VERDI).get(f"/operator/activities/{infusion.pk}/").content.decode()
    assert 'data-form-kind="nurse_visit"' in html
    assert "Drug administered" in html and 'data-testid="reschedule-form"' in html


def test_nurse_completes_an_infusion_and_completing_twice_is_400(signed_in):
    infusion = _anna("home-infusion")
    client = signed_in(VERDI)
    url = f"/operator/activities/{infusion.pk}/complete/"
    data = {
        "complete-administered": "on",
        "complete-dose": "300 mg IV",
        "complete-blood_pressure": "120/80",
        "complete-reaction": "none",
        "complete-notes": "Observed 60 minutes",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    infusion.refresh_from_db()
    assert infusion.status == "done" and infusion.outcome["blood_pressure"] == "120/80"
    assert DiaryEntry.objects.filter(
        enrolment=infusion.enrolment, source="nurse", kind="dose", occurred_at=infusion.completed_at
    ).exists()
    again = client.post(url, data)
    assert again.status_code == 400
    assert "already done" in again.content.decode()
    assert Activity.objects.get(pk=infusion.pk).completed_at == infusion.completed_at


def test_bad_outcome_is_a_form_error(signed_in):
    infusion = _anna("home-infusion")
    response = signed_in(VERDI).post(
        f"/operator/activities/{infusion.pk}/complete/",
        {"complete-blood_pressure": "high", "complete-reaction": "none"},
    )
    assert response.status_code == 400
    assert "systolic/diastolic" in response.content.decode()
    assert Activity.objects.get(pk=infusion.pk).is_open


def test_another_operators_activity_is_404_on_post(signed_in):
    infusion = _anna("home-infusion")
    for action in ("complete", "reschedule", "cancel", "no-show"):
        response = signed_in(GALLO).post(
            f"/operator/activities/{infusion.pk}/{action}/", {"cancel-reason": "x"}
        )
        assert response.status_code == 404
    assert Activity.objects.get(pk=infusion.pk).is_open


def test_nurse_cannot_open_the_drivers_pickup_of_her_patient(signed_in):
    pickup = _anna("waste-pickup")
    assert pickup.assignee.user.email == GALLO
    assert signed_in(VERDI).get(f"/operator/activities/{pickup.pk}/").status_code == 404


def test_driver_form_has_no_clinical_fields(signed_in, gallo_today):
    html = signed_in(GALLO).get(f"/operator/activities/{gallo_today.pk}/").content.decode()
    assert 'data-form-kind="delivery"' not in html or "Proof of delivery" in html
    assert "Drug administered" not in html and "Blood pressure" not in html
    assert "Reaction" not in html


def test_driver_records_a_cold_chain_delivery(signed_in, gallo_today):
    gallo_today.module = gallo_today.module.__class__.objects.get(code="drug-delivery")
    gallo_today.save()
    client = signed_in(GALLO)
    url = f"/operator/activities/{gallo_today.pk}/complete/"
    missing = client.post(url, {"complete-proof_of_delivery": "Signed"})
    assert missing.status_code == 400 and "This field is required" in missing.content.decode()
    done = client.post(url, {"complete-proof_of_delivery": "Signed", "complete-temperature": "5.0"})
    assert done.status_code == 302
    gallo_today.refresh_from_db()
    assert gallo_today.status == "done" and gallo_today.outcome["cold_chain_ok"] is True


def test_reschedule_window_ending_before_it_starts_is_400(signed_in):
    infusion = _anna("home-infusion")
    day = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    response = signed_in(VERDI).post(
        f"/operator/activities/{infusion.pk}/reschedule/",
        {
            "reschedule-date": day,
            "reschedule-start": "15:00",
            "reschedule-end": "14:00",
            "reschedule-reason": "Patient asked",
        },
    )
    assert response.status_code == 400
    assert "The window must end after it starts." in response.content.decode()
    assert Activity.objects.get(pk=infusion.pk).is_open


def test_reschedule_and_cancel(signed_in):
    infusion = _anna("home-infusion")
    client = signed_in(VERDI)
    day = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    response = client.post(
        f"/operator/activities/{infusion.pk}/reschedule/",
        {
            "reschedule-date": day,
            "reschedule-start": "10:00",
            "reschedule-end": "12:00",
            "reschedule-reason": "Patient asked",
        },
    )
    assert response.status_code == 302
    infusion.refresh_from_db()
    assert infusion.status == "rescheduled"
    new = infusion.rescheduled_to
    response = client.post(
        f"/operator/activities/{new.pk}/cancel/", {"cancel-reason": "Hospitalised"}
    )
    assert response.status_code == 302
    new.refresh_from_db()
    assert new.status == "cancelled" and new.status_reason == "Hospitalised"


def test_action_urls_answer_post_only(signed_in):
    infusion = _anna("home-infusion")
    assert signed_in(VERDI).get(f"/operator/activities/{infusion.pk}/complete/").status_code == 405
