"""Channel backends: in-app, e-mail, the outbox file, the console, the failing one; lookup."""

from __future__ import annotations

import io
import json
import logging

import pytest

from psp_crm.messaging.backends import (
    ConsoleBackend,
    DeliveryError,
    EmailBackend,
    FailingBackend,
    FileBackend,
    InAppBackend,
    get_backend,
)
from psp_crm.models import Channel, Message
from tests.factories import sms_dose_reminder


@pytest.fixture
def message(db) -> Message:
    return sms_dose_reminder()


def test_in_app_returns_a_reference(message):
    assert InAppBackend().send(message) == f"in_app:{message.pk}"


def test_email_goes_through_django_mail(message, mailoutbox, settings):
    message.channel, message.to_address = Channel.EMAIL, "anna@example.com"
    ref = EmailBackend().send(message)
    assert len(mailoutbox) == 1
    sent = mailoutbox[0]
    assert sent.to == ["anna@example.com"]
    assert sent.from_email == settings.DEFAULT_FROM_EMAIL
    assert (sent.subject, sent.body) == ("Dose", "Ciao Anna, è ora della dose.")
    assert ref == sent.extra_headers["Message-ID"] and len(ref) <= 100


def test_email_failure_becomes_a_delivery_error(message, monkeypatch):
    from django.core.mail import EmailMessage

    def broken(self, fail_silently=False):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(EmailMessage, "send", broken)
    message.channel, message.to_address = Channel.EMAIL, "anna@example.com"
    with pytest.raises(DeliveryError) as caught:
        EmailBackend().send(message)
    assert caught.value.transient and "smtp down" in str(caught.value)


def test_email_without_address_is_a_permanent_error(message):
    message.channel, message.to_address = Channel.EMAIL, ""
    with pytest.raises(DeliveryError) as caught:
        EmailBackend().send(message)
    assert not caught.value.transient


def test_file_backend_appends_json_lines_and_logs(message, settings, tmp_path, caplog):
    settings.PSP_OUTBOX_DIR = str(tmp_path / "outbox")
    with caplog.at_level(logging.INFO, logger="psp_crm.messaging.outbox"):
        ref = FileBackend().send(message)
        FileBackend().send(message)
    lines = (tmp_path / "outbox" / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    row = json.loads(lines[0])
    assert row["id"] == message.pk and row["channel"] == "sms"
    assert row["to"] == "+39 333 1234567" and row["body"] == message.body
    assert row["subject"] == "Dose" and row["at"]
    assert ref == f"file:sms:{message.pk}"
    assert [r.name for r in caplog.records] == ["psp_crm.messaging.outbox"] * 2
    assert "dose" not in caplog.records[0].getMessage().lower()  # no message text in logs


def test_file_backend_names_the_app_user_for_push(message, settings, tmp_path):
    settings.PSP_OUTBOX_DIR = str(tmp_path)
    message.channel, message.to_address = Channel.PUSH, ""
    FileBackend().send(message)
    row = json.loads((tmp_path / "push.jsonl").read_text(encoding="utf-8"))
    assert row["to"] == f"user:{message.recipient_id}"


def test_file_backend_unwritable_outbox_is_a_delivery_error(message, settings, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    settings.PSP_OUTBOX_DIR = str(blocker / "outbox")
    with pytest.raises(DeliveryError):
        FileBackend().send(message)


def test_console_backend_prints(message):
    stream = io.StringIO()
    ref = ConsoleBackend(stream=stream).send(message)
    assert "Ciao Anna" in stream.getvalue() and "+39 333 1234567" in stream.getvalue()
    assert ref == f"console:sms:{message.pk}"


def test_failing_backend_always_fails_transiently(message):
    with pytest.raises(DeliveryError) as caught:
        FailingBackend().send(message)
    assert caught.value.transient


def test_get_backend_follows_settings(settings):
    assert isinstance(get_backend("in_app"), InAppBackend)
    assert isinstance(get_backend("sms"), FileBackend)
    settings.PSP_CHANNEL_BACKENDS = {
        **settings.PSP_CHANNEL_BACKENDS,
        "sms": "psp_crm.messaging.backends.FailingBackend",
    }
    assert isinstance(get_backend("sms"), FailingBackend)
    with pytest.raises(DeliveryError):
        get_backend("pigeon")
