"""The patient's answer to an appointment: she confirms it, or asks to change it.

Visits, deliveries, pickups, video calls and hospital visits need her there
(``reminders.CONFIRMED_CHANNELS``); the day-before message asks her to answer. She answers in the
portal (web) or the app, by replying YES or NO to the SMS, or on a call to the contact centre
(phone). Each answer is an inbound interaction on her timeline, linked to the activity, and
reaches the operator's agenda live. A confirmation turns the activity *confirmed*; a request to
change it leaves it planned and puts a call on the contact centre's outbound list
(``selectors.call_list``) until a counsellor calls her back about the appointment or moves it.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from .. import access
from ..errors import DomainError, NotFound
from ..messaging.replies import reply_words
from ..models import Activity, Interaction, Purpose, User
from .activities import emit_activity_event, lock_activity
from .audit import audit_write
from .interactions import SUMMARY_MAX
from .reminders import CONFIRMED_CHANNELS

Answer = Activity.PatientAnswer
ANSWERS = (Answer.CONFIRMED, Answer.CHANGE_REQUESTED)
# Where the patient or her caregiver answers herself; ``phone`` is a counsellor on a call.
SELF_SERVICE_CHANNELS = (Interaction.Channel.WEB, Interaction.Channel.APP)
# A whole SMS equal to one of these (any case, spacing or final punctuation) answers the
# appointment the SMS replied to. Italian and English, as the templates ask.
YES_WORDS = frozenset({"si", "sì", "s", "yes", "y", "ok", "confermo", "conferma", "confirm", "1"})
CHANGE_WORDS = frozenset({"no", "n", "cambia", "cambio", "sposta", "change", "2"})
# Courtesies around the answer (``Sì, grazie!``, ``ok thanks``) do not change it.
POLITE_WORDS = frozenset({"grazie", "mille", "ciao", "thanks", "thank", "you", "please"})
# The messages that ask her to answer (in-app they link to the appointment, by SMS she replies).
ASKING_PURPOSES = (Purpose.ACTIVITY_CONFIRMATION, Purpose.ACTIVITY_RESCHEDULED)


def answer_in_sms(body: str) -> str | None:
    """The answer an SMS text gives (``Sì!`` → confirmed, ``no grazie`` → change requested).

    Only a text that is nothing but the answer (and courtesies) counts: ``OK, taken`` or ``no
    problem, I'll be there`` are left for a person to read. None when it is not an answer.
    """
    words = " ".join(w for w in reply_words(body) if w not in POLITE_WORDS)
    if words in YES_WORDS:
        return Answer.CONFIRMED
    if words in CHANGE_WORDS:
        return Answer.CHANGE_REQUESTED
    return None


def answerable(now: dt.datetime) -> Q:
    """``is_answerable`` as a filter on activities."""
    return Q(
        status__in=Activity.OPEN_STATUSES,
        scheduled_start__gt=now,
        module__channel__in=CONFIRMED_CHANNELS,
    )


def is_answerable(activity: Activity, now: dt.datetime | None = None) -> bool:
    """An open appointment that needs the patient there and has not started yet."""
    now = now or timezone.now()
    return (
        activity.is_open
        and activity.scheduled_start > now
        and activity.module.channel in CONFIRMED_CHANNELS
    )


def _answer_words(activity: Activity, answer: str) -> str:
    when = formats.date_format(timezone.localtime(activity.scheduled_start), "DATETIME_FORMAT")
    if answer == Answer.CONFIRMED:
        return _("Confirms %(activity)s on %(when)s") % {
            "activity": activity.module.name,
            "when": when,
        }
    return _("Asks to change %(activity)s on %(when)s") % {
        "activity": activity.module.name,
        "when": when,
    }


def _check(activity: Activity, answer: str, note: str, now: dt.datetime) -> None:
    errors: dict[str, str] = {}
    if answer not in ANSWERS:
        errors["answer"] = _("Answer “confirmed” or “change_requested”.")
    if len(note) > SUMMARY_MAX:
        errors["note"] = _("Keep the note under %(max)s characters.") % {"max": SUMMARY_MAX}
    if errors:
        raise DomainError(errors)
    if activity.module.channel not in CONFIRMED_CHANNELS:
        raise DomainError({"answer": _("This activity does not need an answer.")})
    if not activity.is_open:
        raise DomainError(
            {
                "answer": _("This appointment is already %(status)s.")
                % {"status": activity.get_status_display().lower()}
            }
        )
    if activity.scheduled_start <= now:
        raise DomainError({"answer": _("This appointment has already started.")})


def _apply(
    *,
    actor: User | None,
    activity: Activity,
    answer: str,
    interaction: Interaction,
    now: dt.datetime,
) -> None:
    previous = activity.patient_answer
    activity.patient_answer = answer
    activity.patient_answered_at = now
    if answer == Answer.CONFIRMED:
        activity.status = Activity.Status.CONFIRMED
    else:  # a confirmed appointment she now cannot keep is no longer confirmed
        activity.status = Activity.Status.PLANNED
    activity.save(update_fields=["patient_answer", "patient_answered_at", "status"])
    audit_write(
        actor=actor,
        action="update",
        verb="activity.answer",
        obj=activity,
        patient=activity.enrolment.patient,
        detail={
            "answer": answer,
            "previous": previous,
            "channel": interaction.channel,
            "interaction": interaction.pk,
        },
    )
    emit_activity_event("activity.answered", activity)


def _who_answers(actor: User, activity: Activity, channel: str) -> None:
    patient = activity.enrolment.patient
    if channel in SELF_SERVICE_CHANNELS:
        allowed = access.can_act_for_patient(actor, patient)
    elif channel == Interaction.Channel.PHONE:
        allowed = access.takes_calls_for(actor, patient)
    else:
        raise DomainError({"channel": _("Answer in the portal, the app or on a call.")})
    if not allowed:  # the same answer as a missing activity: nothing about it leaks
        raise NotFound(_("No such activity."))


@transaction.atomic
def appointment_answer(
    *,
    actor: User,
    activity: Activity,
    answer: str,
    channel: str = Interaction.Channel.WEB,
    note: str = "",
) -> Activity:
    """Record the patient's answer to an appointment: ``confirmed`` or ``change_requested``.

    The patient or a caregiver with an active delegation answer in the portal (``web``) or the
    app (``app``); a counsellor who may open her timeline records what she said on a call
    (``phone``). Anyone else gets NotFound. The same answer again changes nothing.
    """
    activity = lock_activity(activity)
    _who_answers(actor, activity, channel)
    note = (note or "").strip()
    now = timezone.now()
    _check(activity, answer, note, now)
    if activity.patient_answer == answer:
        return activity
    summary = _answer_words(activity, answer)
    if note:
        summary = f"{summary}\n{note}"
    interaction = Interaction.objects.create(
        patient=activity.enrolment.patient,
        enrolment=activity.enrolment,
        activity=activity,
        channel=channel,
        direction=Interaction.Direction.INBOUND,
        occurred_at=now,
        handled_by=actor if channel == Interaction.Channel.PHONE else None,
        reason=Interaction.Reason.APPOINTMENT,
        summary=summary,
    )
    _apply(actor=actor, activity=activity, answer=answer, interaction=interaction, now=now)
    return activity


def appointment_answer_by_sms(*, interaction: Interaction, activity: Activity, answer: str) -> bool:
    """The patient replied YES or NO to the SMS about ``activity`` (the system acts).

    ``interaction`` is the inbound SMS already on her timeline: it is linked to the appointment.
    Returns whether the answer was taken: an appointment that is over, cancelled or already
    started keeps its state (the reply stays on the timeline for the counsellor to read).
    """
    activity = lock_activity(activity)
    now = timezone.now()
    if answer not in ANSWERS or not is_answerable(activity, now):
        return False
    interaction.activity = activity
    interaction.reason = Interaction.Reason.APPOINTMENT
    interaction.save(update_fields=["activity", "reason"])
    if activity.patient_answer != answer:
        _apply(actor=None, activity=activity, answer=answer, interaction=interaction, now=now)
    return True
