"""Inbound SMS: a patient's reply, received through the provider's signed webhook.

The sender is matched to a patient by phone number (separators and the Italian prefix
ignored). A matched SMS lands on the patient's timeline as an inbound interaction, linked to the
newest SMS the program sent her; an unknown (or ambiguous) sender is kept as ``UNMATCHED`` for
staff in the admin and touches no patient. Each provider message id is accepted once: a repeat
raises ``Replayed``.

A text that is only a stop word (``STOP``, ``ANNULLA``…) withdraws the SMS consent at once of
every patient with that number (the holder of the phone asked): no SMS goes to them any more until
a consent is given again in the portal. The SMS itself is kept as usual.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Replace
from django.utils import timezone

from ..errors import DomainError
from ..events import enrolment_group, send_event_on_commit
from ..messaging.replies import reply_words
from ..models import Channel, Enrolment, InboundSms, Interaction, Message, Patient
from ..selectors.timeline import PHONE_SEPARATORS
from .appointments import ASKING_PURPOSES, answer_in_sms, appointment_answer_by_sms
from .audit import audit_write
from .contact_preferences import channel_consent_withdraw_by_sms
from .interactions import FUTURE_TOLERANCE, SUMMARY_MAX

PROVIDER_REF_MAX = 100
FROM_NUMBER_MAX = 32
MIN_DIGITS = 6
ITALY = "39"
NOT_A_DIGIT = re.compile(r"\D")
# Sends the patient may be replying to.
SENT_STATUSES = (Message.Status.SENT, Message.Status.DELIVERED)
# A whole text equal to one of these (any case, spacing or final punctuation) is an opt-out.
STOP_WORDS = frozenset(
    {"stop", "stop sms", "stopsms", "stop all", "unsubscribe", "annulla", "cancella", "basta"}
)


def is_stop_word(body: str) -> bool:
    """Whether the SMS text asks to stop the SMS (``Stop.``, `` STOP SMS``, ``annulla!``)."""
    return " ".join(reply_words(body)) in STOP_WORDS


class Replayed(DomainError):
    """This provider message id was received before (answered 409; nothing is written)."""


def national_number(number: str) -> str:
    """The digits of a phone number without separators and without the Italian prefix.

    ``+39 347 123 4567``, ``0039-347-1234567``, ``(347) 123.4567`` and ``393471234567`` all give
    ``3471234567``. A foreign number keeps its country code (``+41 …`` → ``41…``).
    """
    raw = (number or "").strip()
    digits = NOT_A_DIGIT.sub("", raw)
    international = raw.startswith("+") or digits.startswith("00")
    if digits.startswith("00"):
        digits = digits[2:]
    # Italian national numbers never start with 39 and more than ten digits (mobiles are
    # 3xx xxx xxxx, landlines start with 0), so a leading 39 there is the country code.
    if digits.startswith(ITALY) and (international or len(digits) > 10):
        digits = digits[len(ITALY) :]
    return digits


def patients_with_number(number: str) -> list[Patient]:
    """Every patient whose phone is ``number``, whatever the spacing or the +39 prefix."""
    national = national_number(number)
    if len(national) < MIN_DIGITS:
        return []
    bare = F("phone")
    for separator in (*PHONE_SEPARATORS, "+"):
        bare = Replace(bare, Value(separator), Value(""))
    # The database narrows by suffix; the exact comparison of national numbers is done here.
    candidates = Patient.objects.annotate(phone_digits=bare).filter(phone_digits__endswith=national)
    return [p for p in candidates.order_by("pk") if national_number(p.phone) == national]


def _newest_sms_to(patients: list[Patient], before: dt.datetime) -> Message | None:
    return (
        Message.objects.filter(
            patient__in=patients,
            channel=Channel.SMS,
            status__in=SENT_STATUSES,
            sent_at__isnull=False,
            sent_at__lte=before,
        )
        .select_related("enrolment", "activity")
        .order_by("-sent_at", "-pk")
        .first()
    )


def _only_active_enrolment(patient: Patient) -> Enrolment | None:
    active = list(Enrolment.objects.filter(patient=patient, status=Enrolment.Status.ACTIVE)[:2])
    return active[0] if len(active) == 1 else None


def _validate(provider_ref: str, from_number: str, body: str, sent_at: dt.datetime | None) -> None:
    errors: dict[str, str] = {}
    if not provider_ref:
        errors["id"] = "Give the provider's message id."
    elif len(provider_ref) > PROVIDER_REF_MAX:
        errors["id"] = f"Keep the message id under {PROVIDER_REF_MAX} characters."
    if not from_number:
        errors["from"] = "Give the sender's phone number."
    elif len(from_number) > FROM_NUMBER_MAX or len(national_number(from_number)) < MIN_DIGITS:
        errors["from"] = "This is not a phone number."
    if not body.strip():
        errors["text"] = "The message has no text."
    elif len(body) > SUMMARY_MAX:
        errors["text"] = f"Keep the text under {SUMMARY_MAX} characters."
    if sent_at is not None:
        if timezone.is_naive(sent_at):
            errors["sent_at"] = "Give the sending time with its time zone."
        elif sent_at > timezone.now() + FUTURE_TOLERANCE:
            errors["sent_at"] = "The sending time is in the future."
    if errors:
        raise DomainError(errors)


def _appointment_answer(sms: InboundSms, reply_to: Message | None, interaction: Interaction) -> str:
    """YES or NO to the appointment SMS she replied to: recorded on the activity; the answer."""
    if reply_to is None or reply_to.purpose not in ASKING_PURPOSES or reply_to.activity is None:
        return ""
    answer = answer_in_sms(sms.body)
    if answer is None:
        return ""
    if not appointment_answer_by_sms(
        interaction=interaction, activity=reply_to.activity, answer=answer
    ):
        return ""
    sms.appointment_answer = answer
    sms.save(update_fields=["appointment_answer"])
    return answer


@transaction.atomic
def inbound_sms_receive(
    *,
    provider_ref: str,
    from_number: str,
    body: str,
    sent_at: dt.datetime | None = None,
) -> InboundSms:
    """Receive one SMS a patient sent (the system acts: no user); a repeated id raises Replayed."""
    provider_ref = (provider_ref or "").strip()
    from_number = (from_number or "").strip()
    body = body or ""
    _validate(provider_ref, from_number, body, sent_at)
    if InboundSms.objects.filter(provider_ref=provider_ref).exists():
        raise Replayed({"id": "This message was received already."})
    now = timezone.now()
    candidates = patients_with_number(from_number)
    reply_to = _newest_sms_to(candidates, now) if candidates else None
    patient: Patient | None
    if len(candidates) == 1:
        patient = candidates[0]
    elif reply_to is not None:
        # Two patients share the number (a family phone): the one we last texted is replying.
        patient = next(p for p in candidates if p.pk == reply_to.patient_id)
    else:
        patient = None  # unknown or ambiguous: staff sort it out in the admin
    if patient is None:
        reply_to = None
    opt_out = is_stop_word(body) and bool(candidates)
    try:
        with transaction.atomic():  # a concurrent delivery of the same id loses here
            sms = InboundSms.objects.create(
                provider_ref=provider_ref,
                from_number=from_number,
                body=body,
                received_at=now,
                sent_at=sent_at,
                patient=patient,
                in_reply_to=reply_to,
                status=InboundSms.Status.MATCHED if patient else InboundSms.Status.UNMATCHED,
                opt_out=opt_out,
            )
    except IntegrityError as error:
        raise Replayed({"id": "This message was received already."}) from error
    if opt_out:
        for holder in candidates:
            channel_consent_withdraw_by_sms(patient=holder, inbound_sms_id=sms.pk)
    if patient is None:
        audit_write(
            actor=None,
            action="create",
            verb="sms.receive",
            obj=sms,
            detail={"status": sms.status},
        )
        return sms
    enrolment = (
        reply_to.enrolment
        if reply_to is not None and reply_to.enrolment_id
        else _only_active_enrolment(patient)
    )
    interaction = Interaction.objects.create(
        patient=patient,
        enrolment=enrolment,
        channel=Interaction.Channel.SMS,
        direction=Interaction.Direction.INBOUND,
        occurred_at=sent_at or now,
        handled_by=None,
        summary=body,
    )
    answer = _appointment_answer(sms, reply_to, interaction)
    audit_write(
        actor=None,
        action="create",
        verb="sms.receive",
        obj=sms,
        patient=patient,
        detail={
            "status": sms.status,
            "interaction": interaction.pk,
            "in_reply_to": reply_to.pk if reply_to else None,
            "appointment_answer": answer,
        },
    )
    if enrolment is not None:
        groups = [enrolment_group(enrolment.pk)]
    else:
        ids = Enrolment.objects.filter(patient=patient).values_list("pk", flat=True)
        groups = [enrolment_group(pk) for pk in ids]
    send_event_on_commit(
        "interaction.logged",
        groups=groups,
        enrolment=enrolment.pk if enrolment else None,
        interaction=interaction.pk,
    )
    return sms
