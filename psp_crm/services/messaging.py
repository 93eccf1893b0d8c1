"""Messages: queue, notify, deliver, retry. Every ``Message`` row is written here or, in bulk, by
``reminders`` with the writers below.

- ``message_queue`` records one send on one channel. Without the channel's consent (or without
  an address) the row is **skipped** and the reason kept: nothing is sent, the skip is visible
  on the timeline. Quiet hours **defer** every channel but in-app. Delivery is queued after
  commit (``tasks_messaging.deliver_message``).
- ``message_notify`` is what the rest of the domain calls: one row per channel the patient
  wants for the purpose (``messaging.policy``), consent applied per channel.
- ``message_deliver`` sends a due message through the channel's backend. Consent is checked
  again at send time (withdrawal takes effect at once). A failing backend never loses the row:
  the attempt is counted, the error kept, and the send retried with exponential backoff
  (1, 5, 25, 125 … minutes, at most 6 h) until ``PSP_MESSAGE_MAX_ATTEMPTS``, then *failed*.
- The periodic dose reminders and day-before confirmations live in ``services.reminders``:
  they follow ``message_notify``'s rules but queue in bulk, sharing the bulk writers below.
- ``deliver_due_messages`` delivers in batch: one ``SELECT … FOR UPDATE SKIP LOCKED`` claims and
  leases the batch (consent and quiet hours re-checked for all of it), the backends are called
  outside any transaction, the outcomes are written together (one audit row per message).

System sends (reminders, notifications) have no actor: their audit rows carry ``actor=None``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from .. import access
from ..errors import AccessDenied, DomainError
from ..events import enrolment_group, send_event_on_commit
from ..messaging import policy
from ..messaging.backends import DeliveryError, get_backend
from ..messaging.templates import TemplateCache, find_template, render
from ..models import (
    Activity,
    AuditEvent,
    Case,
    Channel,
    ContactPreferences,
    Delegation,
    Enrolment,
    Message,
    MessageTemplate,
    Patient,
    Purpose,
    Report,
    User,
)
from ..tasks_messaging import deliver_due, deliver_message
from .audit import audit_write
from .interactions import writer_role

logger = logging.getLogger(__name__)

Status = Message.Status
BACKOFF_FIRST = dt.timedelta(minutes=1)
BACKOFF_FACTOR = 5
BACKOFF_CAP = dt.timedelta(hours=6)
# While a worker talks to the provider the row is leased: other workers leave it alone until
# then. A worker that dies mid-send gives the message back when the lease runs out.
SEND_LEASE = dt.timedelta(minutes=10)
ERROR_MAX = 300
TEXT_MAX = 2000
SUBJECT_MAX = 200
DELIVER_BATCH = 500
CHANNEL_NAMES: dict[str, str] = {
    Channel.SMS: "SMS",
    Channel.EMAIL: "e-mail",
    Channel.PUSH: "push notifications",
    Channel.IN_APP: "in-app messages",
}
NO_ADDRESS: dict[str, str] = {
    Channel.SMS: "no phone number on file",
    Channel.EMAIL: "no e-mail address on file",
    Channel.PUSH: "no app login for push notifications",
}
SKIP_WITHDRAWN = "consent withdrawn before sending"
NO_COPIES = "the caregiver no longer asks for copies"
COPY_PREFIX = "Copy —"


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: 1 min × 5^(n-1), at most 6 h."""
    return min(BACKOFF_FIRST * BACKOFF_FACTOR ** max(attempts - 1, 0), BACKOFF_CAP)


def _groups(patient: Patient | None) -> list[str]:
    if patient is None:
        return []
    ids = Enrolment.objects.filter(patient=patient).values_list("pk", flat=True)
    return [enrolment_group(pk) for pk in ids]


def _emit(message: Message) -> None:
    send_event_on_commit(
        "message.status",
        groups=_groups(message.patient),
        enrolment=message.enrolment_id,
        message=message.pk,
    )


def _enqueue(message_id: int) -> None:
    try:
        deliver_message.enqueue(message_id)
    except Exception:  # the every-minute ``deliver_due`` task picks it up
        logger.exception("delivery of message %s could not be queued", message_id)


def _enqueue_due(tasks: int) -> None:
    """Queue ``tasks`` runs of ``deliver_due`` (each delivers up to ``DELIVER_BATCH`` messages;
    workers running them side by side skip each other's locked rows)."""
    for _ in range(tasks):
        try:
            deliver_due.enqueue()
        except Exception:  # the every-minute ``deliver_due`` task picks them up
            logger.exception("delivery of queued messages could not be queued")
            return


def _enqueue_on_commit(message: Message, now: dt.datetime) -> None:
    if message.status == Status.QUEUED and (
        message.next_attempt_at is None or message.next_attempt_at <= now
    ):
        pk = message.pk
        transaction.on_commit(lambda: _enqueue(pk))


def _error_text(exc: DomainError) -> str:
    return " ".join(str(m) for m in exc.messages)


def _program_name(patient: Patient, enrolment: Enrolment | None) -> str:
    if enrolment is not None:
        return enrolment.program.name
    latest = (
        Enrolment.objects.filter(patient=patient, status__in=Enrolment.OPEN_STATUSES)
        .select_related("program")
        .order_by("-referred_at")
        .first()
    )
    return latest.program.name if latest is not None else ""


def _context(
    patient: Patient, enrolment: Enrolment | None, context: Mapping[str, Any], text: str
) -> dict[str, str]:
    """What templates may use: the patient's name and program, then the caller's values."""
    full: dict[str, Any] = {
        "first_name": patient.first_name,
        "program": _program_name(patient, enrolment),
    }
    full.update(context)
    if text:
        full["text"] = text
    return {key: "" if value is None else str(value) for key, value in full.items()}


def _words(
    *,
    enrolment: Enrolment | None,
    purpose: str,
    channel: str,
    language: str,
    context: Mapping[str, str],
    text: str,
    templates: TemplateCache | None = None,
) -> tuple[str, str, MessageTemplate | None]:
    """``(subject, body, template)``; DomainError when no template fits or a value is missing."""
    program = enrolment.program if enrolment is not None else None
    if templates is not None:
        template = templates.find(program, purpose, channel, language)
    else:
        template = find_template(program, purpose, channel, language)
    if template is None:
        if purpose == Purpose.GENERAL and text:
            return "", text, None  # a free text is sent as written, braces and all
        raise DomainError(
            {
                "template": f"There is no message template for {purpose} by {channel} "
                f"({language}): add one in the admin."
            }
        )
    subject, body = render(template, context)
    return subject[:SUBJECT_MAX], body, template


def _address(patient: Patient, channel: str, *, strict: bool) -> tuple[str, User | None, str, str]:
    """``(to_address, recipient, skip_reason, error)`` for ``channel``."""
    recipient = patient.user if patient.user_id else None
    if channel == Channel.SMS:
        phone = (patient.phone or "").strip()
        return phone, recipient, "" if phone else NO_ADDRESS[channel], ""
    if channel == Channel.EMAIL:
        email = (patient.email or "").strip()
        if not email:
            return "", recipient, NO_ADDRESS[channel], ""
        try:
            validate_email(email)
        except ValidationError:
            error = f"“{email}” is not a valid e-mail address."
            if strict:
                raise DomainError({"to_address": error}) from None
            return email, recipient, "", error
        return email, recipient, "", ""
    if channel == Channel.PUSH and recipient is None:
        return "", None, NO_ADDRESS[channel], ""
    return "", recipient, "", ""  # in-app: the row is the message, with or without a login


def _copy_address(delegation: Delegation) -> tuple[str, User | None, str, str]:
    """``(to_address, recipient, skip_reason, error)`` of a caregiver's e-mail copy."""
    user = delegation.caregiver.user
    email = (user.email or "").strip()
    if not email:
        return "", user, NO_ADDRESS[Channel.EMAIL], ""
    try:
        validate_email(email)
    except ValidationError:
        return email, user, "", f"“{email}” is not a valid e-mail address."
    return email, user, "", ""


def _build(
    *,
    actor: User | None,
    patient: Patient,
    purpose: str,
    channel: str,
    context: Mapping[str, Any],
    enrolment: Enrolment | None,
    activity: Activity | None,
    case: Case | None,
    text: str,
    dedupe_key: str | None,
    due_at: dt.datetime | None,
    now: dt.datetime,
    strict: bool,
    prefs: ContactPreferences,
    consented: bool,
    templates: TemplateCache | None = None,
    copy_for: Delegation | None = None,
) -> Message:
    """The unsaved message of one send on one channel (status, skip reason or error set).

    With ``copy_for`` it is the caregiver's e-mail copy: addressed to her, its subject says whose.
    """
    due = due_at or now
    values = _context(patient, enrolment, context, text)
    if copy_for is not None:
        to_address, recipient, skip_reason, error = _copy_address(copy_for)
    else:
        to_address, recipient, skip_reason, error = _address(patient, channel, strict=strict)
    subject, body, template = "", "", None
    try:
        subject, body, template = _words(
            enrolment=enrolment,
            purpose=purpose,
            channel=channel,
            language=prefs.language,
            context=values,
            text=text,
            templates=templates,
        )
    except DomainError as exc:
        if strict:
            raise
        error = error or _error_text(exc)
    if copy_for is not None:
        subject = f"{COPY_PREFIX} {patient.full_name}: {subject or body[:60]}"[:SUBJECT_MAX]
    message = Message(
        patient=patient,
        recipient=recipient,
        enrolment=enrolment,
        activity=activity,
        case=case,
        purpose=purpose,
        channel=channel,
        language=prefs.language,
        template=template,
        to_address=to_address,
        subject=subject,
        body=body,
        context=values,
        due_at=due,
        dedupe_key=dedupe_key or None,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        created_at=now,
        copy_for=copy_for,
    )
    if not consented:
        message.status = Status.SKIPPED
        message.skip_reason = (
            NO_COPIES if copy_for is not None else f"no consent for {CHANNEL_NAMES[channel]}"
        )
    elif skip_reason:
        message.status = Status.SKIPPED
        message.skip_reason = skip_reason
    elif error:
        # Kept and shown to staff (failed filter, timeline) rather than lost.
        message.status = Status.FAILED
        message.last_error = error[:ERROR_MAX]
        message.failed_at = now
    else:
        quiet = policy.quiet_until(prefs, due) if channel != Channel.IN_APP else None
        message.status = Status.DEFERRED if quiet else Status.QUEUED
        message.next_attempt_at = quiet or due
    return message


def _queue_verb(message: Message) -> str:
    return {Status.SKIPPED: "message.skip", Status.FAILED: "message.fail"}.get(
        message.status, "message.queue"
    )


def _queue_detail(message: Message) -> dict[str, Any]:
    return {
        "channel": message.channel,
        "purpose": message.purpose,
        "status": message.status,
        "reason": message.skip_reason or message.last_error,
    }


def _queue(
    *,
    actor: User | None,
    patient: Patient,
    purpose: str,
    channel: str,
    context: Mapping[str, Any],
    enrolment: Enrolment | None,
    activity: Activity | None,
    case: Case | None,
    text: str,
    dedupe_key: str | None,
    due_at: dt.datetime | None,
    now: dt.datetime,
    strict: bool,
    prefs: ContactPreferences,
    copy_for: Delegation | None = None,
) -> Message:
    if dedupe_key:
        existing = Message.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    message = _build(
        actor=actor,
        patient=patient,
        purpose=purpose,
        channel=channel,
        context=context,
        enrolment=enrolment,
        activity=activity,
        case=case,
        text=text,
        dedupe_key=dedupe_key,
        due_at=due_at,
        now=now,
        strict=strict,
        prefs=prefs,
        consented=(
            bool(policy.copies_still_wanted([copy_for.pk]))
            if copy_for is not None
            else policy.has_channel_consent(patient, channel)
        ),
        copy_for=copy_for,
    )
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        existing = Message.objects.filter(dedupe_key=dedupe_key).first() if dedupe_key else None
        if existing is None:
            raise
        return existing  # a concurrent run queued the same message first
    audit_write(
        actor=actor,
        action="create",
        verb=_queue_verb(message),
        obj=message,
        patient=patient,
        detail=_queue_detail(message),
    )
    _emit(message)
    _enqueue_on_commit(message, now)
    return message


def _check_input(
    *,
    patient: Patient,
    purpose: str,
    enrolment: Enrolment | None,
    channel: str | None = None,
    due_at: dt.datetime | None = None,
) -> None:
    """Refuse what no send may carry (unknown purpose or channel, another patient's program)."""
    errors: dict[str, str] = {}
    if purpose not in Purpose.values:
        errors["purpose"] = f"Unknown purpose: use one of {', '.join(Purpose.values)}."
    if channel is not None and channel not in Channel.values:
        errors["channel"] = f"Unknown channel “{channel}”: use one of {', '.join(Channel.values)}."
    if enrolment is not None and enrolment.patient_id != patient.pk:
        errors["enrolment"] = "This program participation is not the patient's."
    if due_at is not None and timezone.is_naive(due_at):
        errors["due_at"] = "Give a date and time with its time zone."
    if errors:
        raise DomainError(errors)


@transaction.atomic
def message_queue(
    *,
    actor: User | None,
    patient: Patient,
    purpose: str,
    channel: str,
    context: Mapping[str, Any],
    enrolment: Enrolment | None = None,
    activity: Activity | None = None,
    case: Case | None = None,
    text: str = "",
    dedupe_key: str | None = None,
    due_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
    strict: bool = True,
) -> Message:
    """Record one send on one channel and queue its delivery after commit.

    Without consent (or an address) the row is *skipped* with its reason and nothing is sent.
    ``strict`` (an interactive send) raises DomainError for an invalid e-mail address, a missing
    template or a template variable the context lacks; otherwise (system sends) such a row is
    kept as *failed* with the reason in ``last_error``. A ``dedupe_key`` already used returns
    the existing message.
    """
    _check_input(
        patient=patient, purpose=purpose, channel=channel, enrolment=enrolment, due_at=due_at
    )
    return _queue(
        actor=actor,
        patient=patient,
        purpose=purpose,
        channel=channel,
        context=context,
        enrolment=enrolment,
        activity=activity,
        case=case,
        text=text,
        dedupe_key=dedupe_key,
        due_at=due_at,
        now=now or timezone.now(),
        strict=strict,
        prefs=policy.preferences_of(patient),
    )


@transaction.atomic
def message_send(
    *,
    actor: User,
    patient: Patient,
    channel: str,
    text: str,
    purpose: str = Purpose.GENERAL,
    enrolment: Enrolment | None = None,
    now: dt.datetime | None = None,
) -> Message:
    """A counsellor or staff member sends a message from the patient's timeline."""
    if writer_role(actor, patient) is None:
        raise AccessDenied("You may not send messages to this patient.")
    text = (text or "").strip()
    if not text:
        raise DomainError({"text": "Write the message."})
    if len(text) > TEXT_MAX:
        raise DomainError({"text": f"Keep the message under {TEXT_MAX} characters."})
    return message_queue(
        actor=actor,
        patient=patient,
        purpose=purpose,
        channel=channel,
        context={},
        enrolment=enrolment,
        text=text,
        now=now,
        strict=True,
    )


@transaction.atomic
def message_notify(
    *,
    patient: Patient,
    purpose: str,
    context: Mapping[str, Any],
    enrolment: Enrolment | None = None,
    activity: Activity | None = None,
    case: Case | None = None,
    dedupe_key: str | None = None,
    actor: User | None = None,
    now: dt.datetime | None = None,
) -> list[Message]:
    """Notify the patient on every channel she wants for ``purpose`` (one row per channel).

    Consent is applied per channel (skipped rows are recorded); problems with an address or a
    template are kept as failed rows, never raised. ``dedupe_key`` is a base: each channel's row
    is keyed ``<dedupe_key>:<channel>``. Reminders and appointment notices also go, by e-mail,
    to each caregiver who asked for copies (keyed ``<dedupe_key>:copy:<delegation>``).
    """
    _check_input(patient=patient, purpose=purpose, enrolment=enrolment)
    now = now or timezone.now()
    prefs = policy.preferences_of(patient)
    # (channel, dedupe suffix, the caregiver's delegation for a copy)
    plan: list[tuple[str, str, Delegation | None]] = [
        (channel, channel, None) for channel in policy.wanted_channels(patient, purpose)
    ]
    if purpose in policy.COPY_PURPOSES:
        plan += [
            (Channel.EMAIL, f"copy:{delegation.pk}", delegation)
            for delegation in policy.copy_delegations_of([patient.pk]).get(patient.pk, [])
        ]
    return [
        _queue(
            actor=actor,
            patient=patient,
            purpose=purpose,
            channel=channel,
            context=context,
            enrolment=enrolment,
            activity=activity,
            case=case,
            text="",
            dedupe_key=f"{dedupe_key}:{suffix}" if dedupe_key else None,
            due_at=None,
            now=now,
            strict=False,
            prefs=prefs,
            copy_for=copy_for,
        )
        for channel, suffix, copy_for in plan
    ]


def message_notify_safely(**kwargs: Any) -> list[Message]:
    """``message_notify`` for hooks inside another write: a failure is logged, never raised.

    Runs in a savepoint, so a refused notification rolls back alone and the caller's write
    goes on.
    """
    try:
        with transaction.atomic():
            return message_notify(**kwargs)
    except Exception:  # a notification must never make the main write fail
        patient = kwargs.get("patient")
        logger.exception(
            "%s notification for patient %s not queued",
            kwargs.get("purpose"),
            getattr(patient, "pk", None),
        )
        return []


def activity_context(activity: Activity, zone: dt.tzinfo) -> dict[str, str]:
    """The template variables of an activity notice, in the patient's time zone."""
    start = activity.scheduled_start.astimezone(zone)
    end = activity.scheduled_end.astimezone(zone)
    return {
        "activity": activity.module.name,
        "date": f"{start:%d/%m/%Y}",
        "time": f"{start:%H:%M}",
        "window": f"{start:%H:%M}–{end:%H:%M}",
    }


def notify_activity_change(
    *, activity: Activity, purpose: str, now: dt.datetime | None = None
) -> list[Message]:
    """Tell the patient an activity was booked or moved (called inside the activity write)."""
    enrolment = activity.enrolment
    patient = enrolment.patient
    zone = policy._zone(policy.preferences_of(patient))
    return message_notify_safely(
        patient=patient,
        purpose=purpose,
        context=activity_context(activity, zone),
        enrolment=enrolment,
        activity=activity,
        dedupe_key=f"{purpose}:{activity.pk}",
        now=now,
    )


def notify_report_reply(*, reply: Report) -> list[Message]:
    """Tell the patient her doctor answered her (called inside ``report_reply``).

    Only replies addressed to the patient herself: a reply to a caregiver's report is read by
    the caregiver in her portal, and the patient's channels are not the caregiver's.
    """
    enrolment = reply.enrolment
    patient = enrolment.patient
    if reply.recipient_id is not None and reply.recipient_id != patient.user_id:
        return []
    author = reply.author
    return message_notify_safely(
        patient=patient,
        purpose=Purpose.REPORT_NOTIFICATION,
        context={
            "author": (author.get_full_name() or author.email) if author else "",
            "report_title": reply.subject,
        },
        enrolment=enrolment,
        dedupe_key=f"report_reply:{reply.pk}",
    )


# --- bulk writes (shared by the periodic queueing in ``reminders`` and batch delivery) ------


def _groups_of(patient_ids: Iterator[int] | set[int] | list[int]) -> dict[int, list[str]]:
    """Each patient's enrolment groups (live events), for many patients in one query."""
    out: dict[int, list[str]] = {}
    for patient_id, pk in Enrolment.objects.filter(patient_id__in=set(patient_ids)).values_list(
        "patient_id", "pk"
    ):
        out.setdefault(patient_id, []).append(enrolment_group(pk))
    return out


def _audit_row(message: Message, verb: str, action: str, detail: dict[str, Any]) -> AuditEvent:
    """The audit event ``audit_write`` would append for a system (actor-less) message write."""
    return AuditEvent(
        actor=None,
        action=action,
        verb=verb,
        object_type=Message._meta.label_lower,
        object_id=str(message.pk),
        patient_id=message.patient_id,
        ip_address=None,
        detail=detail or {},
    )


def _emit_per_patient(messages: Sequence[Message], groups_of: Mapping[int, list[str]]) -> None:
    """One live event per patient (her first message) instead of one per message."""
    first: dict[int | None, Message] = {}
    for message in messages:
        first.setdefault(message.patient_id, message)
    for patient_id, message in first.items():
        send_event_on_commit(
            "message.status",
            groups=groups_of.get(patient_id, []) if patient_id is not None else [],
            enrolment=message.enrolment_id,
            message=message.pk,
        )


# --- delivery ---------------------------------------------------------------------------------


def _locked(message_id: int) -> Message | None:
    skip_locked = connection.features.has_select_for_update_skip_locked
    return Message.objects.select_for_update(skip_locked=skip_locked).filter(pk=message_id).first()


def _save_outcome(message: Message, verb: str, fields: Sequence[str], detail: dict) -> None:
    message.save(update_fields=list(fields))
    audit_write(
        actor=None, action="update", verb=verb, obj=message, patient=message.patient, detail=detail
    )
    _emit(message)


def _claim(message_id: int, now: dt.datetime) -> Message | None:
    """Lock a due message, re-check consent and quiet hours, and lease it for sending.

    Returns the message to send, or None when there is nothing to send now.
    """
    with transaction.atomic():
        message = _locked(message_id)
        if message is None or message.status not in Message.PENDING:
            return None
        if message.next_attempt_at is not None and message.next_attempt_at > now:
            return None
        patient = message.patient
        if message.copy_for_id is not None:
            withdrawn = not policy.copies_still_wanted([message.copy_for_id])
            reason = NO_COPIES
        else:
            withdrawn = patient is not None and not policy.has_channel_consent(
                patient, message.channel
            )
            reason = SKIP_WITHDRAWN
        if withdrawn:
            message.status = Status.SKIPPED
            message.skip_reason = reason
            message.next_attempt_at = None
            _save_outcome(
                message,
                "message.skip",
                ["status", "skip_reason", "next_attempt_at"],
                {"reason": reason},
            )
            return None
        if patient is not None and message.channel != Channel.IN_APP:
            quiet = policy.quiet_until(policy.preferences_of(patient), now)
            if quiet is not None:
                message.status = Status.DEFERRED
                message.next_attempt_at = quiet
                _save_outcome(
                    message,
                    "message.defer",
                    ["status", "next_attempt_at"],
                    {"until": quiet.isoformat()},
                )
                return None
        message.next_attempt_at = now + SEND_LEASE
        message.save(update_fields=["next_attempt_at"])
        return message


def _send(message: Message) -> tuple[str, str, bool]:
    """``(provider_ref, error, transient)`` of one attempt; never raises."""
    try:
        return get_backend(message.channel).send(message), "", True
    except DeliveryError as exc:
        return "", str(exc) or type(exc).__name__, exc.transient
    except Exception as exc:  # a broken backend is a failed attempt, never a lost message
        logger.exception("channel backend failed on message %s", message.pk)
        return "", f"{type(exc).__name__}: {exc}", True


def _apply_attempt(
    message: Message, *, ref: str, error: str, transient: bool, now: dt.datetime
) -> tuple[str, list[str], dict[str, Any]]:
    """Count one attempt on ``message`` (in memory): ``(verb, changed fields, audit detail)``."""
    message.attempts += 1
    fields = ["attempts", "status", "next_attempt_at"]
    if not error:
        message.status = Status.SENT
        message.sent_at = now
        message.provider_ref = ref[:100]
        message.next_attempt_at = None
        message.failed_at = None
        fields += ["sent_at", "provider_ref", "failed_at"]
        return "message.sent", fields, {"attempts": message.attempts}
    message.last_error = error[:ERROR_MAX]
    fields.append("last_error")
    give_up = not transient or message.attempts >= settings.PSP_MESSAGE_MAX_ATTEMPTS
    if give_up:
        message.status = Status.FAILED
        message.failed_at = now
        message.next_attempt_at = None
        fields.append("failed_at")
        verb = "message.fail"
    else:
        message.status = Status.RETRYING
        message.next_attempt_at = now + backoff(message.attempts)
        verb = "message.retry"
    return verb, fields, {"attempts": message.attempts, "error": message.last_error}


def _record_attempt(
    message_id: int, *, ref: str, error: str, transient: bool, now: dt.datetime
) -> Message:
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message_id)
        verb, fields, detail = _apply_attempt(
            message, ref=ref, error=error, transient=transient, now=now
        )
        _save_outcome(message, verb, fields, detail)
        return message


def message_deliver(message_id: int, *, now: dt.datetime | None = None) -> Message:
    """Send a pending, due message through its channel's backend and record the outcome.

    Consent and quiet hours are checked again first. The backend is called outside the row lock
    (the row is leased meanwhile); whatever it does — a ``DeliveryError`` or any exception — the
    attempt is counted and the message kept: *retrying* with backoff, or *failed* after
    ``PSP_MESSAGE_MAX_ATTEMPTS`` (or a permanent error). Raises ``Message.DoesNotExist`` for an
    unknown id.
    """
    now = now or timezone.now()
    message = _claim(message_id, now)
    if message is None:
        return Message.objects.get(pk=message_id)
    ref, error, transient = _send(message)
    try:
        return _record_attempt(message_id, ref=ref, error=error, transient=transient, now=now)
    except Message.DoesNotExist:  # deleted with its patient while we were sending
        logger.warning("message %s was deleted during delivery", message_id)
        return message


@transaction.atomic
def message_retry_now(*, actor: User, message: Message, now: dt.datetime | None = None) -> Message:
    """Provider staff send a failed or retrying message again now (attempts are kept)."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    if (
        not access.has_role(actor, "provider_staff")
        or message.patient_id is None
        or not access.patients_for(actor, role="provider_staff")
        .filter(pk=message.patient_id)
        .exists()
    ):
        raise AccessDenied("Only provider staff of the patient's programs may retry a message.")
    if message.status not in (Status.FAILED, Status.RETRYING):
        raise DomainError(
            {
                "status": "Only failed or retrying messages can be retried; this one is "
                f"{message.get_status_display().lower()}."
            }
        )
    now = now or timezone.now()
    old = message.status
    message.status = Status.QUEUED
    message.next_attempt_at = now
    message.failed_at = None
    message.save(update_fields=["status", "next_attempt_at", "failed_at"])
    audit_write(
        actor=actor,
        action="update",
        verb="message.retry_now",
        obj=message,
        patient=message.patient,
        detail={"from": old, "attempts": message.attempts},
    )
    _emit(message)
    _enqueue_on_commit(message, now)
    return message


CLAIM_FIELDS = ["status", "skip_reason", "next_attempt_at"]
ATTEMPT_FIELDS = [
    "attempts",
    "status",
    "next_attempt_at",
    "sent_at",
    "provider_ref",
    "failed_at",
    "last_error",
]


def _bulk_write(messages: Sequence[Message], fields: Sequence[str]) -> None:
    """Save ``fields`` of many messages in one UPDATE.

    On PostgreSQL an ``UPDATE … FROM unnest(arrays)``: Django's ``bulk_update`` builds a
    ``CASE WHEN`` per field and row, which costs more Python time than the database spends.
    """
    if not messages:
        return
    if connection.vendor != "postgresql":
        Message.objects.bulk_update(messages, list(fields))
        return
    qn = connection.ops.quote_name
    meta = Message._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    source = ", ".join(
        f"unnest(%s::{field.db_type(connection)}[]) AS {qn(field.column)}" for field in columns
    )
    assign = ", ".join(f"{qn(field.column)} = v.{qn(field.column)}" for field in columns[1:])
    params = [
        [
            field.get_db_prep_save(getattr(message, field.attname), connection)
            for message in messages
        ]
        for field in columns
    ]
    sql = (
        f"UPDATE {qn(meta.db_table)} SET {assign} FROM (SELECT {source}) AS v "
        f"WHERE {qn(meta.db_table)}.{qn(meta.pk.column)} = v.{qn(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _claim_batch(now: dt.datetime, limit: int) -> tuple[list[Message], int]:
    """Lock up to ``limit`` due messages (skipping rows other workers hold), re-check consent and
    quiet hours for all of them, and lease the rest for sending: ``(to send, rows taken)``.

    Skips and deferrals are written here with their audit rows, in the claiming transaction.
    """
    skip_locked = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        rows = list(
            Message.objects.select_for_update(skip_locked=skip_locked)
            .filter(status__in=Message.PENDING)
            .filter(Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True))
            .order_by("next_attempt_at", "pk")[:limit]
        )
        if not rows:
            return [], 0
        patient_ids = {m.patient_id for m in rows if m.patient_id is not None}
        consented = policy.consented_channels_of(patient_ids)
        wanted_copies = policy.copies_still_wanted(m.copy_for_id for m in rows if m.copy_for_id)
        prefs_of = {
            prefs.patient_id: prefs
            for prefs in ContactPreferences.objects.filter(patient_id__in=patient_ids)
        }
        to_send: list[Message] = []
        changed: list[Message] = []
        audits: list[AuditEvent] = []
        for message in rows:
            if message.patient_id is not None:
                if message.copy_for_id is not None:
                    reason = "" if message.copy_for_id in wanted_copies else NO_COPIES
                else:
                    consents = consented[message.patient_id]
                    reason = "" if message.channel in consents else SKIP_WITHDRAWN
                if reason:
                    message.status = Status.SKIPPED
                    message.skip_reason = reason
                    message.next_attempt_at = None
                    changed.append(message)
                    audits.append(_audit_row(message, "message.skip", "update", {"reason": reason}))
                    continue
                if message.channel != Channel.IN_APP:
                    prefs = prefs_of.get(message.patient_id) or ContactPreferences()
                    quiet = policy.quiet_until(prefs, now)
                    if quiet is not None:
                        message.status = Status.DEFERRED
                        message.next_attempt_at = quiet
                        changed.append(message)
                        audits.append(
                            _audit_row(
                                message, "message.defer", "update", {"until": quiet.isoformat()}
                            )
                        )
                        continue
            message.next_attempt_at = now + SEND_LEASE
            to_send.append(message)
        _bulk_write(rows, CLAIM_FIELDS)
        if audits:
            AuditEvent.objects.bulk_create(audits)
        if changed:
            _emit_per_patient(changed, _groups_of({m.patient_id for m in changed}))
    return to_send, len(rows)


def _record_batch(results: list[tuple[Message, str, str, bool]], now: dt.datetime) -> None:
    """Write the outcome of each attempt of a batch in one transaction (rows re-read locked)."""
    with transaction.atomic():
        current = Message.objects.select_for_update().in_bulk([m.pk for m, *_ in results])
        done: list[Message] = []
        audits: list[AuditEvent] = []
        for sent, ref, error, transient in results:
            message = current.get(sent.pk)
            if message is None:  # deleted with its patient while we were sending
                logger.warning("message %s was deleted during delivery", sent.pk)
                continue
            verb, _fields, detail = _apply_attempt(
                message, ref=ref, error=error, transient=transient, now=now
            )
            done.append(message)
            audits.append(_audit_row(message, verb, "update", detail))
        if not done:
            return
        _bulk_write(done, ATTEMPT_FIELDS)
        AuditEvent.objects.bulk_create(audits)
        _emit_per_patient(done, _groups_of({m.patient_id for m in done if m.patient_id}))


def deliver_due_messages(*, now: dt.datetime | None = None, limit: int = DELIVER_BATCH) -> int:
    """Deliver (or retry) up to ``limit`` pending messages whose time has come; how many.

    In batch: one locking ``SELECT … FOR UPDATE SKIP LOCKED`` claims and leases the rows (consent
    and quiet hours re-checked for all of them), the backends are called outside any transaction,
    and the outcomes are written in one transaction. A message whose outcome could not be
    written keeps its lease and is taken again when the lease runs out: never lost.
    """
    now = now or timezone.now()
    to_send, taken = _claim_batch(now, limit)
    if to_send:
        results = [(message, *_send(message)) for message in to_send]
        try:
            _record_batch(results, now)
        except Exception:  # record what can be recorded one by one: these were sent already
            logger.exception("outcomes of a delivery batch not written together; one by one")
            for message, ref, error, transient in results:
                try:
                    _record_attempt(message.pk, ref=ref, error=error, transient=transient, now=now)
                except Exception:  # it keeps its lease and is tried again when it runs out
                    logger.exception("outcome of message %s not recorded", message.pk)
    return taken
