"""The signed SMS webhook: a patient's reply lands on her timeline; anything unsigned, stale,
replayed or malformed is refused, and nothing is written."""

from __future__ import annotations

import json
import time

import pytest

from psp_crm.models import (
    Activity,
    AuditEvent,
    Consent,
    Enrolment,
    InboundSms,
    Interaction,
    Patient,
)
from psp_crm.webhooks import sign_sms_webhook
from tests.factories import ActivityFactory, confirmation_sms

URL = "/hooks/sms/inbound/"
SECRET = "test-sms-secret"
ANNA_PHONE = "+39 347 555 0142"


@pytest.fixture(autouse=True)
def secret(settings):
    settings.PSP_SMS_WEBHOOK_SECRET = SECRET
    settings.PSP_SMS_WEBHOOK_MAX_AGE_SECONDS = 300


@pytest.fixture
def anna(demo_world) -> Patient:
    patient = Patient.objects.get(user__email="anna.conti@example.com")
    patient.phone = ANNA_PHONE
    patient.save(update_fields=["phone"])
    return patient


def payload(**fields) -> bytes:
    data = {"id": "sms-0001", "from": "3475550142", "text": "Confermo, grazie.", **fields}
    return json.dumps(data).encode()


def post(client, body: bytes, *, secret: str = SECRET, timestamp: int | None = None, **headers):
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = {
        "X-PSP-Timestamp": str(timestamp),
        "X-PSP-Signature": sign_sms_webhook(secret, timestamp, body),
    }
    signed.update(headers)
    signed = {k: v for k, v in signed.items() if v is not None}
    return client.post(URL, data=body, content_type="application/json", headers=signed)


def written() -> tuple[int, int, int]:
    return InboundSms.objects.count(), Interaction.objects.count(), AuditEvent.objects.count()


def test_signed_reply_lands_on_annas_timeline(client, anna):
    response = post(client, payload(sent_at="2026-01-01T10:00:00+01:00"))
    assert response.status_code == 201
    assert response.json() == {"status": "matched", "opt_out": False, "appointment_answer": None}
    sms = InboundSms.objects.get(provider_ref="sms-0001")
    assert sms.patient == anna
    interaction = Interaction.objects.get(patient=anna, channel="sms", direction="in")
    assert interaction.summary == "Confermo, grazie."
    assert interaction.handled_by is None
    # Demo Anna was sent an SMS reminder: the reply is linked to it and to its program.
    if sms.in_reply_to is not None:
        assert interaction.enrolment_id == sms.in_reply_to.enrolment_id


def test_timeline_shows_the_reply_to_the_care_team(client, anna, demo_user):
    from django.test import Client

    post(client, payload(text="Posso spostare la visita?"))
    counsellor = Client()
    counsellor.force_login(demo_user("counsellor.neri@curaplus.example"))
    html = counsellor.get(f"/operator/patients/{anna.code}/timeline/").content.decode()
    assert "Posso spostare la visita?" in html


def test_stop_withdraws_annas_sms_consent_and_shows_on_her_timeline(client, anna, demo_user):
    from django.test import Client

    assert Consent.objects.filter(
        patient=anna, kind=Consent.Kind.CHANNEL_SMS, withdrawn_at__isnull=True
    ).exists()
    response = post(client, payload(id="sms-stop", text="STOP"))
    assert response.status_code == 201
    assert response.json() == {"status": "matched", "opt_out": True, "appointment_answer": None}
    assert not Consent.objects.filter(
        patient=anna, kind=Consent.Kind.CHANNEL_SMS, withdrawn_at__isnull=True
    ).exists()
    nurse = Client()
    nurse.force_login(demo_user("nurse.verdi@curaplus.example"))
    html = nurse.get(f"/operator/patients/{anna.code}/timeline/").content.decode()
    assert "Consent withdrawn: Contact by SMS" in html and "SMS reply" in html


def test_unsigned_request_is_refused(client, anna):
    before = written()
    response = client.post(URL, data=payload(), content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"] == "unsigned"
    assert written() == before


def test_wrong_secret_is_refused(client, anna):
    before = written()
    response = post(client, payload(), secret="not-the-secret")
    assert response.status_code == 403
    assert response.json()["error"] == "bad_signature"
    assert written() == before


def test_tampered_body_is_refused(client, anna):
    timestamp = int(time.time())
    signature = sign_sms_webhook(SECRET, timestamp, payload())
    response = client.post(
        URL,
        data=payload(text="Something else"),
        content_type="application/json",
        headers={"X-PSP-Timestamp": str(timestamp), "X-PSP-Signature": signature},
    )
    assert response.status_code == 403


@pytest.mark.parametrize("offset", [-310, 310, -86400])
def test_stale_timestamp_is_refused(client, anna, offset):
    before = written()
    response = post(client, payload(), timestamp=int(time.time()) + offset)
    assert response.status_code == 403
    assert response.json()["error"] == "stale"
    assert written() == before


def test_non_numeric_timestamp_is_refused(client, anna):
    response = post(client, payload(), **{"X-PSP-Timestamp": "yesterday"})
    assert response.status_code == 403


def test_replayed_id_is_refused_and_writes_nothing(client, anna):
    assert post(client, payload()).status_code == 201
    before = written()
    response = post(client, payload(text="Again"))
    assert response.status_code == 409
    assert response.json()["error"] == "replayed"
    assert written() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (json.dumps({"from": "3475550142", "text": "x"}).encode(), "id"),
        (json.dumps({"id": "a", "text": "x"}).encode(), "from"),
        (json.dumps({"id": "a", "from": "3475550142"}).encode(), "text"),
        (json.dumps({"id": "a", "from": 3475550142, "text": "x"}).encode(), "from"),
        (json.dumps({"id": "a", "from": "34", "text": "x"}).encode(), "from"),
        (payload(sent_at="last tuesday"), "sent_at"),
        (payload(sent_at="2026-01-01T10:00:00"), "sent_at"),  # no time zone
    ],
)
def test_malformed_body_is_a_400_with_field_messages(client, anna, body, field):
    before = written()
    response = post(client, body)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert written() == before


def test_unknown_number_is_kept_unmatched(client, anna):
    before = Interaction.objects.count()
    response = post(client, payload(id="sms-0002", **{"from": "+39 333 123 4567"}))
    assert response.status_code == 201
    assert response.json() == {"status": "unmatched", "opt_out": False, "appointment_answer": None}
    sms = InboundSms.objects.get(provider_ref="sms-0002")
    assert sms.status == InboundSms.Status.UNMATCHED and sms.patient is None
    assert Interaction.objects.count() == before


def test_no_secret_configured_refuses_everything(client, anna, settings):
    settings.PSP_SMS_WEBHOOK_SECRET = ""
    before = written()
    response = post(client, payload(), secret="")
    assert response.status_code == 503
    assert written() == before


def test_only_post_is_accepted(client):
    assert client.get(URL).status_code == 405


def test_a_storage_failure_is_a_503_not_a_500(client, anna, monkeypatch):
    from psp_crm import webhooks

    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(webhooks, "inbound_sms_receive", broken)
    response = post(client, payload())
    assert response.status_code == 503


def test_no_session_is_needed_and_csrf_is_not_asked(anna):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert post(strict, payload(id="sms-0003")).status_code == 201


def test_yes_to_the_appointment_sms_confirms_it(client, anna):
    """The day-before SMS asked her to reply YES or NO: her YES confirms the visit."""
    enrolment = Enrolment.objects.get(patient=anna, program__code="MS-ADHERE")
    visit = ActivityFactory(enrolment=enrolment)
    confirmation_sms(visit)
    response = post(client, payload(id="sms-yes-1", text="Confermo, grazie."))
    assert response.status_code == 201
    assert response.json() == {
        "status": "matched",
        "opt_out": False,
        "appointment_answer": "confirmed",
    }
    visit.refresh_from_db()
    assert visit.status == Activity.Status.CONFIRMED
    assert visit.patient_answer == Activity.PatientAnswer.CONFIRMED
