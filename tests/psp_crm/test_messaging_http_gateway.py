"""The HTTP gateway backend against a real local HTTP server: what it posts, how it reads the
provider's answers (id, permanent and transient errors, timeouts), and what the delivery service
then records: sent with the provider's id, retried with backoff, or failed for staff to see."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest

from psp_crm.messaging.backends import DeliveryError, HttpGatewayBackend
from psp_crm.models import Channel, Consent, Message
from psp_crm.services.messaging import message_deliver
from tests.factories import ConsentFactory, sms_dose_reminder

BACKEND = "psp_crm.messaging.backends.HttpGatewayBackend"


class Gateway:
    """A provider stand-in: records each request and answers what the test scripted."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answer: tuple[int, bytes] = (202, b'{"id": "gw-1"}')
        self.delay = 0.0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                gateway.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": json.loads(self.rfile.read(length) or b"null"),
                    }
                )
                if gateway.delay:
                    time.sleep(gateway.delay)
                status, body = gateway.answer
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/messages"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(settings):
    server = Gateway()
    settings.PSP_GATEWAYS = {
        "sms": {"url": server.url, "token": "sms-token"},
        "push": {"url": server.url, "token": ""},
    }
    settings.PSP_GATEWAY_TIMEOUT_SECONDS = 2
    settings.PSP_CHANNEL_BACKENDS = {**settings.PSP_CHANNEL_BACKENDS, "sms": BACKEND}
    yield server
    server.close()


@pytest.fixture
def message(db) -> Message:
    return sms_dose_reminder()


def test_posts_json_with_token_and_idempotency_key_and_keeps_the_providers_id(gateway, message):
    assert HttpGatewayBackend().send(message) == "gw-1"
    (request,) = gateway.requests
    assert request["path"] == "/v1/messages"
    assert request["headers"]["Authorization"] == "Bearer sms-token"
    assert request["headers"]["Idempotency-Key"] == f"psp-message-{message.pk}"
    assert request["body"] == {
        "ref": f"psp:sms:{message.pk}",
        "channel": "sms",
        "to": "+39 333 1234567",
        "subject": "Dose",
        "text": "Ciao Anna, è ora della dose.",
    }


def test_without_an_id_in_the_answer_our_ref_names_the_message(gateway, message):
    gateway.answer = (200, b"accepted")
    assert HttpGatewayBackend().send(message) == f"psp:sms:{message.pk}"


def test_push_names_the_app_user_and_sends_no_token_when_none_is_set(gateway, message):
    message.channel, message.to_address = Channel.PUSH, ""
    HttpGatewayBackend().send(message)
    request = gateway.requests[0]
    assert request["body"]["to"] == f"user:{message.recipient_id}"
    assert "Authorization" not in request["headers"]


@pytest.mark.parametrize(
    ("status", "transient"), [(400, False), (401, False), (422, False), (429, True), (503, True)]
)
def test_provider_errors_say_whether_to_try_again(gateway, message, status, transient):
    gateway.answer = (status, b'{"error": "invalid number"}')
    with pytest.raises(DeliveryError) as error:
        HttpGatewayBackend().send(message)
    assert error.value.transient is transient
    assert f"answered {status}" in str(error.value)
    assert "invalid number" in str(error.value)


def test_a_timeout_is_transient(gateway, message, settings):
    settings.PSP_GATEWAY_TIMEOUT_SECONDS = 0.2
    gateway.delay = 1.0
    with pytest.raises(DeliveryError) as error:
        HttpGatewayBackend().send(message)
    assert error.value.transient
    assert "unreachable" in str(error.value)


def test_a_closed_port_is_transient(gateway, message, settings):
    gateway.close()
    with pytest.raises(DeliveryError) as error:
        HttpGatewayBackend().send(message)
    assert error.value.transient


def test_no_gateway_configured_is_a_permanent_error_that_names_the_setting(message, settings):
    settings.PSP_GATEWAYS = {"sms": {"url": "", "token": ""}}
    with pytest.raises(DeliveryError) as error:
        HttpGatewayBackend().send(message)
    assert not error.value.transient
    assert "PSP_SMS_GATEWAY_URL" in str(error.value)


# --- through the delivery service --------------------------------------------------------------


# Mid-morning in Rome: outside the default quiet hours (21:00–08:00).
MORNING = dt.datetime(2026, 12, 4, 10, 0, tzinfo=ZoneInfo("Europe/Rome"))


def _queued(message: Message) -> Message:
    """The message as the delivery task finds it, to a patient who consented to SMS."""
    ConsentFactory(patient=message.patient, kind=Consent.Kind.CHANNEL_SMS)
    assert message.status == Message.Status.QUEUED
    return message


def test_delivery_records_the_providers_id_which_its_delivery_report_names(gateway, message):
    from psp_crm.services.delivery_reports import message_delivery_report

    sent = message_deliver(_queued(message).pk, now=MORNING)
    assert (sent.status, sent.provider_ref, sent.attempts) == (Message.Status.SENT, "gw-1", 1)
    reported, changed = message_delivery_report(provider_ref="gw-1", status="delivered")
    assert changed and reported.pk == message.pk
    assert reported.status == Message.Status.DELIVERED


def test_a_provider_outage_is_retried_later_and_the_message_kept(gateway, message):
    gateway.answer = (503, b"maintenance")
    retried = message_deliver(_queued(message).pk, now=MORNING)
    assert retried.status == Message.Status.RETRYING
    assert retried.next_attempt_at is not None
    assert "answered 503: maintenance" in retried.last_error
    gateway.answer = (202, b'{"id": "gw-2"}')
    sent = message_deliver(retried.pk, now=retried.next_attempt_at)
    assert (sent.status, sent.provider_ref, sent.attempts) == (Message.Status.SENT, "gw-2", 2)
    # Both attempts carried the same idempotency key: the provider can drop a duplicate.
    keys = {r["headers"]["Idempotency-Key"] for r in gateway.requests}
    assert keys == {f"psp-message-{message.pk}"}


def test_a_refused_number_fails_at_once_for_staff_to_see(gateway, message):
    gateway.answer = (400, b'{"error": "not a mobile number"}')
    failed = message_deliver(_queued(message).pk, now=MORNING)
    assert failed.status == Message.Status.FAILED
    assert failed.next_attempt_at is None
    assert "not a mobile number" in failed.last_error
