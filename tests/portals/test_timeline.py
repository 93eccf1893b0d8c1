"""The omnichannel timeline (operator and doctor portals) and the inbound-call screen."""

from __future__ import annotations

import pytest

from psp_crm.models import AuditEvent, Case, Enrolment, Interaction, Patient
from psp_crm.services.interactions import case_open, interaction_log

NERI = "counsellor.neri@curaplus.example"
VERDI = "nurse.verdi@curaplus.example"
ROSSI = "dr.rossi@sanluca.example"
GALLO = "driver.gallo@swiftmed.example"
NORTHWIND = "medical@northwind.example"
ANNA_PHONE = "+39 347 123 4567"


@pytest.fixture
def anna(demo_world) -> Patient:
    patient = Patient.objects.get(user__email="anna.conti@example.com")
    patient.phone = ANNA_PHONE
    patient.save(update_fields=["phone"])
    return patient


@pytest.fixture
def marco(demo_world) -> Patient:
    return Patient.objects.get(user__email="marco.ferri@example.com")


def _table(html: str) -> str:
    """Only the timeline's table (the page also lists open cases and forms)."""
    start = html.find('data-testid="timeline"')
    return html[start : html.find("</table>", start)] if start >= 0 else ""


def _enrolment(patient: Patient) -> Enrolment:
    return Enrolment.objects.filter(patient=patient).order_by("-pk").first()


@pytest.fixture
def anna_contacts(anna, demo_user):
    neri = demo_user(NERI)
    call = interaction_log(
        actor=neri,
        patient=anna,
        channel="phone",
        direction="in",
        reason="therapy_question",
        outcome="informed",
        summary="CALL-REASON-XYZ Asked about the infusion.",
        enrolment=_enrolment(anna),
    )
    sms = interaction_log(
        actor=neri, patient=anna, channel="sms", direction="out", summary="SMS-REMINDER-XYZ"
    )
    case = case_open(
        actor=neri,
        patient=anna,
        subject="CASE-SUBJECT-XYZ",
        category="request",
        enrolment=_enrolment(anna),
    )
    return call, sms, case


def test_counsellor_sees_annas_timeline(signed_in, anna, anna_contacts):
    response = signed_in(NERI).get(f"/operator/patients/{anna.code}/timeline/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="timeline"' in html
    assert "CALL-REASON-XYZ" in html
    assert "CASE-SUBJECT-XYZ" in html and "SMS-REMINDER-XYZ" in html
    assert 'data-testid="interaction-form"' in html and 'data-testid="case-form"' in html
    assert AuditEvent.objects.filter(
        actor__email=NERI, patient=anna, portal="operator", verb="patient.read"
    ).exists()


def test_channel_filter(signed_in, anna, anna_contacts):
    client = signed_in(NERI)
    html = _table(
        client.get(f"/operator/patients/{anna.code}/timeline/?channel=sms").content.decode()
    )
    assert "SMS-REMINDER-XYZ" in html
    assert "CALL-REASON-XYZ" not in html and "CASE-SUBJECT-XYZ" not in html
    html = _table(
        client.get(f"/operator/patients/{anna.code}/timeline/?channel=phone").content.decode()
    )
    assert "CALL-REASON-XYZ" in html and "SMS-REMINDER-XYZ" not in html


def test_program_filter(signed_in, anna, anna_contacts):
    program = _enrolment(anna).program.code
    html = (
        signed_in(NERI)
        .get(f"/operator/patients/{anna.code}/timeline/?program={program}")
        .content.decode()
    )
    assert "CALL-REASON-XYZ" in html
    assert "SMS-REMINDER-XYZ" not in html  # not tied to a program


def test_counsellor_logs_a_call_and_opens_a_case_from_the_page(signed_in, anna):
    client = signed_in(NERI)
    url = f"/operator/patients/{anna.code}/timeline/"
    response = client.post(
        url,
        {
            "action": "log",
            "log-channel": "phone",
            "log-direction": "in",
            "log-program": _enrolment(anna).program.code,
            "log-reason": "side_effect",
            "log-outcome": "informed",
            "log-duration": "7:30",
            "log-summary": "PAGE-CALL-XYZ",
        },
    )
    assert response.status_code == 302
    interaction = Interaction.objects.get(patient=anna, summary__contains="PAGE-CALL-XYZ")
    assert interaction.enrolment == _enrolment(anna)
    assert (interaction.reason, interaction.duration_seconds) == ("side_effect", 450)
    response = client.post(
        url,
        {
            "action": "case",
            "case-subject": "PAGE-CASE-XYZ",
            "case-category": "adverse_event_suspicion",
            "case-priority": "urgent",
        },
    )
    assert response.status_code == 302
    assert Case.objects.filter(patient=anna, subject="PAGE-CASE-XYZ", priority="urgent").exists()
    html = client.get(url).content.decode()
    assert "PAGE-CALL-XYZ" in html and "PAGE-CASE-XYZ" in html


def test_empty_contact_is_refused_with_a_message(signed_in, anna):
    before = Interaction.objects.count()
    response = signed_in(NERI).post(
        f"/operator/patients/{anna.code}/timeline/",
        {"action": "log", "log-channel": "phone", "log-direction": "in"},
    )
    assert response.status_code == 400
    assert "Write what the contact was about." in response.content.decode()
    assert Interaction.objects.count() == before


def test_nurse_sees_annas_timeline(signed_in, anna, anna_contacts):
    response = signed_in(VERDI).get(f"/operator/patients/{anna.code}/timeline/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "CALL-REASON-XYZ" in html and "CASE-SUBJECT-XYZ" in html


def test_doctor_sees_annas_timeline(signed_in, anna, anna_contacts):
    enrolment = _enrolment(anna)
    client = signed_in(ROSSI)
    page = client.get(f"/doctor/patients/{enrolment.pk}/").content.decode()
    assert f"/doctor/patients/{enrolment.pk}/timeline/" in page
    response = client.get(f"/doctor/patients/{enrolment.pk}/timeline/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "CALL-REASON-XYZ" in html and "CASE-SUBJECT-XYZ" in html
    assert 'data-testid="interaction-form"' not in html
    html = client.get(f"/doctor/patients/{enrolment.pk}/timeline/?channel=sms").content.decode()
    assert "SMS-REMINDER-XYZ" in html and "CALL-REASON-XYZ" not in html


def test_doctor_gets_404_on_a_patient_he_does_not_follow(signed_in, marco):
    response = signed_in(ROSSI).get(f"/doctor/patients/{_enrolment(marco).pk}/timeline/")
    assert response.status_code == 404


@pytest.mark.parametrize("email", [GALLO])
def test_logistics_never_sees_a_timeline(signed_in, anna, anna_contacts, email):
    client = signed_in(email)
    response = client.get(f"/operator/patients/{anna.code}/timeline/")
    assert response.status_code == 404
    assert "CALL-REASON-XYZ" not in response.content.decode()
    before = Interaction.objects.count()
    response = client.post(
        f"/operator/patients/{anna.code}/timeline/",
        {"action": "log", "log-channel": "phone", "log-direction": "in", "log-summary": "x"},
    )
    assert response.status_code == 404
    assert Interaction.objects.count() == before
    assert client.get(f"/operator/calls/?q={ANNA_PHONE}").status_code == 403


def test_clients_never_see_a_timeline(signed_in, anna, anna_contacts):
    client = signed_in(NORTHWIND)
    assert client.get(f"/operator/patients/{anna.code}/timeline/").status_code == 403
    assert client.get(f"/doctor/patients/{_enrolment(anna).pk}/timeline/").status_code == 403
    assert client.get("/operator/calls/").status_code == 403


def test_unknown_patient_code_is_404(signed_in):
    assert signed_in(NERI).get("/operator/patients/PT-ZZZZ-ZZZZ/timeline/").status_code == 404


def test_inbound_call_finds_anna_by_phone(signed_in, anna):
    client = signed_in(NERI)
    response = client.get("/operator/calls/", {"q": "347 1234567"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="caller-matches"' in html
    assert f"/operator/patients/{anna.code}/timeline/" in html
    html = client.get("/operator/calls/", {"q": anna.code}).content.decode()
    assert f"/operator/patients/{anna.code}/timeline/" in html
    html = client.get("/operator/calls/", {"q": "Anna Conti"}).content.decode()
    assert f"/operator/patients/{anna.code}/timeline/" in html


def test_inbound_call_unknown_number(signed_in, anna):
    response = signed_in(NERI).get("/operator/calls/", {"q": "+39 000 000 0001"})
    assert response.status_code == 200
    assert "No patient you may see has the number" in response.content.decode()


def test_nurse_search_is_limited_to_her_patients(signed_in, marco):
    marco.phone = "+39 333 999 8888"
    marco.save(update_fields=["phone"])
    html = signed_in(VERDI).get("/operator/calls/", {"q": marco.phone}).content.decode()
    # nurse.verdi works MS-ADHERE and RA-HOME, Marco is in PSO-CARE
    assert marco.code not in html
    assert "No patient you may see has the number" in html


def test_counsellor_of_another_program_cannot_find_or_open(db):
    from django.test import Client

    from tests.factories import build_world

    world = build_world()
    world.other_patient.phone = "+39 02 9876 5432"
    world.other_patient.save(update_fields=["phone"])
    client = Client()
    client.force_login(world.counsellor.user)
    other = world.other_patient.code
    assert client.get(f"/operator/patients/{other}/timeline/").status_code == 404
    html = client.get("/operator/calls/", {"q": world.other_patient.phone}).content.decode()
    assert other not in html and "No patient you may see has the number" in html
    html = client.get("/operator/calls/", {"q": other}).content.decode()
    assert f"/operator/patients/{other}/timeline/" not in html
    own = world.patient.code
    assert client.get(f"/operator/patients/{own}/timeline/").status_code == 200


def test_counsellor_moves_a_case_status(signed_in, anna, anna_contacts):
    _call, _sms, case = anna_contacts
    client = signed_in(NERI)
    html = client.get(f"/operator/patients/{anna.code}/timeline/").content.decode()
    assert f"/operator/cases/{case.pk}/status/" in html
    response = client.post(f"/operator/cases/{case.pk}/status/", {"status": "resolved"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "resolved" and case.closed_at is not None
    response = client.post(f"/operator/cases/{case.pk}/status/", {"status": "bogus"}, follow=True)
    assert "Unknown status" in response.content.decode()
    assert (
        signed_in(GALLO).post(f"/operator/cases/{case.pk}/status/", {"status": "open"}).status_code
        == 404
    )
    case.refresh_from_db()
    assert case.status == "resolved"
