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
    assert "Latest diary entries" in html and "Reports" in html
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
    client = signed_in("dr.bianchi@sanluca.example")
    with django_assert_max_num_queries(15):
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
