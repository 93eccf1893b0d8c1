"""Doctor portal: followed patients only, search, the audited patient page."""

from __future__ import annotations

import pytest

from psp_crm.models import AuditEvent, Enrolment

ROSSI = "dr.rossi@sanluca.example"


@pytest.fixture
def anna_enrolment(demo_world) -> Enrolment:
    return Enrolment.objects.get(
        patient__user__email="anna.conti@example.com", program__code="MS-ADHERE"
    )


@pytest.fixture
def marco_enrolment(demo_world) -> Enrolment:
    return Enrolment.objects.get(
        patient__user__email="marco.ferri@example.com", program__code="PSO-CARE"
    )


def test_rossi_sees_his_patients(signed_in):
    response = signed_in(ROSSI).get("/doctor/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Doctor portal — My patients" in html
    assert 'data-testid="patient-list"' in html
    assert "Anna Conti" in html
    assert "Marco Ferri" not in html


def test_search_by_name_and_code(signed_in, anna_enrolment):
    client = signed_in(ROSSI)
    assert "Anna Conti" in client.get("/doctor/", {"q": "conti"}).content.decode()
    by_code = client.get("/doctor/", {"q": anna_enrolment.patient.code}).content.decode()
    assert "Anna Conti" in by_code
    assert "Anna Conti" not in client.get("/doctor/", {"q": "Ferri"}).content.decode()


def test_program_filter(signed_in):
    client = signed_in(ROSSI)
    assert "Anna Conti" in client.get("/doctor/", {"program": "MS-ADHERE"}).content.decode()
    response = client.get("/doctor/", {"program": "RA-HOME"})  # not one of his programs
    assert response.status_code == 200
    assert 'data-testid="patient-list"' in response.content.decode()


def test_htmx_search_returns_the_results_fragment(signed_in):
    response = signed_in(ROSSI).get("/doctor/", {"q": "Conti"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="patient-results"' in html and "Anna Conti" in html


def test_bad_page_number_is_not_an_error(signed_in):
    assert signed_in(ROSSI).get("/doctor/", {"page": "zzz"}).status_code == 200
    assert signed_in(ROSSI).get("/doctor/", {"page": "99999"}).status_code == 200


def test_patient_page_is_complete_and_audited(signed_in, demo_user, anna_enrolment):
    before = AuditEvent.objects.count()
    response = signed_in(ROSSI).get(f"/doctor/patients/{anna_enrolment.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Doctor portal — Anna Conti" in html
    assert anna_enrolment.patient.code in html
    for testid in ("patient-identity", "therapy", "upcoming-activities"):
        assert f'data-testid="{testid}"' in html
    assert "Diary timeline" in html and "Reports" in html
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.order_by("-pk").first()
    assert event.actor == demo_user(ROSSI)
    assert event.action == "read" and event.portal == "doctor"
    assert event.patient_id == anna_enrolment.patient_id
    assert event.object_type == "psp_crm.enrolment" and event.object_id == str(anna_enrolment.pk)


def test_another_doctors_patient_is_404_and_not_audited(signed_in, marco_enrolment):
    before = AuditEvent.objects.count()
    response = signed_in(ROSSI).get(f"/doctor/patients/{marco_enrolment.pk}/")
    assert response.status_code == 404
    assert "Marco" not in response.content.decode()
    assert AuditEvent.objects.count() == before


def test_bianchi_sees_marco(signed_in, marco_enrolment):
    response = signed_in("dr.bianchi@sanluca.example").get(
        f"/doctor/patients/{marco_enrolment.pk}/"
    )
    assert response.status_code == 200
    assert "Marco Ferri" in response.content.decode()


@pytest.mark.parametrize(
    "path", ["/doctor/patients/abc/", "/doctor/patients/999999999/", "/doctor/patients/-1/"]
)
def test_malformed_or_unknown_ids_are_404(signed_in, path):
    response = signed_in(ROSSI).get(path)
    assert response.status_code == 404
    assert 'data-testid="error-page"' in response.content.decode()


def test_list_queries_do_not_grow_with_rows(signed_in, django_assert_max_num_queries):
    # A fixed number per page (session, roles, the page of rows, their dose adherence and PDC,
    # programs for the filter…); the 50-patient test below shows it does not grow with rows.
    client = signed_in("dr.bianchi@sanluca.example")
    with django_assert_max_num_queries(16):
        client.get("/doctor/")


def test_long_lists_are_paginated(signed_in, demo_user, anna_enrolment):
    from psp_crm.models import Patient

    rossi = demo_user(ROSSI).doctor_profile
    patients = Patient.objects.bulk_create(
        Patient(first_name="Paged", last_name=f"Patient{i:02d}", code=f"PT-PAGE-{i:04d}")
        for i in range(30)
    )
    enrolments = Enrolment.objects.bulk_create(
        Enrolment(patient=p, program=anna_enrolment.program, status="active") for p in patients
    )
    Enrolment.doctors.through.objects.bulk_create(
        Enrolment.doctors.through(enrolment=e, doctor=rossi) for e in enrolments
    )
    client = signed_in(ROSSI)
    first = client.get("/doctor/", {"q": "Paged"}).content.decode()
    assert "Page 1 of 2" in first and "?q=Paged&amp;page=2" in first
    second = client.get("/doctor/", {"q": "Paged", "page": 2}).content.decode()
    assert "Page 2 of 2" in second and "Patient29" in second


# --- adherence, filters, one query per page, reports, notes, charts, referrals --------------

import datetime as dt  # noqa: E402

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from psp_crm.models import (  # noqa: E402
    DiaryEntry,
    DoctorNote,
    Patient,
    Report,
    ReportReceipt,
)
from psp_crm.services.reports import report_send  # noqa: E402


def _add_followed(doctor, program, n: int, prefix: str) -> list[Enrolment]:
    patients = Patient.objects.bulk_create(
        Patient(first_name="Bulk", last_name=f"{prefix}{i:03d}", code=f"PT-{prefix}-{i:04d}")
        for i in range(n)
    )
    enrolments = Enrolment.objects.bulk_create(
        Enrolment(
            patient=p,
            program=program,
            status="active",
            doses_per_week=7,
            start_date=timezone.localdate() - dt.timedelta(days=90),
            therapy_start_date=timezone.localdate() - dt.timedelta(days=90),
        )
        for p in patients
    )
    Enrolment.doctors.through.objects.bulk_create(
        Enrolment.doctors.through(enrolment=e, doctor=doctor) for e in enrolments
    )
    now = timezone.now()
    DiaryEntry.objects.bulk_create(
        DiaryEntry(
            enrolment=e,
            kind="dose",
            dose_status="taken",
            occurred_at=now - dt.timedelta(days=d + 1),
        )
        for i, e in enumerate(enrolments)
        for d in range(i % 30)
    )
    return enrolments


def _list_queries(client, params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/doctor/", params).status_code == 200
    return len(captured.captured_queries)


def test_patient_list_is_one_query_per_page_for_50_patients(signed_in, demo_user, anna_enrolment):
    rossi = demo_user(ROSSI).doctor_profile
    client = signed_in(ROSSI)
    _add_followed(rossi, anna_enrolment.program, 1, "ONE")
    few = _list_queries(client, {"q": "Bulk"})
    _add_followed(rossi, anna_enrolment.program, 50, "MANY")
    many = _list_queries(client, {"q": "Bulk"})
    assert many == few  # the rows, then their adherence: a fixed number of queries per page


def test_adherence_indicator_and_threshold_filter(signed_in, demo_user, anna_enrolment):
    rossi = demo_user(ROSSI).doctor_profile
    enrolments = _add_followed(rossi, anna_enrolment.program, 30, "ADH")
    client = signed_in(ROSSI)
    # ADH029 logged 29 of 30 expected daily doses (97%); ADH003 logged 3 (10%).
    html = client.get("/doctor/", {"q": "ADH029"}).content.decode()
    assert 'data-testid="adherence"' in html and "97%" in html
    assert "10%" in client.get("/doctor/", {"q": "ADH003"}).content.decode()
    low = client.get("/doctor/", {"q": "ADH0", "below": "50"}).content.decode()
    assert "ADH003" in low and "ADH029" not in low
    assert enrolments[0].patient.last_name in low  # nothing logged: 0%


def test_unread_filter(signed_in, demo_user, anna_enrolment):
    client = signed_in(ROSSI)
    html = client.get("/doctor/", {"unread": "on"}).content.decode()
    # The demo's periodic adherence report to Rossi is unread on purpose.
    assert "Anna Conti" in html and 'data-testid="unread"' in html
    Report.objects.filter(enrolment=anna_enrolment, recipient=demo_user(ROSSI)).exclude(
        receipts__reader=demo_user(ROSSI)
    ).delete()
    assert "Anna Conti" not in client.get("/doctor/", {"unread": "on"}).content.decode()


def test_patient_page_has_charts_offline_with_tables(signed_in, anna_enrolment):
    html = signed_in(ROSSI).get(f"/doctor/patients/{anna_enrolment.pk}/").content.decode()
    assert 'data-testid="charts"' in html and "<svg" in html
    assert 'data-testid="chart-blood_pressure"' in html
    assert "<table" in html and "as a table" in html
    assert "http://kozea" not in html and '<script src="http' not in html


def test_doctor_opens_a_report_replies_and_receipts(
    signed_in, demo_user, anna_enrolment, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    anna = demo_user("anna.conti@example.com")
    rossi = demo_user(ROSSI)
    report = report_send(
        actor=anna,
        enrolment=anna_enrolment,
        subject="Headache",
        body="Since yesterday.",
        attachments=[SimpleUploadedFile("scan.png", b"\x89PNG\r\n\x1a\n" + b"0" * 10)],
    )
    client = signed_in(ROSSI)
    page = client.get(f"/doctor/patients/{anna_enrolment.pk}/reports/{report.pk}/")
    assert page.status_code == 200 and "Since yesterday." in page.content.decode()
    assert ReportReceipt.objects.filter(report=report, reader=rossi).exists()
    attachment = report.attachments.get()
    download = client.get(f"/doctor/attachments/{attachment.pk}/")
    assert download.status_code == 200 and download["Content-Type"] == "image/png"
    bianchi = signed_in("dr.bianchi@sanluca.example")
    assert bianchi.get(f"/doctor/attachments/{attachment.pk}/").status_code == 404
    response = client.post(
        f"/doctor/patients/{anna_enrolment.pk}/reports/{report.pk}/",
        {"body": "Take paracetamol and note it."},
    )
    assert response.status_code == 302
    reply = Report.objects.get(in_reply_to=report)
    assert (reply.author, reply.recipient) == (rossi, anna)
    empty = client.post(f"/doctor/patients/{anna_enrolment.pk}/reports/{report.pk}/", {})
    assert empty.status_code == 400


def test_another_doctors_report_is_404(signed_in, marco_enrolment):
    report = Report.objects.filter(enrolment=marco_enrolment).first()
    response = signed_in(ROSSI).get(f"/doctor/patients/{marco_enrolment.pk}/reports/{report.pk}/")
    assert response.status_code == 404


def test_private_notes(signed_in, demo_user, anna_enrolment):
    client = signed_in(ROSSI)
    response = client.post(
        f"/doctor/patients/{anna_enrolment.pk}/notes/", {"body": "Consider MRI in spring."}
    )
    assert response.status_code == 302
    assert DoctorNote.objects.filter(author=demo_user(ROSSI), enrolment=anna_enrolment).exists()
    html = client.get(f"/doctor/patients/{anna_enrolment.pk}/").content.decode()
    assert "Consider MRI in spring." in html
    # Never on the patient's side.
    assert (
        "Consider MRI" not in signed_in("anna.conti@example.com").get("/patient/").content.decode()
    )


def test_refer_a_new_patient(signed_in, demo_user):
    client = signed_in(ROSSI)
    assert 'data-testid="refer-form"' in client.get("/doctor/refer/").content.decode()
    response = client.post(
        "/doctor/refer/",
        {
            "program": "MS-ADHERE",
            "first_name": "Giulia",
            "last_name": "Neri",
            "sex": "F",
            "birth_date": "1990-04-02",
        },
    )
    assert response.status_code == 302
    enrolment = Enrolment.objects.get(patient__last_name="Neri", patient__first_name="Giulia")
    assert enrolment.status == "referred"
    assert enrolment.referring_doctor == demo_user(ROSSI).doctor_profile
    # The referral waits for the consent: the patient page says "Referred".
    assert "Referred" in client.get(response["Location"]).content.decode()
    wrong = client.post("/doctor/refer/", {"program": "PSO-CARE", "first_name": "x"})
    assert wrong.status_code == 400


def test_list_and_patient_page_show_pdc(client, demo_user):
    client.force_login(demo_user("dr.rossi@sanluca.example"))
    html = client.get("/doctor/").content.decode()
    assert 'data-testid="pdc"' in html
    from psp_crm.models import Enrolment

    anna = Enrolment.objects.get(patient__user__email="anna.conti@example.com")
    page = client.get(f"/doctor/patients/{anna.pk}/").content.decode()
    assert 'data-testid="patient-adherence"' in page
    assert "PDC" in page
