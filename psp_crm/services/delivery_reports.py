"""Delivery reports: the SMS provider tells us whether a message it took reached the phone.

``message_delivery_report`` is called by the signed webhook ``POST /hooks/sms/status/`` with the
reference our backend got when it handed the message over (``Message.provider_ref``):

- ``delivered`` → the message is *delivered* (``delivered_at`` = when the handset got it);
- ``undelivered``, ``failed``, ``expired``, ``rejected`` → *failed* (``failed_at``, the reason in
  ``last_error``): it is counted in the control room and staff may retry it from the admin. It is
  not retried by itself: a number that cannot take SMS will not take it five minutes later.

Reports are idempotent (the same report twice changes nothing), and *delivered* wins: a late
failure report for a message the phone already got is ignored. A report for a message whose
send we have not recorded yet raises ``NotSentYet`` (the webhook answers 409: the provider
retries), one for an unknown reference ``NotFound``.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from ..errors import DomainError, NotFound
from ..models import Channel, Message
from .audit import audit_write
from .interactions import FUTURE_TOLERANCE
from .messaging import ERROR_MAX, _emit

Status = Message.Status
DELIVERED = "delivered"
NOT_DELIVERED = frozenset({"undelivered", "failed", "expired", "rejected"})
REPORT_STATUSES = frozenset({DELIVERED, *NOT_DELIVERED})
REF_MAX = 100  # Message.provider_ref


class NotSentYet(DomainError):
    """The provider reports on a message we have not recorded as sent yet: try again later."""


def _validate(provider_ref: str, status: str, at: dt.datetime | None, error: str) -> None:
    errors: dict[str, str] = {}
    if not provider_ref:
        errors["ref"] = "Give the provider's reference of the message."
    elif len(provider_ref) > REF_MAX:
        errors["ref"] = f"Keep the reference under {REF_MAX} characters."
    if status not in REPORT_STATUSES:
        errors["status"] = "Use one of: " + ", ".join(sorted(REPORT_STATUSES)) + "."
    if at is not None:
        if timezone.is_naive(at):
            errors["at"] = "Give the time with its time zone."
        elif at > timezone.now() + FUTURE_TOLERANCE:
            errors["at"] = "The time is in the future."
    if len(error) > ERROR_MAX:
        errors["error"] = f"Keep the error under {ERROR_MAX} characters."
    if errors:
        raise DomainError(errors)


@transaction.atomic
def message_delivery_report(
    *, provider_ref: str, status: str, at: dt.datetime | None = None, error: str = ""
) -> tuple[Message, bool]:
    """Record the provider's delivery report of an SMS (the system acts: no user).

    Returns the message and whether the report changed it.
    """
    provider_ref = (provider_ref or "").strip()
    status = (status or "").strip().lower()
    error = (error or "").strip()
    _validate(provider_ref, status, at, error)
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("patient")
        .filter(channel=Channel.SMS, provider_ref=provider_ref)
        .order_by("-pk")
        .first()
    )
    if message is None:
        raise NotFound("No SMS was sent with this reference.")
    if message.status not in (Status.SENT, Status.DELIVERED, Status.FAILED):
        raise NotSentYet({"ref": "This message is not recorded as sent yet: report it again."})
    when = at or timezone.now()
    if message.sent_at is not None and when < message.sent_at:
        when = message.sent_at  # clocks differ: never delivered before it was sent
    if status == DELIVERED:
        if message.status == Status.DELIVERED:
            return message, False
        message.status = Status.DELIVERED
        message.delivered_at = when
        fields = ["status", "delivered_at"]
    else:
        if message.status in (Status.DELIVERED, Status.FAILED):
            return message, False  # delivered wins; failed already
        message.status = Status.FAILED
        message.failed_at = when
        message.last_error = f"not delivered ({status}){': ' + error if error else ''}"[:ERROR_MAX]
        message.next_attempt_at = None
        fields = ["status", "failed_at", "last_error", "next_attempt_at"]
    message.save(update_fields=fields)
    audit_write(
        actor=None,
        action="update",
        verb="message.delivery_report",
        obj=message,
        patient=message.patient,
        detail={"status": message.status, "provider_status": status, "error": error},
    )
    _emit(message)
    return message, True
