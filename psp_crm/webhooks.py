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


def _parse(body: bytes) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The fields of the JSON body, or the field messages of what is wrong with it."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, {"body": "The body is not valid JSON."}
    if not isinstance(data, dict):
        return None, {"body": "The body must be a JSON object."}
    errors: dict[str, str] = {}
    for field in ("id", "from", "text"):
        value = data.get(field)
        if value is None or value == "":
            errors[field] = "This field is required."
        elif field == "id" and isinstance(value, int) and not isinstance(value, bool):
            data[field] = str(value)
        elif not isinstance(value, str):
            errors[field] = "This field must be a string."
    sent_at = data.get("sent_at")
    if sent_at in (None, ""):
        data["sent_at"] = None
    elif not isinstance(sent_at, str):
        errors["sent_at"] = "Give an ISO 8601 date and time."
    else:
        try:
            parsed = parse_datetime(sent_at)
        except ValueError:
            parsed = None
        if parsed is None:
            errors["sent_at"] = "Give an ISO 8601 date and time."
        else:
            data["sent_at"] = parsed
    return (None, errors) if errors else (data, {})


def _field_errors(error: ValidationError) -> dict[str, Any]:
    if hasattr(error, "error_dict"):
        return {field: " ".join(messages) for field, messages in error.message_dict.items()}
    return {"body": " ".join(error.messages)}


@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> JsonResponse:
    """Receive a patient's SMS from the provider (signed; unsigned or replayed requests refused)."""
    secret = settings.PSP_SMS_WEBHOOK_SECRET
    if not secret:
        return _refuse(503, "not_configured", detail="The SMS webhook is not configured.")
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return _refuse(400, "too_large", fields={"body": "The body is too large."})
    body = request.body
    refusal = _check_signature(request, secret, body)
    if refusal is not None:
        return refusal
    data, errors = _parse(body)
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
    return JsonResponse({"status": sms.status, "opt_out": sms.opt_out}, status=201)
