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
