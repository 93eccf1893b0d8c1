"""The access matrix: every demo account × every portal page and object page.

Each cell is the status a signed-in account gets (200 shown, 302 sent to a sign-in page,
403 wrong portal, 404 an object it may not see — the same answer as one that does not exist).
"""

from __future__ import annotations

import pytest

from psp_crm.models import Activity, Enrolment, Patient

ADMIN = "admin@curaplus.example"
OPS = "ops@curaplus.example"
NORTHWIND = "medical@northwind.example"
SOUTHWIND = "medical@southwind.example"
ROSSI = "dr.rossi@sanluca.example"
BIANCHI = "dr.bianchi@sanluca.example"
ANNA = "anna.conti@example.com"
LUCA = "luca.conti@example.com"
MARCO = "marco.ferri@example.com"
NURSE = "nurse.verdi@curaplus.example"
COUNSELLOR = "counsellor.neri@curaplus.example"
DRIVER = "driver.gallo@swiftmed.example"
ACCOUNTS = [
    ADMIN,
    OPS,
    NORTHWIND,
    SOUTHWIND,
    ROSSI,
    BIANCHI,
    ANNA,
    LUCA,
    MARCO,
    NURSE,
    COUNSELLOR,
    DRIVER,
]

STAFF = {ADMIN, OPS}
CLIENTS = {NORTHWIND, SOUTHWIND}
DOCTORS = {ROSSI, BIANCHI}
PATIENT_PORTAL = {ANNA, LUCA, MARCO}
OPERATORS = {NURSE, COUNSELLOR, DRIVER}


def portal(members: set[str]) -> dict[str, int]:
    """200 for the portal's members, 403 for every other signed-in account."""
    return {email: 200 if email in members else 403 for email in ACCOUNTS}


def objects(members: set[str], allowed: set[str]) -> dict[str, int]:
    """Within a portal: 200 for who may see the object, 404 for the other members."""
    cells = portal(members)
    cells.update({email: 200 if email in allowed else 404 for email in members})
    return cells


def admin_site(allowed: set[str]) -> dict[str, int]:
    """The admin site sends non-staff to its own sign-in page."""
    return {email: 200 if email in allowed else 302 for email in ACCOUNTS}


@pytest.fixture
def world(demo_world):
    anna = Patient.objects.get(user__email=ANNA)
    marco = Patient.objects.get(user__email=MARCO)
    anna_enrolment = Enrolment.objects.get(patient=anna, program__code="MS-ADHERE")
    marco_enrolment = Enrolment.objects.get(patient=marco, program__code="PSO-CARE")
    anna_infusion = Activity.objects.filter(
        enrolment=anna_enrolment, assignee__user__email=NURSE
    ).first()
    anna_delivery = Activity.objects.filter(
        enrolment=anna_enrolment, assignee__user__email=DRIVER, module__code="drug-delivery"
    ).first()
    return {
        "anna_enrolment": anna_enrolment.pk,
        "marco_enrolment": marco_enrolment.pk,
        "anna_code": anna.code,
        "marco_code": marco.code,
        "anna_patient": anna.pk,
        "anna_infusion": anna_infusion.pk,
        "anna_delivery": anna_delivery.pk,
    }


MATRIX: list[tuple[str, dict[str, int]]] = [
    ("/admin/", admin_site(STAFF)),
    ("/admin/psp_crm/patient/{anna_patient}/change/", admin_site(STAFF)),
    ("/client/", portal(CLIENTS)),
    ("/client/programs/MS-ADHERE/", objects(CLIENTS, {NORTHWIND})),
    ("/client/programs/PSO-CARE/", objects(CLIENTS, {NORTHWIND})),
    ("/client/programs/RA-HOME/", objects(CLIENTS, {SOUTHWIND})),
    ("/client/programs/NO-SUCH-PROGRAM/", objects(CLIENTS, set())),
    ("/doctor/", portal(DOCTORS)),
    ("/doctor/patients/{anna_enrolment}/", objects(DOCTORS, {ROSSI})),
    ("/doctor/patients/{marco_enrolment}/", objects(DOCTORS, {BIANCHI})),
    ("/doctor/patients/999999999/", objects(DOCTORS, set())),
    ("/patient/", portal(PATIENT_PORTAL)),
    # Only caregivers have per-patient pages; a patient's own page is /patient/.
    ("/patient/p/{anna_code}/", {**portal({LUCA}), ANNA: 403, MARCO: 403}),
    ("/patient/p/{marco_code}/", {**objects({LUCA}, set()), ANNA: 403, MARCO: 403}),
    ("/patient/preferences/", portal(PATIENT_PORTAL)),
    ("/patient/messages/", portal(PATIENT_PORTAL)),
    # A patient's own pages have no /p/<code>/ form: for her (and anyone else) that is a 404.
    ("/patient/p/{anna_code}/preferences/", objects(PATIENT_PORTAL, {LUCA})),
    ("/patient/p/{anna_code}/messages/", objects(PATIENT_PORTAL, {LUCA})),
    ("/patient/p/{marco_code}/preferences/", objects(PATIENT_PORTAL, set())),
    ("/operator/", portal(OPERATORS)),
    # An operator opens only her own work; another operator's activity is a 404.
    ("/operator/activities/{anna_infusion}/", objects(OPERATORS, {NURSE})),
    ("/operator/activities/{anna_delivery}/", objects(OPERATORS, {DRIVER})),
    ("/operator/activities/999999999/", objects(OPERATORS, set())),
    # Timelines: clinical operators of the patient's programs; never logistics (404).
    ("/operator/patients/{anna_code}/timeline/", objects(OPERATORS, {NURSE, COUNSELLOR})),
    ("/operator/patients/{marco_code}/timeline/", objects(OPERATORS, {COUNSELLOR})),
    ("/operator/calls/", {**portal(OPERATORS), DRIVER: 403}),
    ("/operator/calls/outbound/", {**portal(OPERATORS), DRIVER: 403}),
    ("/doctor/patients/{anna_enrolment}/timeline/", objects(DOCTORS, {ROSSI})),
    ("/doctor/patients/{anna_enrolment}/adverse-events/new/", objects(DOCTORS, {ROSSI})),
    ("/control/", portal(STAFF)),
]

CELLS = [
    pytest.param(path, email, expected[email], id=f"{path}|{email.split('@')[0]}")
    for path, expected in MATRIX
    for email in ACCOUNTS
]


@pytest.mark.parametrize(("path", "email", "expected"), CELLS)
def test_access_matrix(client, demo_user, world, path, email, expected):
    client.force_login(demo_user(email))
    response = client.get(path.format(**world))
    assert response.status_code == expected, f"{email} on {path}"
    if expected == 302:
        assert "/login/" in response["Location"]


@pytest.mark.parametrize(("path", "_"), MATRIX, ids=[path for path, _ in MATRIX])
def test_anonymous_is_sent_to_sign_in(client, world, path, _):
    response = client.get(path.format(**world))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_client_pages_never_show_a_patient_identity(client, demo_user, world):
    anna = Patient.objects.get(pk=world["anna_patient"])
    client.force_login(demo_user(NORTHWIND))
    for path in ("/client/", "/client/programs/MS-ADHERE/", "/client/programs/PSO-CARE/"):
        html = client.get(path).content.decode()
        for identity in (
            anna.first_name + " " + anna.last_name,
            anna.code,
            anna.fiscal_code or "§",
        ):
            assert identity not in html, f"{identity!r} shown on {path}"


def test_driver_sees_delivery_data_but_no_diary(client, demo_user, world):
    enrolment = Enrolment.objects.get(pk=world["anna_enrolment"])
    latest_note = enrolment.diary_entries.exclude(note="").order_by("-occurred_at").first()
    client.force_login(demo_user(DRIVER))
    html = client.get(f"/operator/activities/{world['anna_delivery']}/").content.decode()
    assert enrolment.patient.address in html
    assert 'data-testid="diary-entries"' not in html
    assert latest_note is None or latest_note.note not in html
    assert enrolment.program.pathology not in html


def test_nurse_sees_the_clinical_context(client, demo_user, world):
    client.force_login(demo_user(NURSE))
    html = client.get(f"/operator/activities/{world['anna_infusion']}/").content.decode()
    assert 'data-testid="diary-entries"' in html


def test_doctor_list_shows_only_followed_patients(client, demo_user, world):
    client.force_login(demo_user(ROSSI))
    html = client.get("/doctor/").content.decode()
    assert "Anna Conti" in html
    assert "Marco Ferri" not in html


# A write endpoint: the patient asks on a call to stop phone calls. Who may record it for Anna.
WITHDRAW_ON_CALL = {**objects(OPERATORS, {NURSE, COUNSELLOR}), NURSE: 302, COUNSELLOR: 302}


@pytest.mark.parametrize("email", ACCOUNTS, ids=[a.split("@")[0] for a in ACCOUNTS])
def test_consent_withdrawal_on_a_call_matrix(client, demo_user, world, email):
    from psp_crm.models import Consent

    def in_force() -> bool:
        return Consent.objects.filter(
            patient_id=world["anna_patient"],
            kind=Consent.Kind.CHANNEL_PHONE,
            withdrawn_at__isnull=True,
        ).exists()

    assert in_force()
    client.force_login(demo_user(email))
    response = client.post(
        f"/operator/patients/{world['anna_code']}/consents/withdraw/", {"channel": "phone"}
    )
    assert response.status_code == WITHDRAW_ON_CALL[email], email
    assert in_force() is (WITHDRAW_ON_CALL[email] != 302)


@pytest.mark.parametrize("email", ACCOUNTS, ids=[a.split("@")[0] for a in ACCOUNTS])
def test_contact_settings_on_a_call_matrix(client, demo_user, world, email):
    """She asks on a call for English messages: the same who-may as the withdrawal above."""
    from psp_crm.models import ContactPreferences

    client.force_login(demo_user(email))
    response = client.post(
        f"/operator/patients/{world['anna_code']}/contact-settings/",
        {
            "contact-language": "en",
            "contact-quiet_start": "",
            "contact-quiet_end": "",
            "contact-reminder_time": "09:00",
        },
    )
    assert response.status_code == WITHDRAW_ON_CALL[email], email
    changed = ContactPreferences.objects.filter(
        patient_id=world["anna_patient"], language="en"
    ).exists()
    assert changed is (WITHDRAW_ON_CALL[email] == 302)
