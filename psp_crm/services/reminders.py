"""Reminders and confirmations queued in bulk by the periodic tasks (``tasks_messaging``).

- ``dose_reminders_queue``: today's dose reminder of every active self-administered therapy
  whose reminder time has passed and whose dose is not logged yet.
- ``activity_confirmations_queue``: the day-before confirmation of visits, deliveries, pickups
  and video calls.

Both follow ``messaging.message_notify``'s rules (one row per wanted channel, consent per
channel with skips recorded, quiet hours, dedupe keys, one audit row per message) but queue per
chunk of ``DELIVER_BATCH`` patients in a handful of queries (``_notify_bulk``): ``bulk_create``
of the messages and their audit rows, one live event per patient, one ``deliver_due`` task per
``DELIVER_BATCH`` messages due now. Delivery itself is ``messaging.deliver_due_messages``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..messaging import policy
from ..messaging.templates import TemplateCache
from ..models import (
    Activity,
    AuditEvent,
    Channel,
    ContactPreferences,
    Delegation,
    DiaryEntry,
    Enrolment,
    Message,
    Patient,
    Product,
    Purpose,
)
from .messaging import (
    DELIVER_BATCH,
    Status,
    _audit_row,
    _build,
    _emit_per_patient,
    _enqueue_due,
    _groups_of,
    _queue_detail,
    _queue_verb,
    activity_context,
    message_notify_safely,
)

logger = logging.getLogger(__name__)


# --- bulk queueing (periodic reminders and confirmations) -------------------------------------


@dataclasses.dataclass
class _Notice:
    """One ``message_notify`` of a bulk run: the patient is told on every channel she wants."""

    patient: Patient
    purpose: str
    context: Mapping[str, Any]
    enrolment: Enrolment | None
    dedupe_key: str
    prefs: ContactPreferences
    activity: Activity | None = None


def _notify_one_by_one(notices: Sequence[_Notice], now: dt.datetime) -> int:
    created = 0
    for notice in notices:
        before = Message.objects.filter(dedupe_key__startswith=f"{notice.dedupe_key}:").count()
        messages = message_notify_safely(
            patient=notice.patient,
            purpose=notice.purpose,
            context=notice.context,
            enrolment=notice.enrolment,
            activity=notice.activity,
            dedupe_key=notice.dedupe_key,
            now=now,
        )
        created += max(len(messages) - before, 0)
    return created


def _notify_bulk(notices: Sequence[_Notice], now: dt.datetime, templates: TemplateCache) -> int:
    """``message_notify`` for a chunk of system notices in a handful of queries; rows created.

    The same rules as one by one: one row per wanted channel, consent applied per channel (skips
    recorded with their reason), quiet-hours deferral, address and template problems kept as
    failed rows, dedupe keys ``<key>:<channel>`` (an existing one is not queued again), one audit
    row per message, and the e-mail copies of caregivers who asked (``<key>:copy:<delegation>``).
    One live event per patient. Delivery is queued after commit as one
    ``deliver_due`` task per ``DELIVER_BATCH`` messages due now (not one task per message).
    """
    if not notices:
        return 0
    patient_ids = {notice.patient.pk for notice in notices}
    templates.preload(
        {n.enrolment.program for n in notices if n.enrolment is not None},
        {n.purpose for n in notices},
    )
    consented = policy.consented_channels_of(patient_ids)
    choices = policy.channel_choices_of(patient_ids, {notice.purpose for notice in notices})
    planned: list[tuple[_Notice, str, str, Delegation | None]] = [
        (notice, channel, f"{notice.dedupe_key}:{channel}", None)
        for notice in notices
        for channel in policy.wanted_from_choices(
            notice.purpose, choices.get((notice.patient.pk, notice.purpose), ())
        )
    ]
    copies = policy.copy_delegations_of(patient_ids)
    planned += [
        (notice, Channel.EMAIL, f"{notice.dedupe_key}:copy:{delegation.pk}", delegation)
        for notice in notices
        if notice.purpose in policy.COPY_PURPOSES
        for delegation in copies.get(notice.patient.pk, [])
    ]
    existing = set(
        Message.objects.filter(dedupe_key__in=[key for _n, _c, key, _d in planned]).values_list(
            "dedupe_key", flat=True
        )
    )
    messages: list[Message] = []
    for notice, channel, key, copy_for in planned:
        if key in existing:
            continue
        existing.add(key)
        try:
            messages.append(
                _build(
                    actor=None,
                    patient=notice.patient,
                    purpose=notice.purpose,
                    channel=channel,
                    context=notice.context,
                    enrolment=notice.enrolment,
                    activity=notice.activity,
                    case=None,
                    text="",
                    dedupe_key=key,
                    due_at=None,
                    now=now,
                    strict=False,
                    prefs=notice.prefs,
                    consented=copy_for is not None or channel in consented[notice.patient.pk],
                    templates=templates,
                    copy_for=copy_for,
                )
            )
        except Exception:  # one patient's problem must not stop everyone's messages
            logger.exception("%s for patient %s not queued", notice.purpose, notice.patient.pk)
    if not messages:
        return 0
    try:
        with transaction.atomic():
            Message.objects.bulk_create(messages)
            if any(message.pk is None for message in messages):  # no RETURNING on this database
                pk_of = dict(
                    Message.objects.filter(
                        dedupe_key__in=[message.dedupe_key for message in messages]
                    ).values_list("dedupe_key", "pk")
                )
                for message in messages:
                    message.pk = pk_of[message.dedupe_key]
            AuditEvent.objects.bulk_create(
                _audit_row(message, _queue_verb(message), "create", _queue_detail(message))
                for message in messages
            )
    except IntegrityError:  # a concurrent run queued some of them first: go one by one
        logger.warning("bulk queueing collided with another run; queueing one by one")
        return _notify_one_by_one(notices, now)
    _emit_per_patient(messages, _groups_of(patient_ids))
    due = sum(
        1
        for m in messages
        if m.status == Status.QUEUED and (m.next_attempt_at is None or m.next_attempt_at <= now)
    )
    if due:
        tasks = -(-due // DELIVER_BATCH)
        transaction.on_commit(lambda: _enqueue_due(tasks))
    return len(messages)


# --- dose reminders ---------------------------------------------------------------------------


def dose_interval_days(doses_per_week: float) -> int:
    """Days between two expected doses: daily from 7 a week, else round(7 / doses a week)."""
    if doses_per_week >= 7:
        return 1
    return max(1, round(7 / doses_per_week))


def dose_due_on(enrolment: Enrolment, day: dt.date) -> bool:
    """Whether the therapy expects a self-administered dose on ``day`` (the patient's date).

    Doses count from the therapy start (else the enrolment start): every ``dose_interval_days``.
    """
    per_week = float(enrolment.doses_per_week or 0)
    if per_week <= 0:
        return False
    interval = dose_interval_days(per_week)
    anchor = enrolment.therapy_start_date or enrolment.start_date
    if anchor is None:
        return interval == 1
    if day < anchor:
        return False
    return (day - anchor).days % interval == 0


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _dose_candidates(
    enrolments: list[Enrolment], now: dt.datetime
) -> list[tuple[Enrolment, dt.date, ContactPreferences]]:
    """Enrolments with a dose due today whose reminder time has passed (two queries)."""
    prefs_of = {
        prefs.patient_id: prefs
        for prefs in ContactPreferences.objects.filter(
            patient_id__in={e.patient_id for e in enrolments}
        )
    }
    due = []
    for enrolment in enrolments:
        prefs = prefs_of.get(enrolment.patient_id) or ContactPreferences(patient=enrolment.patient)
        local = now.astimezone(policy._zone(prefs))
        if local.time() < prefs.reminder_time or not dose_due_on(enrolment, local.date()):
            continue
        due.append((enrolment, local.date(), prefs))
    if not due:
        return []
    ids = [enrolment.pk for enrolment, _day, _prefs in due]
    zone_of = {enrolment.pk: policy._zone(prefs) for enrolment, _day, prefs in due}
    dosed = {
        (enrolment_id, at.astimezone(zone_of[enrolment_id]).date())
        for enrolment_id, at in DiaryEntry.objects.filter(
            enrolment_id__in=ids,
            kind=DiaryEntry.Kind.DOSE,
            occurred_at__gte=now - dt.timedelta(days=2),
            occurred_at__lt=now + dt.timedelta(days=1),
        ).values_list("enrolment_id", "occurred_at")
    }
    reminded = {
        key.rsplit(":", 1)[0]
        for key in Message.objects.filter(
            enrolment_id__in=ids,
            purpose=Purpose.DOSE_REMINDER,
            dedupe_key__startswith="dose:",
            due_at__gte=now - dt.timedelta(days=2),
        ).values_list("dedupe_key", flat=True)
    }
    return [
        (enrolment, day, prefs)
        for enrolment, day, prefs in due
        if (enrolment.pk, day) not in dosed and f"dose:{enrolment.pk}:{day}" not in reminded
    ]


def dose_reminders_queue(*, now: dt.datetime | None = None) -> int:
    """Queue today's dose reminder of every active therapy that expects one; rows created.

    A reminder is due when the therapy expects a dose on the patient's local date, her
    reminder time has passed and no dose was logged today. Idempotent (one reminder per
    enrolment, day and channel): a second run the same day creates nothing.
    """
    now = now or timezone.now()
    enrolments = list(
        Enrolment.objects.filter(status=Enrolment.Status.ACTIVE, doses_per_week__gt=0)
        # An infusion is given by the nurse at the patient's home: her visit is confirmed the
        # day before (``activity_confirmations_queue``), there is no dose to remind her of.
        .exclude(product__form=Product.Form.INFUSION)
        .select_related("patient__user", "program", "product")
        .order_by("pk")
    )
    created = 0
    templates = TemplateCache()
    for chunk in _chunks(enrolments, DELIVER_BATCH):
        notices = [
            _Notice(
                patient=enrolment.patient,
                purpose=Purpose.DOSE_REMINDER,
                context={
                    "product": enrolment.product.name if enrolment.product_id else "",
                    "dose": enrolment.dose,
                    "time": f"{prefs.reminder_time:%H:%M}",
                },
                enrolment=enrolment,
                dedupe_key=f"dose:{enrolment.pk}:{day}",
                prefs=prefs,
            )
            for enrolment, day, prefs in _dose_candidates(chunk, now)
        ]
        try:
            created += _notify_bulk(notices, now, templates)
        except Exception:  # one chunk's problem must not stop everyone's reminders
            logger.exception("dose reminders of a chunk failed in bulk; queueing one by one")
            created += _notify_one_by_one(notices, now)
    return created


# --- appointment confirmations ----------------------------------------------------------------

# Activities the patient has to be there for: she is told the day before.
CONFIRMED_CHANNELS = ("home_visit", "logistics", "video", "hospital")
CONFIRMATION_LEAD = dt.timedelta(days=1)


def activity_confirmations_queue(*, now: dt.datetime | None = None) -> int:
    """Tell every patient about tomorrow's visits, deliveries, pickups and video calls; rows made.

    Open activities starting within the next day (``CONFIRMATION_LEAD``) whose module needs the
    patient at home or on a screen. Idempotent per activity and channel (the same dedupe key as
    a confirmation sent when the activity was booked): a second run creates nothing.
    """
    now = now or timezone.now()
    activities = (
        Activity.objects.filter(
            status__in=Activity.OPEN_STATUSES,
            scheduled_start__gt=now,
            scheduled_start__lte=now + CONFIRMATION_LEAD,
            module__channel__in=CONFIRMED_CHANNELS,
            enrolment__status=Enrolment.Status.ACTIVE,
        )
        .exclude(
            pk__in=Message.objects.filter(
                purpose=Purpose.ACTIVITY_CONFIRMATION, activity__isnull=False
            ).values("activity_id")
        )
        .select_related("module", "enrolment__patient__user", "enrolment__program")
        .order_by("scheduled_start", "pk")
    )
    created = 0
    templates = TemplateCache()
    purpose = Purpose.ACTIVITY_CONFIRMATION
    for chunk in _chunks(list(activities), DELIVER_BATCH):
        prefs_of = policy.preferences_of_many({a.enrolment.patient for a in chunk})
        notices = []
        for activity in chunk:
            patient = activity.enrolment.patient
            prefs = prefs_of[patient.pk]
            notices.append(
                _Notice(
                    patient=patient,
                    purpose=purpose,
                    context=activity_context(activity, policy._zone(prefs)),
                    enrolment=activity.enrolment,
                    activity=activity,
                    dedupe_key=f"{purpose}:{activity.pk}",
                    prefs=prefs,
                )
            )
        try:
            created += _notify_bulk(notices, now, templates)
        except Exception:  # one chunk's problem must not stop everyone's confirmations
            logger.exception("confirmations of a chunk failed in bulk; queueing one by one")
            created += _notify_one_by_one(notices, now)
    return created
