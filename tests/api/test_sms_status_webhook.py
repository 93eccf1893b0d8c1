"""The signed delivery-report webhook: the provider tells us an SMS reached the phone (or not);
the message's status follows, on the patient's timeline. Unsigned, stale or malformed reports
are refused and change nothing."""

from __future__ import annotations

import json
import time

import pytest
from django.utils import timezone

from psp_crm.models import AuditEvent, ContactPreferences, Message, Patient
from psp_crm.webhooks import sign_sms_webhook

URL = "/hooks/sms/status/"
SECRET = "test-sms-secret"
NERI = "counsellor.neri@curaplus.example"


@pytest.fixture(autouse=True)
def secret(settings, tmp_path):
    settings.PSP_SMS_WEBHOOK_SECRET = SECRET
    settings.PSP_SMS_WEBHOOK_MAX_AGE_SECONDS = 300
    settings.PSP_OUTBOX_DIR = str(tmp_path)


@pytest.fixture
def sent(demo_world, demo_user, tmp_path, django_capture_on_commit_callbacks) -> Message:
    """Neri texts Anna from her timeline; the file backend writes the outbox line with its ref."""
    from psp_crm.services.messaging import message_send

    anna = Patient.objects.get(user__email="anna.conti@example.com")
    ContactPreferences.objects.update_or_create(
        patient=anna, defaults={"quiet_start": None, "quiet_end": None}
    )
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(
            actor=demo_user(NERI), patient=anna, channel="sms", text="DLR-TEST: see you at 10."
        )
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    return message


def outbox_ref(tmp_path, message: Message) -> str:
    lines = [json.loads(line) for line in (tmp_path / "sms.jsonl").read_text().splitlines()]
    return next(line["ref"] for line in lines if line["id"] == message.pk)


def post(client, data: dict, *, secret: str = SECRET, timestamp: int | None = None):
    body = json.dumps(data).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "X-PSP-Timestamp": str(timestamp),
        "X-PSP-Signature": sign_sms_webhook(secret, timestamp, body),
    }
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def test_delivered_report_shows_on_annas_timeline(client, sent, tmp_path, demo_user):
    ref = outbox_ref(tmp_path, sent)
    assert ref == sent.provider_ref
    at = timezone.now().isoformat()
    response = post(client, {"ref": ref, "status": "delivered", "at": at})
    assert response.status_code == 200
    assert response.json() == {"status": "delivered", "changed": True}
    again = post(client, {"ref": ref, "status": "delivered", "at": at})
    assert again.json() == {"status": "delivered", "changed": False}
    sent.refresh_from_db()
    assert sent.status == Message.Status.DELIVERED and sent.delivered_at is not None
    neri = client.__class__()
    neri.force_login(demo_user(NERI))
    html = neri.get(f"/operator/patients/{sent.patient.code}/timeline/").content.decode()
    row = html[html.index("DLR-TEST") :]
    assert "Delivered" in row[: row.index("</tr>")]


def test_undelivered_report_fails_the_message_for_staff(client, sent):
    response = post(
        client, {"ref": sent.provider_ref, "status": "undelivered", "error": "phone off for 48 h"}
    )
    assert response.status_code == 200 and response.json()["status"] == "failed"
    sent.refresh_from_db()
    assert sent.last_error == "not delivered (undelivered): phone off for 48 h"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"status": "delivered"}, "ref"),
        ({"ref": "x", "status": ""}, "status"),
        ({"ref": "x", "status": 3}, "status"),
        ({"ref": "x", "status": "delivered", "at": "yesterday"}, "at"),
        ({"ref": "x", "status": "delivered", "error": ["a"]}, "error"),
        ({"ref": "x", "status": "seen"}, "status"),
    ],
)
def test_malformed_report_is_a_400_with_field_messages(client, sent, data, field):
    data = {**data, "ref": sent.provider_ref} if data.get("ref") == "x" else data
    response = post(client, data)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    sent.refresh_from_db()
    assert sent.status == Message.Status.SENT


def test_unknown_reference_is_a_404(client, sent):
    response = post(client, {"ref": "file:sms:999999999", "status": "delivered"})
    assert response.status_code == 404 and response.json()["error"] == "unknown"


def test_a_report_before_our_send_record_is_a_409(client, sent):
    Message.objects.filter(pk=sent.pk).update(status=Message.Status.RETRYING)
    response = post(client, {"ref": sent.provider_ref, "status": "delivered"})
    assert response.status_code == 409 and response.json()["error"] == "not_sent_yet"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"secret": "wrong"}, "bad_signature"),
        ({"timestamp": int(time.time()) - 3600}, "stale"),
    ],
)
def test_unsigned_or_stale_reports_are_refused(client, sent, kwargs, error):
    before = AuditEvent.objects.count()
    response = post(client, {"ref": sent.provider_ref, "status": "delivered"}, **kwargs)
    assert response.status_code == 403 and response.json()["error"] == error
    unsigned = client.post(
        URL, data=b'{"ref": "x", "status": "delivered"}', content_type="application/json"
    )
    assert unsigned.status_code == 403 and unsigned.json()["error"] == "unsigned"
    sent.refresh_from_db()
    assert sent.status == Message.Status.SENT and AuditEvent.objects.count() == before


def test_not_json_and_storage_failure_are_never_a_500(client, sent, monkeypatch):
    from psp_crm import webhooks

    timestamp = int(time.time())
    body = b"not json"
    headers = {
        "X-PSP-Timestamp": str(timestamp),
        "X-PSP-Signature": sign_sms_webhook(SECRET, timestamp, body),
    }
    response = client.post(URL, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 400

    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(webhooks, "message_delivery_report", broken)
    assert post(client, {"ref": sent.provider_ref, "status": "delivered"}).status_code == 503


def test_only_post_is_accepted(client):
    assert client.get(URL).status_code == 405
