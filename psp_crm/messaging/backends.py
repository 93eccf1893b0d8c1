"""Channel backends: how a rendered ``Message`` leaves the building.

One backend per channel, chosen in ``settings.PSP_CHANNEL_BACKENDS``. A backend's ``send`` returns
the provider's reference for the message, or raises ``DeliveryError`` (``transient=True``: worth
retrying later). The delivery service treats *any* exception as a failed attempt, so a broken
backend never loses the message record.

- ``InAppBackend``: the in-app ``Message`` row is the notification; nothing leaves.
- ``EmailBackend``: Django's e-mail framework (``MAILERS``; locmem in tests).
- ``FileBackend``: the default SMS/push provider; one JSON line per message in
  ``<PSP_OUTBOX_DIR>/<channel>.jsonl``.
- ``ConsoleBackend``: prints each message to stdout.
- ``HttpGatewayBackend``: a provider's HTTP API (JSON, bearer token), for SMS and push in
  production (``PSP_GATEWAYS``).
- ``FailingBackend``: always fails (tests, and staff rehearsing failures).
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import threading
import urllib.error
import urllib.request
from email.utils import make_msgid, parseaddr
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone
from django.utils.module_loading import import_string

from ..models import Message

outbox_logger = logging.getLogger("psp_crm.messaging.outbox")

REF_MAX = 100  # Message.provider_ref


class DeliveryError(Exception):
    """A send failed; ``transient`` says whether trying again later may succeed."""

    def __init__(self, message: str, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class ChannelBackend:
    """The provider interface: deliver one message, return the provider's reference."""

    def send(self, message: Message) -> str:
        raise NotImplementedError


class InAppBackend(ChannelBackend):
    """The in-app message row is the notification (the service pushes the live event)."""

    def send(self, message: Message) -> str:
        return f"in_app:{message.pk}"


class EmailBackend(ChannelBackend):
    """E-mail through Django's e-mail framework, from ``DEFAULT_FROM_EMAIL``."""

    def send(self, message: Message) -> str:
        if not message.to_address:
            raise DeliveryError("The message has no e-mail address.", transient=False)
        _name, sender = parseaddr(settings.DEFAULT_FROM_EMAIL)
        domain = sender.rpartition("@")[2] or "psp.example"
        message_id = make_msgid(idstring=f"psp{message.pk}", domain=domain)
        email = EmailMessage(
            subject=message.subject or str(message.get_purpose_display()),
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to_address],
            headers={"Message-ID": message_id},
        )
        try:
            sent = email.send()
        except Exception as exc:  # SMTP refusals, timeouts, DNS: all worth another try
            raise DeliveryError(f"E-mail not sent: {type(exc).__name__}: {exc}") from exc
        if not sent:
            raise DeliveryError("E-mail not sent: the mail backend accepted nothing.")
        return message_id[:REF_MAX]


def _address(message: Message) -> str:
    return message.to_address or (f"user:{message.recipient_id}" if message.recipient_id else "")


class FileBackend(ChannelBackend):
    """Appends one JSON line per message to ``<PSP_OUTBOX_DIR>/<channel>.jsonl``."""

    _lock = threading.Lock()

    def send(self, message: Message) -> str:
        outbox = Path(settings.PSP_OUTBOX_DIR)
        path = outbox / f"{message.channel}.jsonl"
        ref = f"file:{message.channel}:{message.pk}"
        line = {
            "id": message.pk,
            "ref": ref,  # what a provider's delivery report names the message by
            "channel": message.channel,
            "to": _address(message),
            "subject": message.subject,
            "body": message.body,
            "at": timezone.now().isoformat(),
        }
        try:
            outbox.mkdir(parents=True, exist_ok=True)
            with self._lock, path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise DeliveryError(f"Outbox not writable: {exc}") from exc
        # No text in the log line: message bodies can say which drug a patient takes.
        outbox_logger.info("%s message %s written to %s", message.channel, message.pk, path)
        return ref


class ConsoleBackend(ChannelBackend):
    """Prints each message to stdout (or ``stream``), like Django's console e-mail backend."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, message: Message) -> str:
        stream = self.stream or sys.stdout
        stream.write(
            f"--- {message.channel} message {message.pk} to {_address(message)}\n"
            + (f"Subject: {message.subject}\n" if message.subject else "")
            + f"{message.body}\n"
        )
        stream.flush()
        return f"console:{message.channel}:{message.pk}"


# Answers worth another try later: timeout, too early, too many requests, the provider's errors.
TRANSIENT_HTTP = frozenset({408, 425, 429})
ERROR_BODY_MAX = 200


class HttpGatewayBackend(ChannelBackend):
    """SMS or push through a provider's HTTP API, configured per channel in ``PSP_GATEWAYS``.

    ``POST <url>`` a JSON object ``{"ref", "channel", "to", "subject", "text"}`` with
    ``Authorization: Bearer <token>`` and ``Idempotency-Key: psp-message-<id>`` (the same on every
    attempt: a provider that honours it never sends a retried message twice). A 2xx answer's
    ``id`` (else our ``ref``) becomes the message's ``provider_ref``, which the provider's
    delivery reports (``/hooks/sms/status/``) name. Timeouts, connection errors, 408, 425, 429
    and 5xx are transient (retried with backoff); any other answer is permanent, with the
    provider's words in the error. For push, ``to`` is ``user:<id>``: the provider maps our user
    to her devices (its "external user id").
    """

    def send(self, message: Message) -> str:
        gateway = settings.PSP_GATEWAYS.get(message.channel) or {}
        url = gateway.get("url") or ""
        if not url:
            raise DeliveryError(
                f"No HTTP gateway is configured for {message.channel} "
                f"(PSP_{message.channel.upper()}_GATEWAY_URL).",
                transient=False,
            )
        to = _address(message)
        if not to:
            raise DeliveryError("The message has no address.", transient=False)
        ref = f"psp:{message.channel}:{message.pk}"
        payload = {
            "ref": ref,
            "channel": message.channel,
            "to": to,
            "subject": message.subject,
            "text": message.body,
        }
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": f"psp-message-{message.pk}",
        }
        if gateway.get("token"):
            headers["Authorization"] = f"Bearer {gateway['token']}"
        request = urllib.request.Request(
            url, data=json.dumps(payload).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(
                request, timeout=settings.PSP_GATEWAY_TIMEOUT_SECONDS
            ) as response:
                body = response.read(64 * 1024)
        except urllib.error.HTTPError as exc:
            words = exc.read(ERROR_BODY_MAX).decode("utf-8", "replace").strip()
            transient = exc.code in TRANSIENT_HTTP or exc.code >= 500
            raise DeliveryError(
                f"The {message.channel} gateway answered {exc.code}"
                + (f": {words}" if words else "."),
                transient=transient,
            ) from exc
        except (urllib.error.URLError, OSError) as exc:  # refused, DNS, TLS, timeout
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"The {message.channel} gateway is unreachable: {reason}") from exc
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            answer = {}
        provider_id = answer.get("id") if isinstance(answer, dict) else None
        return str(provider_id)[:REF_MAX] if provider_id else ref


class FailingBackend(ChannelBackend):
    """Always fails with a transient error: for tests and for rehearsing failures."""

    def send(self, message: Message) -> str:
        raise DeliveryError("The provider is unavailable (FailingBackend).")


@functools.cache
def _backend_class(path: str) -> type[ChannelBackend]:
    return import_string(path)


def get_backend(channel: str) -> ChannelBackend:
    """The backend configured for ``channel`` in ``settings.PSP_CHANNEL_BACKENDS``."""
    try:
        path = settings.PSP_CHANNEL_BACKENDS[channel]
    except KeyError:
        raise DeliveryError(f"No backend is configured for {channel}.", transient=False) from None
    return _backend_class(path)()
