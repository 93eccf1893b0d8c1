"""Patient portal: a patient's own therapy; a caregiver's delegated patients, audited."""

from __future__ import annotations

import pytest

from psp_crm.models import AuditEvent, Patient

ANNA = "anna.conti@example.com"
LUCA = "luca.conti@example.com"
MARCO = "marco.ferri@example.com"


@pytest.fixture
def anna(demo_world) -> Patient:
    return Patient.objects.get(user__email=ANNA)


@pytest.fixture
def marco(demo_world) -> Patient:
    return Patient.objects.get(user__email=MARCO)


def test_patient_sees_her_own_therapy(signed_in):
    response = signed_in(ANNA).get("/patient/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Patient portal — My therapy" in html
    assert "Multiple sclerosis" in html or "MS-ADHERE" in html
    assert 'data-testid="diary-entries"' in html
    assert "Marco" not in html


def test_marco_sees_only_his_data(signed_in):
    html = signed_in(MARCO).get("/patient/").content.decode()
    assert "Patient portal — My therapy" in html
    assert "Anna" not in html


def test_caregiver_lists_delegated_patients(signed_in, anna):
    response = signed_in(LUCA).get("/patient/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Patient portal — People I care for" in html
    assert 'data-testid="delegated-patients"' in html
    assert f"/patient/p/{anna.code}/" in html


def test_caregiver_opens_anna_and_it_is_audited(signed_in, demo_user, anna):
    before = AuditEvent.objects.filter(portal="patient").count()
    response = signed_in(LUCA).get(f"/patient/p/{anna.code}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Patient portal — Anna Conti" in html
    assert 'data-testid="next-activities"' in html or "Nothing is scheduled" in html
    assert 'data-testid="diary-entries"' in html
    assert 'data-testid="entered-by"' in html
    assert AuditEvent.objects.filter(portal="patient").count() == before + 1
    event = AuditEvent.objects.filter(portal="patient").order_by("-pk").first()
    assert event.actor == demo_user(LUCA) and event.patient_id == anna.pk
    assert event.action == "read"


def test_caregiver_without_delegation_gets_404(signed_in, marco):
    before = AuditEvent.objects.count()
    client = signed_in(LUCA)
    assert client.get(f"/patient/p/{marco.code}/").status_code == 404
    assert client.get("/patient/p/PT-NOPE-NOPE/").status_code == 404
    assert AuditEvent.objects.count() == before


def test_revoked_delegation_closes_the_page(signed_in, anna):
    from django.utils import timezone

    from psp_crm.models import Delegation

    client = signed_in(LUCA)
    Delegation.objects.filter(patient=anna, caregiver__user__email=LUCA).update(
        revoked_at=timezone.now()
    )
    assert client.get(f"/patient/p/{anna.code}/").status_code == 404


def test_patient_is_not_a_caregiver_of_herself(signed_in, anna):
    assert signed_in(ANNA).get(f"/patient/p/{anna.code}/").status_code == 403


# --- the diary, reports, caregivers and progress pages -------------------------------------

import datetime as dt  # noqa: E402

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.utils import timezone  # noqa: E402

from psp_crm.models import Delegation, DiaryEntry, Enrolment, Report, ReportReceipt  # noqa: E402

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def anna_enrolment(anna) -> Enrolment:
    return Enrolment.objects.get(patient=anna, program__code="MS-ADHERE")


def local(delta: dt.timedelta = dt.timedelta()) -> str:
    return timezone.localtime(timezone.now() - delta).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("path", ["/patient/diary/", "/patient/reports/", "/patient/progress/"])
def test_anna_pages(signed_in, path):
    response = signed_in(ANNA).get(path)
    assert response.status_code == 200
    assert 'data-testid="patient-sections"' in response.content.decode()


def test_diary_page_has_timeline_calendar_and_activities(signed_in):
    html = signed_in(ANNA).get("/patient/diary/").content.decode()
    for testid in ("diary-timeline", "diary-calendar", "add-entry", "entered-by"):
        assert f'data-testid="{testid}"' in html
    assert "Marco" not in html
    other_month = signed_in(ANNA).get("/patient/diary/", {"month": "2020-02", "kind": "dose"})
    assert other_month.status_code == 200
    assert signed_in(ANNA).get("/patient/diary/", {"month": "zz"}).status_code == 200


@pytest.mark.parametrize("kind", ["dose", "symptom", "measurement", "mood", "note"])
def test_every_diary_form_renders(signed_in, kind):
    response = signed_in(ANNA).get(f"/patient/diary/new/{kind}/")
    assert response.status_code == 200
    assert 'data-testid="diary-form"' in response.content.decode()


def test_unknown_kind_is_404(signed_in):
    assert signed_in(ANNA).get("/patient/diary/new/poem/").status_code == 404


def test_anna_logs_a_glucose_in_mmol(signed_in, anna_enrolment):
    response = signed_in(ANNA).post(
        "/patient/diary/new/measurement/",
        {
            "enrolment": anna_enrolment.pk,
            "occurred_at": local(),
            "measurement": "glucose",
            "value": "5,5",
            "unit": "mmol/L",
        },
    )
    assert response.status_code == 302
    entry = DiaryEntry.objects.filter(enrolment=anna_enrolment).latest("pk")
    assert (entry.unit, str(entry.value)) == ("mg/dL", "99.09")


def test_bad_blood_pressure_shows_field_errors(signed_in, anna_enrolment):
    before = DiaryEntry.objects.count()
    response = signed_in(ANNA).post(
        "/patient/diary/new/measurement/",
        {
            "enrolment": anna_enrolment.pk,
            "occurred_at": local(),
            "measurement": "blood_pressure",
            "value": "70",
            "value_secondary": "90",
        },
    )
    assert response.status_code == 400
    assert "lower than the systolic" in response.content.decode()
    assert DiaryEntry.objects.count() == before


def test_future_dose_is_refused(signed_in, anna_enrolment):
    response = signed_in(ANNA).post(
        "/patient/diary/new/dose/",
        {
            "enrolment": anna_enrolment.pk,
            "occurred_at": local(-dt.timedelta(hours=5)),
            "dose_status": "taken",
        },
    )
    assert response.status_code == 400
    assert "in the future" in response.content.decode()


def test_luca_logs_a_dose_for_anna_and_corrects_it(signed_in, anna, anna_enrolment):
    client = signed_in(LUCA)
    response = client.post(
        f"/patient/p/{anna.code}/diary/new/dose/",
        {"enrolment": anna_enrolment.pk, "occurred_at": local(), "dose_status": "taken"},
    )
    assert response.status_code == 302 and response["Location"].endswith(f"/p/{anna.code}/diary/")
    entry = DiaryEntry.objects.filter(enrolment=anna_enrolment).latest("pk")
    assert entry.author.email == LUCA
    page = client.get(f"/patient/p/{anna.code}/diary/{entry.pk}/")
    assert page.status_code == 200 and 'data-testid="correction-form"' in page.content.decode()
    response = client.post(
        f"/patient/p/{anna.code}/diary/{entry.pk}/",
        {
            "enrolment": anna_enrolment.pk,
            "occurred_at": local(),
            "dose_status": "late",
            "reason": "Took it after dinner",
        },
    )
    assert response.status_code == 302
    version = DiaryEntry.objects.get(supersedes=entry)
    assert version.dose_status == "late"
    page = client.get(f"/patient/p/{anna.code}/diary/{entry.pk}/")
    html = page.content.decode()
    assert page.status_code == 200, html[html.find("<main") :][:800]
    assert "Took it after dinner" in html and 'data-testid="entry-history"' in html
    # Anna sees who entered it in her own timeline.
    assert "Luca Conti" in signed_in(ANNA).get("/patient/diary/").content.decode()


def test_old_entries_are_read_only(signed_in, anna_enrolment):
    old = (
        DiaryEntry.objects.filter(enrolment=anna_enrolment, superseded_by__isnull=True)
        .filter(occurred_at__lt=timezone.now() - dt.timedelta(days=30))
        .first()
    )
    html = signed_in(ANNA).get(f"/patient/diary/{old.pk}/").content.decode()
    assert 'data-testid="read-only"' in html
    response = signed_in(ANNA).post(f"/patient/diary/{old.pk}/", {"mood": 3})
    assert response.status_code == 403


def test_view_only_caregiver_cannot_open_the_form(signed_in, anna):
    Delegation.objects.filter(patient=anna, caregiver__user__email=LUCA).update(can_log_diary=False)
    assert signed_in(LUCA).get(f"/patient/p/{anna.code}/diary/new/dose/").status_code == 403


def test_other_patients_diary_entries_are_404(signed_in, marco):
    entry = DiaryEntry.objects.filter(enrolment__patient=marco).first()
    assert signed_in(ANNA).get(f"/patient/diary/{entry.pk}/").status_code == 404
    assert signed_in(LUCA).get(f"/patient/p/{marco.code}/diary/").status_code == 404


def test_anna_sends_a_report_with_an_attachment(signed_in, anna_enrolment, media):
    client = signed_in(ANNA)
    response = client.post(
        "/patient/reports/",
        {
            "enrolment": anna_enrolment.pk,
            "subject": "Blood test",
            "body": "Here are my results.",
            "attachments": [SimpleUploadedFile("results.pdf", PDF, "application/pdf")],
        },
    )
    assert response.status_code == 302
    report = Report.objects.filter(enrolment=anna_enrolment).latest("pk")
    attachment = report.attachments.get()
    html = client.get(f"/patient/reports/{report.pk}/").content.decode()
    assert "Here are my results." in html and "results.pdf" in html
    download = client.get(f"/patient/attachments/{attachment.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["X-Content-Type-Options"] == "nosniff"
    # Not for Marco, nor for anyone signed out.
    assert signed_in(MARCO).get(f"/patient/attachments/{attachment.pk}/").status_code == 404


def test_wrong_type_attachment_is_a_400(signed_in, anna_enrolment, media):
    response = signed_in(ANNA).post(
        "/patient/reports/",
        {
            "enrolment": anna_enrolment.pk,
            "subject": "x",
            "body": "y",
            "attachments": [SimpleUploadedFile("virus.pdf", b"MZ\x90 binary", "application/pdf")],
        },
    )
    assert response.status_code == 400
    assert "was refused" in response.content.decode()


def test_luca_may_not_send_reports_until_anna_allows_it(signed_in, anna, anna_enrolment, media):
    client = signed_in(LUCA)
    html = client.get(f"/patient/p/{anna.code}/reports/").content.decode()
    assert 'data-testid="no-send-right"' in html
    post = {"enrolment": anna_enrolment.pk, "subject": "x", "body": "y"}
    assert client.post(f"/patient/p/{anna.code}/reports/", post).status_code == 403
    delegation = Delegation.objects.get(patient=anna, caregiver__user__email=LUCA)
    response = signed_in(ANNA).post(
        "/patient/delegations/",
        {
            "delegation": delegation.pk,
            f"d{delegation.pk}-can_log_diary": "on",
            f"d{delegation.pk}-can_send_reports": "on",
        },
    )
    assert response.status_code == 302
    assert client.post(f"/patient/p/{anna.code}/reports/", post).status_code == 302


def test_opening_a_reply_marks_it_read(signed_in, anna_enrolment, demo_user):
    reply = Report.objects.filter(enrolment=anna_enrolment, kind="doctor_reply").first()
    ReportReceipt.objects.filter(report=reply).delete()
    question = reply.in_reply_to
    html = signed_in(ANNA).get(f"/patient/reports/{question.pk}/").content.decode()
    assert 'data-testid="replies"' in html and "Read by" in html
    assert ReportReceipt.objects.filter(report=reply, reader=demo_user(ANNA)).exists()


def test_delegations_page_grant_and_revoke(signed_in, anna):
    from tests.factories import CaregiverFactory

    helper = CaregiverFactory()
    client = signed_in(ANNA)
    assert 'data-testid="delegations"' in client.get("/patient/delegations/").content.decode()
    response = client.post(
        "/patient/delegations/",
        {"caregiver_email": helper.user.email, "relationship": "friend", "can_log_diary": "on"},
    )
    assert response.status_code == 302
    delegation = Delegation.objects.get(patient=anna, caregiver=helper, revoked_at__isnull=True)
    assert delegation.can_log_diary and not delegation.can_send_reports
    client.post(
        "/patient/delegations/",
        {"delegation": delegation.pk, f"d{delegation.pk}-revoke": "on"},
    )
    delegation.refresh_from_db()
    assert delegation.revoked_at is not None
    unknown = client.post("/patient/delegations/", {"caregiver_email": "nobody@x.example"})
    assert unknown.status_code == 400 and "No caregiver account" in unknown.content.decode()


def test_caregivers_cannot_manage_delegations(signed_in):
    assert signed_in(LUCA).get("/patient/delegations/").status_code == 403


def test_progress_shows_points_and_badges(signed_in):
    html = signed_in(ANNA).get("/patient/progress/").content.decode()
    assert 'data-testid="points"' in html and 'data-testid="badges"' in html


def test_caregiver_switcher_on_scoped_pages(signed_in, anna):
    html = signed_in(LUCA).get(f"/patient/p/{anna.code}/diary/").content.decode()
    assert "Diary of Anna Conti" in html


def test_caregiver_with_two_patients_switches_between_them(signed_in, demo_user, anna):
    from tests.factories import DelegationFactory, EnrolmentFactory, PatientFactory

    luca = demo_user(LUCA).caregiver_profile
    other = PatientFactory(first_name="Giorgio", last_name="Conti")
    EnrolmentFactory(patient=other, program=anna.enrolments.first().program, status="active")
    DelegationFactory(patient=other, caregiver=luca, can_log_diary=False)
    client = signed_in(LUCA)
    html = client.get(f"/patient/p/{anna.code}/diary/").content.decode()
    assert 'data-testid="patient-switcher"' in html
    assert f"/patient/p/{other.code}/" in html
    other_diary = client.get(f"/patient/p/{other.code}/diary/").content.decode()
    assert "Diary of Giorgio Conti" in other_diary
    assert 'data-testid="add-entry"' not in other_diary  # view only for Giorgio
    assert client.get(f"/patient/p/{other.code}/diary/new/dose/").status_code == 403
