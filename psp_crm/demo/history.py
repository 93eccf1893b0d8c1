"""Months of history for one enrolment: activities from its pathway, diary, devices, touchpoints.

Used for the named world and the crowd alike; everything is built in memory and written in bulk
(no audit rows: this is seeded history, not work someone did through the services).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from django.db import connections, models, router

from ..models import (
    Activity,
    CarePathwayStep,
    Device,
    DeviceEvent,
    DiaryEntry,
    Enrolment,
    Interaction,
    Operator,
    Organization,
    User,
)
from .catalog import ProductSpec

ROME = ZoneInfo("Europe/Rome")
BATCH = 2000
CONFIRM_DAYS = 3  # activities this close are confirmed with the patient

SYMPTOMS: dict[str, tuple[str, ...]] = {
    "multiple sclerosis": (
        "fatigue",
        "tingling",
        "numbness",
        "blurred vision",
        "muscle spasms",
        "dizziness",
        "headache",
    ),
    "psoriasis": ("itching", "skin plaques", "scaling", "joint pain", "injection-site redness"),
    "rheumatoid arthritis": (
        "joint pain",
        "morning stiffness",
        "swollen joints",
        "fatigue",
        "nausea",
    ),
}
NOTES = (
    "Slept badly, woke up tired.",
    "Good day, walked for 30 minutes.",
    "Forgot to log yesterday, all fine.",
    "A bit anxious about the next visit.",
    "Started the exercises the physiotherapist suggested.",
    "Busy week at work, feeling stressed.",
    "Weather change, joints more painful.",
    "Went to the pharmacy for the usual checks.",
)
INBOUND = (
    ("phone", "Asked to move the next appointment to the afternoon."),
    ("chat", "Question on how to store the drug while travelling."),
    ("email", "Sent the updated blood-test results."),
    ("app", "Asked how to correct a diary entry."),
    ("web", "Requested a copy of the consent form."),
    ("sms", "Replied YES to confirm the appointment."),
    ("phone", "Reported a change of address for deliveries."),
    ("chat", "Asked whether a missed dose should be taken late."),
)


def insert_rows(model: type[models.Model], objs: Sequence[models.Model]) -> int:
    """Write rows nobody needs the keys of: COPY on PostgreSQL, one ``executemany`` elsewhere.

    Both skip ``bulk_create``'s per-row SQL compilation, which dominates large seeds (about 2x
    faster on SQLite, far more on PostgreSQL). Call it inside a transaction: on SQLite every row
    would otherwise commit on its own.
    """
    if not objs:
        return 0
    connection = connections[router.db_for_write(model)]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    rows = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields] for obj in objs
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"
            for begin in range(0, len(rows), 10 * BATCH):
                cursor.executemany(sql, rows[begin : begin + 10 * BATCH])
    return len(rows)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """An aware Europe/Rome date-time on ``day``."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ROME)


def today_in_rome(now: dt.datetime) -> dt.date:
    return now.astimezone(ROME).date()


@dataclass
class Plan:
    """What the history generators need to know about one enrolment."""

    enrolment: Enrolment
    pathology: str
    product: ProductSpec
    steps: Sequence[CarePathwayStep]
    start: dt.date
    therapy_start: dt.date
    last_day: dt.date  # last day with activities (rolling horizon or the end of the enrolment)
    history_end: dt.date  # last day with diary entries and touchpoints
    team: dict[str, Operator]
    partner: Organization | None
    risk: str = "unassessed"
    adherence: float = 0.9
    show_rate: float = 0.92
    unassigned_rate: float = 0.0
    slot: int = 0
    times: dict[int, dt.time] = field(default_factory=dict)
    overrides: dict[tuple[int, int], str] = field(default_factory=dict)
    authors: Sequence[User | None] = (None,)
    author_weights: Sequence[float] = (1.0,)
    source: str = DiaryEntry.Source.APP
    device: Device | None = None
    measures_glucose: bool = False
    weight_kg: float = 70.0
    mood_base: int = 4
    entry_rate: float = 1.0
    counsellor_user: User | None = None
    activities: list[Activity] = field(default_factory=list)

    @property
    def nurse_user(self) -> User | None:
        nurse = self.team.get("nurse")
        return nurse.user if nurse else None


# --- the pathway → activities ------------------------------------------------------------------


def step_occurrences(
    step: CarePathwayStep, *, start: dt.date, therapy_start: dt.date, until: dt.date
) -> list[tuple[int, dt.date]]:
    """(occurrence, day) pairs of a step not anchored on another step; occurrences count from 1."""
    if step.on_request:
        return []
    anchor = therapy_start if step.anchor == CarePathwayStep.Anchor.THERAPY_START else start
    first = anchor + dt.timedelta(days=step.offset_days)
    if not step.rrule:
        return [(1, first)] if first <= until else []
    if step.end_after_days:
        until = min(until, first + dt.timedelta(days=step.end_after_days))
    out: list[tuple[int, dt.date]] = []
    rule = rrulestr(step.rrule, dtstart=dt.datetime.combine(first, dt.time()))
    for k, when in enumerate(rule, start=1):
        if when.date() > until or (step.occurrence_limit and k > step.occurrence_limit):
            break
        out.append((k, when.date()))
    return out


def _eligible(step: CarePathwayStep, plan: Plan) -> bool:
    # Steps without a performer (self-administration, automatic reminders) are no one's work.
    has_performer = bool(step.performer_role) or step.partner_id is not None
    return has_performer and (not step.risk_profiles or plan.risk in step.risk_profiles)


def _start_time(step: CarePathwayStep, plan: Plan, duration: int) -> dt.time:
    if step.pk in plan.times:
        return plan.times[step.pk]
    begin = step.window_start or dt.time(9)
    end = step.window_end or dt.time(18)
    room = (end.hour * 60 + end.minute) - (begin.hour * 60 + begin.minute) - duration
    slots = max(room // 30, 0) + 1
    minutes = begin.hour * 60 + begin.minute + 30 * ((plan.slot + step.pk) % slots)
    return dt.time(minutes // 60, minutes % 60)


def _new_activity(
    plan: Plan,
    step: CarePathwayStep,
    k: int,
    day: dt.date,
    *,
    today: dt.date,
    rng: random.Random,
    linked_to: Activity | None = None,
) -> Activity:
    duration = step.duration_minutes or step.module.default_duration_minutes
    clock = _start_time(step, plan, duration)
    start = at(day, clock.hour, clock.minute)
    activity = Activity(
        enrolment=plan.enrolment,
        step=step,
        module=step.module,
        occurrence=k,
        assignee=plan.team.get(step.performer_role),
        partner_id=step.partner_id,
        linked_to=linked_to,
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(minutes=duration),
    )
    status = plan.overrides.get((step.pk, k))
    if status is None:
        if day < today:
            r = rng.random()
            if r < plan.show_rate:
                status = Activity.Status.DONE
            elif r < plan.show_rate + (1 - plan.show_rate) * 0.7:
                status = Activity.Status.MISSED
            else:
                status = Activity.Status.CANCELLED
        elif day - today <= dt.timedelta(days=CONFIRM_DAYS):
            status = Activity.Status.CONFIRMED
        else:
            status = Activity.Status.PLANNED
    if (
        linked_to is not None
        and step.offset_days > 0
        and linked_to.status in (Activity.Status.MISSED, Activity.Status.CANCELLED)
        and day < today
    ):
        status = Activity.Status.CANCELLED
        activity.status_reason = "The infusion it follows did not take place."
    activity.status = status
    if status == Activity.Status.PLANNED and rng.random() < plan.unassigned_rate:
        activity.assignee = None
    _fill_logistics(activity, plan)
    _fill_outcome(activity, plan, rng)
    return activity


def _fill_logistics(activity: Activity, plan: Plan) -> None:
    code = activity.module.code
    if code == "drug-delivery":
        activity.items = [
            {"item": plan.product.name, "quantity": 1 if plan.product.form != "tablet" else 2},
            *([{"item": "infusion set", "quantity": 1}] if plan.product.form == "infusion" else []),
        ]
        activity.cold_chain = plan.product.cold_chain
    elif code == "waste-pickup":
        activity.items = [{"item": "sharps container 1.5 L", "quantity": 1}]


def _fill_outcome(activity: Activity, plan: Plan, rng: random.Random) -> None:
    status = activity.status
    code = activity.module.code
    if status == Activity.Status.MISSED:
        activity.status_reason = (
            "No answer after three attempts."
            if activity.module.channel in ("phone", "video")
            else "Nobody at home at the agreed time."
        )
        return
    if status == Activity.Status.CANCELLED:
        activity.status_reason = activity.status_reason or "Cancelled by the patient."
        return
    if status != Activity.Status.DONE:
        return
    activity.completed_at = activity.scheduled_end - dt.timedelta(minutes=rng.randint(0, 10))
    systolic, diastolic = rng.randint(108, 138), rng.randint(66, 88)
    if code == "home-infusion":
        activity.outcome = {
            "administered": True,
            "dose": plan.enrolment.dose,
            "blood_pressure": f"{systolic}/{diastolic}",
            "reaction": "none",
        }
        activity.outcome_notes = "Infusion completed; observed for 60 minutes, no reaction."
    elif code == "nurse-home-visit":
        activity.outcome = {
            "blood_pressure": f"{systolic}/{diastolic}",
            "das28": round(2.4 + rng.random(), 1),
        }
        activity.outcome_notes = "Joints checked, therapy reviewed, next visit agreed."
    elif code == "self-injection-training":
        activity.outcome = {"technique_ok": True, "first_dose_administered": True}
        activity.outcome_notes = "Patient injected the first dose under supervision."
    elif code == "drug-delivery":
        activity.proof_of_delivery = rng.choice(
            ("Signed by the patient", "Signed by a family member", "OTP confirmed in the app")
        )
        activity.outcome = {"temperature_log_ok": True} if activity.cold_chain else {}
    elif code == "waste-pickup":
        activity.proof_of_delivery = "Container collected and sealed"
    elif code in ("adherence-check-call", "counselling-call", "pharmacist-call"):
        activity.outcome = {"reached": True, "doses_missed_reported": rng.choice((0, 0, 0, 1))}
        activity.outcome_notes = "Patient reached; no concerns raised."
    elif code == "dietitian-session":
        activity.outcome = {"bmi": round(plan.weight_kg / 1.7**2, 1)}
        activity.outcome_notes = "Diet plan shared by e-mail."
    elif code == "physiotherapy":
        activity.outcome = {"exercises_assigned": 6}
        activity.outcome_notes = "Mobility exercises for hands and knees."
    elif code == "psychologist-session":
        activity.outcome_notes = "Session held; follow-up on request."


def plan_activities(plans: Iterable[Plan], *, now: dt.datetime, rng: random.Random) -> int:
    """Materialize every plan's pathway up to its last day; steps anchored on steps link to them."""
    today = today_in_rome(now)
    plans = list(plans)
    first: list[Activity] = []
    dates: dict[tuple[int, int], list[tuple[int, dt.date, Activity]]] = {}
    for plan in plans:
        for step in plan.steps:
            if step.anchor == CarePathwayStep.Anchor.STEP:
                continue
            occurrences = step_occurrences(
                step, start=plan.start, therapy_start=plan.therapy_start, until=plan.last_day
            )
            made = []
            for k, day in occurrences:
                activity = _new_activity(plan, step, k, day, today=today, rng=rng)
                made.append((k, day, activity))
                first.append(activity)
            dates[(plan.enrolment.pk, step.pk)] = made
    Activity.objects.bulk_create(first, batch_size=BATCH)
    second: list[Activity] = []
    for plan in plans:
        for step in plan.steps:
            if step.anchor != CarePathwayStep.Anchor.STEP or not _eligible(step, plan):
                continue
            for k, day, anchor in dates.get((plan.enrolment.pk, step.anchor_step_id), []):
                when = day + dt.timedelta(days=step.offset_days)
                if when > plan.last_day:
                    continue
                activity = _new_activity(
                    plan, step, k, when, today=today, rng=rng, linked_to=anchor
                )
                second.append(activity)
    Activity.objects.bulk_create(second, batch_size=BATCH)
    by_enrolment: dict[int, list[Activity]] = {}
    for activity in first + second:
        by_enrolment.setdefault(activity.enrolment_id, []).append(activity)
    for plan in plans:
        plan.activities = sorted(
            by_enrolment.get(plan.enrolment.pk, []), key=lambda a: a.scheduled_start
        )
    return len(first) + len(second)


def _filter_eligible(plans: Iterable[Plan]) -> None:
    for plan in plans:
        plan.steps = [s for s in plan.steps if s.anchor == "step" or _eligible(s, plan)]


# --- the diary ----------------------------------------------------------------------------------


def _dose_days(plan: Plan) -> list[dt.date]:
    start, end, key = plan.therapy_start, plan.history_end, plan.product.key
    if key == "dermakizumab":  # loading weekly for five weeks, then every four weeks
        days = [start + dt.timedelta(weeks=w) for w in range(5)]
        days += [start + dt.timedelta(weeks=4 * m) for m in range(2, 60)]
    elif key == "reumetrex":
        days = [start + dt.timedelta(weeks=w) for w in range(0, 120)]
    elif key == "artrocitinib":
        days = [start + dt.timedelta(days=d) for d in range(0, (end - start).days + 1)]
    else:  # infusions: the nurse records the dose at each home infusion
        return []
    return [d for d in days if d <= end]


def _entry(plan: Plan, kind: str, when: dt.datetime, rng: random.Random, **values) -> DiaryEntry:
    author = values.pop("author", rng.choices(plan.authors, weights=plan.author_weights)[0])
    source = values.pop("source", plan.source)
    delay = 2 if source == DiaryEntry.Source.DEVICE else rng.randint(2, 240)
    return DiaryEntry(
        enrolment=plan.enrolment,
        kind=kind,
        occurred_at=when,
        recorded_at=when + dt.timedelta(minutes=delay),
        author=author,
        source=source,
        **values,
    )


def diary_for(plan: Plan, *, now: dt.datetime, rng: random.Random) -> list[DiaryEntry]:
    """Doses, symptoms, measurements (canonical units), mood and notes up to the history end."""
    entries: list[DiaryEntry] = []
    end = min(plan.history_end, today_in_rome(now))
    tablets = plan.product.form == "tablet"
    device_kind = plan.device.kind if plan.device else ""
    # Doses administered by the nurse at home infusions.
    for activity in plan.activities:
        if activity.module.code != "home-infusion" or activity.status not in ("done", "missed"):
            continue
        taken = activity.status == "done"
        entries.append(
            _entry(
                plan,
                DiaryEntry.Kind.DOSE,
                activity.scheduled_start + dt.timedelta(minutes=15),
                rng,
                author=activity.assignee.user if taken and activity.assignee else None,
                source=DiaryEntry.Source.NURSE,
                dose_status="taken" if taken else "missed",
                note="" if taken else "Infusion not performed.",
            )
        )
    # Doses the patient takes at home.
    for index, day in enumerate(_dose_days(plan)):
        hour = 8 if tablets else 20
        when = at(day, hour, rng.randint(0, 59))
        if when > now:
            continue
        extra: dict = {}
        if not tablets:
            extra["injection_site"] = rng.choice(
                ("abdomen", "left thigh", "right thigh", "upper arm")
            )
        if index == 0 and plan.product.key == "dermakizumab":
            entries.append(
                _entry(
                    plan,
                    DiaryEntry.Kind.DOSE,
                    when.replace(hour=11),
                    rng,
                    author=plan.nurse_user,
                    source=DiaryEntry.Source.NURSE,
                    dose_status="taken",
                    note="First dose during the self-injection training.",
                    **extra,
                )
            )
            continue
        by_device = device_kind in ("blister", "injector")
        r = rng.random()
        if r < plan.adherence:
            late = rng.random() < 0.08
            when = when + dt.timedelta(hours=rng.randint(3, 6)) if late else when
            if when > now:
                continue
            values = {"dose_status": "late" if late else "taken", **extra}
            if by_device:
                values.update(author=None, source=DiaryEntry.Source.DEVICE)
            entries.append(_entry(plan, DiaryEntry.Kind.DOSE, when, rng, **values))
        elif not by_device and rng.random() < 0.6:
            entries.append(_entry(plan, DiaryEntry.Kind.DOSE, when, rng, dose_status="missed"))
    # Everything else, day by day.
    symptoms = SYMPTOMS.get(plan.pathology, ("fatigue",))
    rate = plan.entry_rate
    day = plan.start
    while day <= end:
        if rng.random() < 0.22 * rate:
            entries.append(
                _entry(
                    plan,
                    DiaryEntry.Kind.SYMPTOM,
                    at(day, rng.randint(9, 21), rng.randint(0, 59)),
                    rng,
                    symptom=rng.choice(symptoms),
                    severity=rng.choices(range(1, 9), weights=(5, 8, 8, 6, 4, 2, 1, 1))[0],
                )
            )
        if rng.random() < rate / 7:
            when = at(day, 7, rng.randint(0, 59))
            by_monitor = device_kind == "bp_monitor"
            extra = {"author": None, "source": DiaryEntry.Source.DEVICE} if by_monitor else {}
            entries.append(
                _entry(
                    plan,
                    DiaryEntry.Kind.MEASUREMENT,
                    when,
                    rng,
                    measurement="blood_pressure",
                    value=Decimal(rng.randint(106, 146)),
                    value_secondary=Decimal(rng.randint(64, 94)),
                    unit="mmHg",
                    **extra,
                )
            )
            entries.append(
                _entry(
                    plan,
                    DiaryEntry.Kind.MEASUREMENT,
                    when,
                    rng,
                    measurement="heart_rate",
                    value=Decimal(rng.randint(58, 96)),
                    unit="bpm",
                    **extra,
                )
            )
        if rng.random() < rate / 14:
            weight = plan.weight_kg + rng.uniform(-1.2, 1.2)
            entries.append(
                _entry(
                    plan,
                    DiaryEntry.Kind.MEASUREMENT,
                    at(day, 7, rng.randint(30, 59)),
                    rng,
                    measurement="weight",
                    value=Decimal(f"{weight:.1f}"),
                    unit="kg",
                )
            )
        if rng.random() < rate / 20:
            entries.append(
                _entry(
                    plan,
                    DiaryEntry.Kind.MEASUREMENT,
                    at(day, rng.randint(17, 21), rng.randint(0, 59)),
                    rng,
                    measurement="temperature",
                    value=Decimal(f"{rng.uniform(36.1, 37.8):.1f}"),
                    unit="°C",
                )
            )
        if plan.measures_glucose and rng.random() < rate / 4:
            entries.append(
                _entry(
                    plan,
                    DiaryEntry.Kind.MEASUREMENT,
                    at(day, 7, rng.randint(0, 29)),
                    rng,
                    measurement="glucose",
                    value=Decimal(rng.randint(78, 168)),
                    unit="mg/dL",
                )
            )
        if rng.random() < rate / 3:
            mood = min(5, max(1, plan.mood_base + rng.choice((-2, -1, 0, 0, 0, 1))))
            entries.append(
                _entry(
                    plan,
                    DiaryEntry.Kind.MOOD,
                    at(day, 21, rng.randint(0, 59)),
                    rng,
                    mood=mood,
                )
            )
        if rng.random() < rate / 25:
            entries.append(
                _entry(
                    plan,
                    DiaryEntry.Kind.NOTE,
                    at(day, 22, rng.randint(0, 30)),
                    rng,
                    note=rng.choice(NOTES),
                )
            )
        day += dt.timedelta(days=1)
    entries = [e for e in entries if e.occurred_at <= now]
    for entry in entries:
        entry.recorded_at = min(entry.recorded_at, now)
    return entries


# --- devices --------------------------------------------------------------------------------------


def device_events_for(plan: Plan, entries: Sequence[DiaryEntry]) -> list[DeviceEvent]:
    """The raw events behind the diary entries a device wrote, numbered in order."""
    device = plan.device
    if device is None:
        return []
    mine = sorted(
        (e for e in entries if e.source == DiaryEntry.Source.DEVICE),
        key=lambda e: (e.occurred_at, e.measurement),
    )
    events: list[DeviceEvent] = []
    battery = 100
    seq = 0
    for entry in mine:
        if entry.kind == DiaryEntry.Kind.MEASUREMENT and entry.measurement == "heart_rate":
            continue
        seq += 1
        battery = max(5, battery - 1)
        if device.kind == Device.Kind.BLISTER:
            kind, payload = "dose.extracted", {"cell": (seq - 1) % 28 + 1, "battery": battery}
        elif device.kind == Device.Kind.INJECTOR:
            kind = "injection.completed"
            payload = {"hold_seconds": 10, "site": entry.injection_site, "battery": battery}
        else:
            kind = "reading"
            payload = {
                "systolic": int(entry.value or 0),
                "diastolic": int(entry.value_secondary or 0),
                "battery": battery,
            }
        events.append(
            DeviceEvent(
                device=device,
                seq=seq,
                kind=kind,
                occurred_at=entry.occurred_at,
                received_at=entry.recorded_at,
                payload=payload,
            )
        )
        if battery == 20:
            seq += 1
            events.append(
                DeviceEvent(
                    device=device,
                    seq=seq,
                    kind="battery.low",
                    occurred_at=entry.occurred_at + dt.timedelta(seconds=5),
                    received_at=entry.recorded_at + dt.timedelta(seconds=5),
                    payload={"battery": battery},
                )
            )
            battery = 100  # the patient swapped the battery
    if events:
        device.last_seen_at = events[-1].received_at
    return events


# --- touchpoints ----------------------------------------------------------------------------------


def interactions_for(plan: Plan, *, now: dt.datetime, rng: random.Random) -> list[Interaction]:
    """The omnichannel timeline: calls and visits done, SMS confirmations, inbound contacts."""
    out: list[Interaction] = []
    patient = plan.enrolment.patient
    for activity in plan.activities:
        if activity.scheduled_start > now:
            continue
        channel = activity.module.channel
        handler = activity.assignee.user if activity.assignee else None
        name = activity.module.name
        if channel in ("phone", "video") and activity.status in ("done", "missed"):
            reached = activity.status == "done"
            out.append(
                Interaction(
                    patient=patient,
                    enrolment=plan.enrolment,
                    channel="phone" if channel == "phone" else "app",
                    direction="out",
                    occurred_at=activity.scheduled_start,
                    handled_by=handler,
                    summary=f"{name}: "
                    + ("completed." if reached else "no answer, voicemail left."),
                )
            )
        elif channel == "home_visit" and activity.status == "done":
            out.append(
                Interaction(
                    patient=patient,
                    enrolment=plan.enrolment,
                    channel="visit",
                    direction="out",
                    occurred_at=activity.scheduled_start,
                    handled_by=handler,
                    summary=f"{name} at home.",
                )
            )
        elif channel == "logistics" and activity.module.code == "drug-delivery":
            out.append(
                Interaction(
                    patient=patient,
                    enrolment=plan.enrolment,
                    channel="sms",
                    direction="out",
                    occurred_at=activity.scheduled_start - dt.timedelta(hours=20),
                    summary="Delivery window confirmed by SMS.",
                )
            )
    day = plan.start + dt.timedelta(days=rng.randint(3, 20))
    end = min(plan.history_end, today_in_rome(now))
    while day <= end:
        channel, summary = rng.choice(INBOUND)
        when = at(day, rng.randint(9, 19), rng.randint(0, 59))
        if when <= now:
            staffed = channel in ("phone", "chat", "email")
            out.append(
                Interaction(
                    patient=patient,
                    enrolment=plan.enrolment,
                    channel=channel,
                    direction="in",
                    occurred_at=when,
                    handled_by=plan.counsellor_user if staffed else None,
                    summary=summary,
                )
            )
        day += dt.timedelta(days=rng.randint(12, 35))
    return out


# --- all of it at once ----------------------------------------------------------------------------


def write_history(plans: Sequence[Plan], *, now: dt.datetime, rng: random.Random) -> dict[str, int]:
    """Write activities, diary, device events and interactions of the plans; return the counts."""
    _filter_eligible(plans)
    activities = plan_activities(plans, now=now, rng=rng)
    entries: list[DiaryEntry] = []
    events: list[DeviceEvent] = []
    touches: list[Interaction] = []
    for plan in plans:
        mine = diary_for(plan, now=now, rng=rng)
        entries.extend(mine)
        events.extend(device_events_for(plan, mine))
        touches.extend(interactions_for(plan, now=now, rng=rng))
    insert_rows(DiaryEntry, entries)
    insert_rows(DeviceEvent, events)
    insert_rows(Interaction, touches)
    devices = [p.device for p in plans if p.device is not None and p.device.last_seen_at]
    Device.objects.bulk_update(devices, ["last_seen_at"], batch_size=BATCH)
    return {
        "activities": activities,
        "diary entries": len(entries),
        "device events": len(events),
        "interactions": len(touches),
    }
