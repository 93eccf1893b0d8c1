"""Webhooks that outside providers call (no session, no CSRF token: a shared-secret signature).

``POST /hooks/sms/inbound/`` — the SMS provider forwards a patient's reply::

    X-PSP-Timestamp: <unix seconds>
    X-PSP-Signature: hex(HMAC-SHA256(PSP_SMS_WEBHOOK_SECRET, b"<timestamp>." + raw body))
    {"id": "<provider message id>", "from": "+39 347 …", "text": "…", "sent_at": "<ISO 8601>"}

Answers: 201 ``{"status": "matched" | "unmatched"}``; 400 with field messages for a malformed
body; 403 for a missing or wrong signature, or a timestamp further than
``PSP_SMS_WEBHOOK_MAX_AGE_SECONDS`` from now (``stale``); 409 for an id seen before
(``replayed``); 503 when no secret is configured or the request could not be stored (the
provider retries; a retry is idempotent). Never a 500.

``POST /hooks/sms/status/`` — the provider's delivery report of an SMS we sent, signed the same
way::

    {"ref": "<the reference its API gave us when we sent>", "status": "delivered" | "undelivered"
     | "failed" | "expired" | "rejected", "at": "<ISO 8601>", "error": "<its reason, optional>"}

Answers: 200 ``{"status": "<the message's status now>", "changed": true | false}``; 400 with
field messages; 403 as above; 404 for a reference we never sent; 409 ``not_sent_yet`` when the
report overtakes our own record of the send (the provider retries); 503 as above.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .errors import NotFound
from .services.delivery_reports import NotSentYet, message_delivery_report
from .services.inbound_sms import Replayed, inbound_sms_receive

logger = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-PSP-Timestamp"
SIGNATURE_HEADER = "X-PSP-Signature"
MAX_BODY_BYTES = 64 * 1024


def sign_sms_webhook(secret: str, timestamp: int | str, body: bytes) -> str:
    """The signature the SMS provider sends: hex HMAC-SHA256 of ``b"<timestamp>." + body``."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _refuse(status: int, error: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": error, **extra}, status=status)


def _check_signature(request: HttpRequest, secret: str, body: bytes) -> JsonResponse | None:
    """None when the request is signed with ``secret`` and fresh; otherwise the refusal."""
    timestamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
    signature = request.headers.get(SIGNATURE_HEADER, "").strip().lower()
    if not timestamp or not signature:
        return _refuse(
            403, "unsigned", detail="Sign the request (X-PSP-Timestamp, X-PSP-Signature)."
        )
    if not timestamp.isdigit() or len(timestamp) > 12:
        return _refuse(403, "bad_signature", detail="The timestamp must be unix seconds.")
    expected = sign_sms_webhook(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return _refuse(403, "bad_signature", detail="The signature does not match.")
    # Checked after the signature so that an attacker learns nothing from the answer.
    max_age = settings.PSP_SMS_WEBHOOK_MAX_AGE_SECONDS
    if abs(time.time() - int(timestamp)) > max_age:
        return _refuse(403, "stale", detail=f"The timestamp is more than {max_age} s off.")
    return None


def _when(value: Any) -> tuple[Any, str]:
    """An optional ISO 8601 date and time: (the datetime or None, the field message or "")."""
    if value in (None, ""):
        return None, ""
    if not isinstance(value, str):
        return None, "Give an ISO 8601 date and time."
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        return None, "Give an ISO 8601 date and time."
    return parsed, ""


def _required_strings(data: dict[str, Any], fields: tuple[str, ...], id_field: str) -> dict:
    """Field messages for required text fields (the provider's id may come as a number)."""
    errors: dict[str, str] = {}
    for field in fields:
        value = data.get(field)
        if value is None or value == "":
            errors[field] = "This field is required."
        elif field == id_field and isinstance(value, int) and not isinstance(value, bool):
            data[field] = str(value)
        elif not isinstance(value, str):
            errors[field] = "This field must be a string."
    return errors


def _parse(data: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The fields of an inbound SMS, or the field messages of what is wrong with it."""
    errors = _required_strings(data, ("id", "from", "text"), id_field="id")
    data["sent_at"], sent_at_error = _when(data.get("sent_at"))
    if sent_at_error:
        errors["sent_at"] = sent_at_error
    return (None, errors) if errors else (data, {})


def _field_errors(error: ValidationError) -> dict[str, Any]:
    if hasattr(error, "error_dict"):
        return {field: " ".join(messages) for field, messages in error.message_dict.items()}
    return {"body": " ".join(error.messages)}


def _signed_body(request: HttpRequest) -> tuple[dict[str, Any] | None, JsonResponse | None]:
    """The JSON object of a signed, fresh request; or the refusal (503, 400 or 403)."""
    secret = settings.PSP_SMS_WEBHOOK_SECRET
    if not secret:
        return None, _refuse(503, "not_configured", detail="The SMS webhook is not configured.")
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return None, _refuse(400, "too_large", fields={"body": "The body is too large."})
    body = request.body
    refusal = _check_signature(request, secret, body)
    if refusal is not None:
        return None, refusal
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, _refuse(400, "invalid", fields={"body": "The body is not valid JSON."})
    if not isinstance(data, dict):
        return None, _refuse(400, "invalid", fields={"body": "The body must be a JSON object."})
    return data, None


@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> JsonResponse:
    """Receive a patient's SMS from the provider (signed; unsigned or replayed requests refused)."""
    raw, refusal = _signed_body(request)
    if refusal is not None:
        return refusal
    data, errors = _parse(raw)
    if data is None:
        return _refuse(400, "invalid", fields=errors)
    try:
        sms = inbound_sms_receive(
            provider_ref=data["id"],
            from_number=data["from"],
            body=data["text"],
            sent_at=data["sent_at"],
        )
    except Replayed:
        return _refuse(409, "replayed", detail="This message id was received before.")
    except ValidationError as error:
        return _refuse(400, "invalid", fields=_field_errors(error))
    except Exception:  # the provider retries on 5xx; the id keeps a retry idempotent
        logger.exception("inbound SMS %s could not be stored", data.get("id"))
        return _refuse(503, "unavailable", detail="Try again later.")
    return JsonResponse(
        {
            "status": sms.status,
            "opt_out": sms.opt_out,
            "appointment_answer": sms.appointment_answer or None,
        },
        status=201,
    )


def _parse_report(data: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The fields of a delivery report, or the field messages of what is wrong with it."""
    errors = _required_strings(data, ("ref", "status"), id_field="ref")
    error = data.get("error")
    if error is None:
        data["error"] = ""
    elif not isinstance(error, str):
        errors["error"] = "This field must be a string."
    data["at"], at_error = _when(data.get("at"))
    if at_error:
        errors["at"] = at_error
    return (None, errors) if errors else (data, {})


@csrf_exempt
@require_POST
def sms_status(request: HttpRequest) -> JsonResponse:
    """Receive the provider's delivery report of an SMS we sent (signed, idempotent)."""
    raw, refusal = _signed_body(request)
    if refusal is not None:
        return refusal
    data, errors = _parse_report(raw)
    if data is None:
        return _refuse(400, "invalid", fields=errors)
    try:
        message, changed = message_delivery_report(
            provider_ref=data["ref"], status=data["status"], at=data["at"], error=data["error"]
        )
    except NotFound:
        return _refuse(404, "unknown", detail="No SMS was sent with this reference.")
    except NotSentYet:
        return _refuse(409, "not_sent_yet", detail="Report it again in a minute.")
    except ValidationError as error:
        return _refuse(400, "invalid", fields=_field_errors(error))
    except Exception:  # the provider retries on 5xx; a report is idempotent
        logger.exception("delivery report of %s could not be stored", data.get("ref"))
        return _refuse(503, "unavailable", detail="Try again later.")
    return JsonResponse({"status": message.status, "changed": changed})
