"""Materialization and re-planning of care pathways, set-based and idempotent.

Numbering follows the demo seed (``psp_crm/demo/history.py``): a step's occurrences count from 1
at its first date; a step anchored on another step reuses that step's occurrence number; ad-hoc
work has no step and occurrence 0. A therapy change starts a new *cycle* (counted again from 1),
a reschedule a new *attempt* of the same occurrence. The unique constraint
``one_activity_per_step_occurrence`` on (enrolment, step, cycle, occurrence, attempt) makes every
insert here ``ON CONFLICT DO NOTHING``: running twice, or concurrently, creates nothing twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Max
from django.utils import timezone

from ..models import (
    Activity,
    CarePathwayStep,
    Enrolment,
    EnrolmentSchedule,
    Operator,
)
from .assignment import REMOTE_CHANNELS, Assigner, Need
from .expansion import next_working_day, step_occurrences

BATCH = 1000  # enrolments per round trip
INSERT_BATCH = 2000
EXISTING_LOOKBACK = dt.timedelta(days=60)  # keys older than this cannot clash with new dates
THERAPY = CarePathwayStep.Anchor.THERAPY_START
STEP = CarePathwayStep.Anchor.STEP


def horizon_days() -> int:
    return int(getattr(settings, "PSP_SCHEDULING_HORIZON_DAYS", 90))


def local_tz():
    return timezone.get_default_timezone()


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(local_tz()).date()


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=local_tz())


# --- the pathway of a program --------------------------------------------------------------------


@dataclass
class Pathway:
    """A program's steps in dependency order: roots first, then each level of anchored steps."""

    steps: dict[int, CarePathwayStep]
    roots: list[CarePathwayStep]
    levels: list[list[CarePathwayStep]]
    root_of: dict[int, CarePathwayStep] = field(default_factory=dict)

    def cycle_for(self, step: CarePathwayStep, therapy_cycle: int) -> int:
        return therapy_cycle if self.root_of[step.pk].anchor == THERAPY else 0

    def therapy_step_ids(self) -> set[int]:
        return {pk for pk, root in self.root_of.items() if root.anchor == THERAPY}


def load_pathways(program_ids: Iterable[int]) -> dict[int, Pathway]:
    steps_by_program: dict[int, list[CarePathwayStep]] = defaultdict(list)
    for step in CarePathwayStep.objects.filter(program_id__in=set(program_ids)).select_related(
        "module"
    ):
        steps_by_program[step.program_id].append(step)
    return {pid: _pathway(steps) for pid, steps in steps_by_program.items()}


def _pathway(steps: Sequence[CarePathwayStep]) -> Pathway:
    by_pk = {s.pk: s for s in steps}
    roots = [s for s in steps if s.anchor != STEP]
    root_of: dict[int, CarePathwayStep] = {s.pk: s for s in roots}
    levels: list[list[CarePathwayStep]] = []
    placed = set(root_of)
    pending = [s for s in steps if s.anchor == STEP]
    while pending:
        level = [s for s in pending if s.anchor_step_id in placed]
        if not level:  # a cycle or a foreign anchor: validation refuses these; skip them here
            break
        for s in level:
            root_of[s.pk] = root_of[s.anchor_step_id]
        placed |= {s.pk for s in level}
        pending = [s for s in pending if s.pk not in placed]
        levels.append(level)
    return Pathway(steps=by_pk, roots=roots, levels=levels, root_of=root_of)


def eligible(step: CarePathwayStep, risk_profile: str) -> bool:
    """Work somebody performs, for this patient's risk profile (same rule as the seed)."""
    has_performer = bool(step.performer_role) or step.partner_id is not None
    return (
        has_performer
        and not step.on_request
        and (not step.risk_profiles or risk_profile in step.risk_profiles)
    )


# --- building rows ----------------------------------------------------------------------------


@dataclass
class EnrolmentFacts:
    pk: int
    program_id: int
    start: dt.date
    therapy_start: dt.date
    risk: str
    territory: str
    product_name: str
    cold_chain: bool
    cycle: int
    team: frozenset[int]


def _logistics(row: dict[str, Any], step: CarePathwayStep, facts: EnrolmentFacts) -> None:
    code = step.module.code
    if code == "drug-delivery":
        row["items"] = [{"item": facts.product_name or "therapy", "quantity": 1}]
        row["cold_chain"] = facts.cold_chain
    elif code == "waste-pickup":
        row["items"] = [{"item": "sharps container 1.5 L", "quantity": 1}]


def step_minutes(step: CarePathwayStep) -> int:
    return step.duration_minutes or step.module.default_duration_minutes


def _new_activity(
    facts: EnrolmentFacts,
    step: CarePathwayStep,
    *,
    k: int,
    cycle: int,
    day: dt.date,
    linked_to_id: int | None = None,
) -> dict[str, Any]:
    """One new row as a dict of column values (model instances cost ~45 µs each to build)."""
    clock = step.window_start or dt.time(9)
    start = dt.datetime.combine(day, clock, tzinfo=local_tz())
    row: dict[str, Any] = {
        "enrolment_id": facts.pk,
        "step_id": step.pk,
        "module_id": step.module_id,
        "occurrence": k,
        "cycle": cycle,
        "attempt": 0,
        "partner_id": step.partner_id,
        "linked_to_id": linked_to_id,
        "scheduled_start": start,
        "scheduled_end": start + dt.timedelta(minutes=step_minutes(step)),
        "status": Activity.Status.PLANNED,
        "day": day,
    }
    _logistics(row, step, facts)
    return row


def need_for(
    step: CarePathwayStep, *, program_id: int, territory: str, day: dt.date, team=frozenset()
) -> Need:
    return Need(
        program_id=program_id,
        role=step.performer_role or step.module.performer_role,
        partner_id=step.partner_id,
        territory=territory,
        remote=step.module.channel in REMOTE_CHANNELS,
        skills=frozenset(step.required_skills or ()),
        day=day,
        minutes=step_minutes(step),
        team=team,
    )


def _facts(enrolment_ids: Sequence[int]) -> list[EnrolmentFacts]:
    rows = Enrolment.objects.filter(pk__in=enrolment_ids, status=Enrolment.Status.ACTIVE).values(
        "pk",
        "program_id",
        "start_date",
        "therapy_start_date",
        "risk_profile",
        "patient__territory",
        "product__name",
        "product__requires_cold_chain",
    )
    rows = [r for r in rows if r["start_date"] is not None]
    ids = [r["pk"] for r in rows]
    cycles = dict(
        EnrolmentSchedule.objects.filter(enrolment_id__in=ids).values_list(
            "enrolment_id", "therapy_cycle"
        )
    )
    teams: dict[int, set[int]] = defaultdict(set)
    for enrolment_id, operator_id in Enrolment.operators.through.objects.filter(
        enrolment_id__in=ids
    ).values_list("enrolment_id", "operator_id"):
        teams[enrolment_id].add(operator_id)
    return [
        EnrolmentFacts(
            pk=r["pk"],
            program_id=r["program_id"],
            start=r["start_date"],
            therapy_start=r["therapy_start_date"] or r["start_date"],
            risk=r["risk_profile"],
            territory=r["patient__territory"] or "",
            product_name=r["product__name"] or "",
            cold_chain=bool(r["product__requires_cold_chain"]),
            cycle=cycles.get(r["pk"], 0),
            team=frozenset(teams.get(r["pk"], ())),
        )
        for r in rows
    ]


# --- materialization -----------------------------------------------------------------------------


def materialize(
    enrolment_ids: Iterable[int] | None = None,
    *,
    today: dt.date,
    horizon: int | None = None,
) -> int:
    """Create the missing activities of active enrolments from ``today`` to the horizon.

    ``enrolment_ids=None`` means every active enrolment (the nightly roll). Returns how many new
    rows were written (rows another process wrote meanwhile are skipped by the constraint).
    """
    if enrolment_ids is None:
        ids = list(
            Enrolment.objects.filter(status=Enrolment.Status.ACTIVE)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    else:
        ids = sorted(set(enrolment_ids))
    until = today + dt.timedelta(days=horizon if horizon is not None else horizon_days())
    created = 0
    pathways: dict[int, Pathway] = {}
    assigner = Assigner(start=today, end=until)  # one for the run: loads carry across batches
    for begin in range(0, len(ids), BATCH):
        created += _materialize_batch(ids[begin : begin + BATCH], today, until, pathways, assigner)
    return created


def _materialize_batch(
    ids: Sequence[int],
    today: dt.date,
    until: dt.date,
    pathways: dict[int, Pathway],
    assigner: Assigner,
) -> int:
    facts = _facts(ids)
    if not facts:
        return 0
    missing = {f.program_id for f in facts} - set(pathways)
    pathways.update(load_pathways(missing))
    for pid in missing:
        pathways.setdefault(pid, _pathway([]))
    ids = [f.pk for f in facts]
    existing = set(
        Activity.objects.filter(
            enrolment_id__in=ids,
            step__isnull=False,
            scheduled_start__gte=day_start(today) - EXISTING_LOOKBACK,
        ).values_list("enrolment_id", "step_id", "cycle", "occurrence")
    )
    created = 0
    with transaction.atomic():
        rows: list[dict[str, Any]] = []
        for f in facts:
            pathway = pathways[f.program_id]
            for step in pathway.roots:
                if not eligible(step, f.risk):
                    continue
                cycle = pathway.cycle_for(step, f.cycle)
                anchor = f.therapy_start if step.anchor == THERAPY else f.start
                for k, day in step_occurrences(step, anchor_date=anchor, until=until):
                    if day < today or (f.pk, step.pk, cycle, k) in existing:
                        continue
                    rows.append(_new_activity(f, step, k=k, cycle=cycle, day=day))
        created += _insert(rows, facts, pathways, assigner)
        depth = max((len(p.levels) for p in pathways.values()), default=0)
        for level in range(depth):
            created += _materialize_level(level, facts, pathways, existing, assigner, today, until)
        EnrolmentSchedule.objects.bulk_create(
            [EnrolmentSchedule(enrolment_id=f.pk, materialized_until=until) for f in facts],
            update_conflicts=True,
            unique_fields=["enrolment"],
            update_fields=["materialized_until"],
        )
    return created


def _materialize_level(
    level: int,
    facts: list[EnrolmentFacts],
    pathways: dict[int, Pathway],
    existing: set,
    assigner: Assigner,
    today: dt.date,
    until: dt.date,
) -> int:
    dependents: dict[int, list[CarePathwayStep]] = defaultdict(list)
    for pathway in pathways.values():
        if level < len(pathway.levels):
            for step in pathway.levels[level]:
                dependents[step.anchor_step_id].append(step)
    if not dependents:
        return 0
    offsets = [s.offset_days for steps in dependents.values() for s in steps]
    low = today - dt.timedelta(days=max(max(offsets), 0))
    high = until + dt.timedelta(days=max(-min(offsets), 0) + 1)
    by_pk = {f.pk: f for f in facts}
    anchors: dict[tuple, tuple[int, int, dt.datetime]] = {}
    found = Activity.objects.filter(
        enrolment_id__in=list(by_pk),
        step_id__in=list(dependents),
        status__in=(*Activity.OPEN_STATUSES, Activity.Status.DONE),
        scheduled_start__gte=day_start(low),
        scheduled_start__lt=day_start(high),
    ).values_list(
        "pk", "enrolment_id", "step_id", "cycle", "occurrence", "attempt", "scheduled_start"
    )
    for pk, enrolment_id, step_id, cycle, k, attempt, start in found:
        key = (enrolment_id, step_id, cycle, k)
        if key not in anchors or anchors[key][1] < attempt:
            anchors[key] = (pk, attempt, start)
    new: list[dict[str, Any]] = []
    for (enrolment_id, step_id, cycle, k), (pk, _attempt, start) in anchors.items():
        f = by_pk[enrolment_id]
        for step in dependents[step_id]:
            if step.program_id != f.program_id or not eligible(step, f.risk):
                continue
            day = local_day(start) + dt.timedelta(days=step.offset_days)
            if not today <= day <= until or (f.pk, step.pk, cycle, k) in existing:
                continue
            new.append(_new_activity(f, step, k=k, cycle=cycle, day=day, linked_to_id=pk))
    return _insert(new, facts, pathways, assigner)


def _insert(
    rows: list[dict[str, Any]],
    facts: list[EnrolmentFacts],
    pathways: dict[int, Pathway],
    assigner: Assigner,
) -> int:
    if not rows:
        return 0
    by_pk = {f.pk: f for f in facts}
    rows.sort(key=lambda r: r["scheduled_start"])  # earlier work claims capacity first
    for row in rows:
        f = by_pk[row["enrolment_id"]]
        step = pathways[f.program_id].steps[row["step_id"]]
        row["assignee_id"] = assigner.pick(
            need_for(
                step, program_id=f.program_id, territory=f.territory, day=row["day"], team=f.team
            )
        )
    return insert_activities(rows)


def insert_activities(rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows, skipping any the unique constraint already holds (ON CONFLICT DO NOTHING).

    On PostgreSQL: COPY into a temporary table, then one ``INSERT … SELECT … ON CONFLICT DO
    NOTHING`` (STACK.md: COPY ~312k rows/s against ~52k for ``bulk_create``), which also counts
    exactly what was new. Elsewhere (SQLite in ``make run`` and tests): ``bulk_create`` with
    ``ignore_conflicts``.
    """
    fields = [f for f in Activity._meta.concrete_fields if not f.primary_key]
    connection = connections[router.db_for_write(Activity)]
    defaults = {f.attname: f.get_default() for f in fields}
    if connection.vendor != "postgresql":
        objs = [Activity(**{k: v for k, v in row.items() if k in defaults}) for row in rows]
        Activity.objects.bulk_create(objs, batch_size=INSERT_BATCH, ignore_conflicts=True)
        return len(objs)
    quote = connection.ops.quote_name
    table = quote(Activity._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    json_fields = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE _activity_load AS SELECT {columns} FROM {table} WITH NO DATA"
        )
        try:
            with cursor.cursor.copy(f"COPY _activity_load ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(
                        [
                            json.dumps(row.get(f.attname, defaults[f.attname]))
                            if f.attname in json_fields
                            else row.get(f.attname, defaults[f.attname])
                            for f in fields
                        ]
                    )
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _activity_load "
                "ON CONFLICT DO NOTHING"
            )
            inserted = cursor.rowcount
        finally:
            cursor.execute("DROP TABLE _activity_load")
    return inserted


# --- re-planning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Touched:
    """What a re-planning changed: for the live events and the audit detail."""

    activity_ids: list[int]
    operator_ids: set[int]
    enrolment_ids: set[int]
    program_ids: set[int]

    def __len__(self) -> int:
        return len(self.activity_ids)


def _touched(queryset) -> Touched:
    rows = list(queryset.values_list("pk", "assignee_id", "enrolment_id", "enrolment__program_id"))
    return Touched(
        activity_ids=[r[0] for r in rows],
        operator_ids={r[1] for r in rows if r[1]},
        enrolment_ids={r[2] for r in rows},
        program_ids={r[3] for r in rows},
    )


def cancel_future(
    enrolment_ids: Iterable[int],
    *,
    since: dt.datetime,
    cause: str,
    reason: str,
    step_ids: Iterable[int] | None = None,
) -> Touched:
    """Cancel the open activities starting from ``since`` (suspension, withdrawal, therapy)."""
    queryset = Activity.objects.filter(
        enrolment_id__in=list(enrolment_ids),
        status__in=Activity.OPEN_STATUSES,
        scheduled_start__gte=since,
    )
    if step_ids is not None:
        queryset = queryset.filter(step_id__in=list(step_ids))
    touched = _touched(queryset)
    Activity.objects.filter(pk__in=touched.activity_ids).update(
        status=Activity.Status.CANCELLED, cancel_cause=cause, status_reason=reason[:200]
    )
    return touched


def reopen_after_suspension(enrolment_ids: Iterable[int], *, since: dt.datetime) -> Touched:
    """A reactivated enrolment gets back the future activities its suspension cancelled."""
    queryset = Activity.objects.filter(
        enrolment_id__in=list(enrolment_ids),
        status=Activity.Status.CANCELLED,
        cancel_cause=Activity.CancelCause.ENROLMENT,
        scheduled_start__gte=since,
    )
    touched = _touched(queryset)
    Activity.objects.filter(pk__in=touched.activity_ids).update(
        status=Activity.Status.PLANNED, cancel_cause="", status_reason=""
    )
    return touched


def change_therapy(enrolment: Enrolment, *, today: dt.date, reason: str) -> Touched:
    """Start a new therapy cycle: future therapy-anchored work is cancelled and planned again.

    The caller has saved the enrolment's new therapy start (and product, dose...).
    """
    schedule, _ = EnrolmentSchedule.objects.select_for_update().get_or_create(
        enrolment_id=enrolment.pk
    )
    current = (
        Activity.objects.filter(enrolment_id=enrolment.pk).aggregate(top=Max("cycle"))["top"] or 0
    )
    schedule.therapy_cycle = max(schedule.therapy_cycle, current) + 1
    schedule.save(update_fields=["therapy_cycle"])
    pathway = load_pathways([enrolment.program_id]).get(enrolment.program_id, _pathway([]))
    touched = cancel_future(
        [enrolment.pk],
        since=day_start(today),
        cause=Activity.CancelCause.THERAPY,
        reason=reason or "Therapy changed.",
        step_ids=pathway.therapy_step_ids(),
    )
    materialize([enrolment.pk], today=today)
    return touched


def _shift_linked(old: Activity, new: Activity) -> list[Activity]:
    """Move the open activities linked to ``old`` with it, keeping their order (pickup after)."""
    delta = new.scheduled_start - old.scheduled_start
    moved = []
    for linked in Activity.objects.filter(linked_to=old, status__in=Activity.OPEN_STATUSES):
        linked.scheduled_start += delta
        linked.scheduled_end += delta
        linked.linked_to = new
        moved.append(linked)
    Activity.objects.bulk_update(moved, ["scheduled_start", "scheduled_end", "linked_to"])
    return moved


def cancel_linked(activity: Activity, *, reason: str) -> Touched:
    """The follow-ups of work that did not take place are pointless (a pickup after no infusion)."""
    queryset = Activity.objects.filter(
        linked_to=activity,
        status__in=Activity.OPEN_STATUSES,
        scheduled_start__gte=activity.scheduled_start,
    )
    touched = _touched(queryset)
    Activity.objects.filter(pk__in=touched.activity_ids).update(
        status=Activity.Status.CANCELLED,
        cancel_cause=Activity.CancelCause.LINKED,
        status_reason=reason,
    )
    return touched


def replacement(
    activity: Activity,
    *,
    start: dt.datetime,
    end: dt.datetime,
    assignee_id: int | None,
) -> Activity:
    """A new attempt of the same occurrence at another time; linked work moves with it."""
    new = Activity.objects.create(
        enrolment_id=activity.enrolment_id,
        step_id=activity.step_id,
        module_id=activity.module_id,
        occurrence=activity.occurrence,
        cycle=activity.cycle,
        attempt=_next_attempt(activity),
        rescheduled_from=activity,
        assignee_id=assignee_id,
        partner_id=activity.partner_id,
        linked_to_id=activity.linked_to_id,
        scheduled_start=start,
        scheduled_end=end,
        items=activity.items,
        cold_chain=activity.cold_chain,
    )
    _shift_linked(activity, new)
    return new


def _next_attempt(activity: Activity) -> int:
    if activity.step_id is None:
        return 0
    top = Activity.objects.filter(
        enrolment_id=activity.enrolment_id,
        step_id=activity.step_id,
        cycle=activity.cycle,
        occurrence=activity.occurrence,
    ).aggregate(top=Max("attempt"))["top"]
    return (top or 0) + 1


def reschedule_per_policy(activity: Activity, *, today: dt.date) -> Activity | None:
    """After a miss or a cancellation, plan the next attempt as the step's policy says.

    Without a policy (or past the allowed number of reschedules, or beyond the horizon) nothing is
    planned, and the open follow-ups of the activity are cancelled.
    """
    step = activity.step
    policy = step.reschedule_policy if step else CarePathwayStep.ReschedulePolicy.NONE
    enrolment_active = Enrolment.objects.filter(
        pk=activity.enrolment_id, status=Enrolment.Status.ACTIVE
    ).exists()
    new_day = None
    if (
        step is not None
        and enrolment_active
        and policy != CarePathwayStep.ReschedulePolicy.NONE
        and activity.attempt < step.max_reschedules
    ):
        base = max(local_day(activity.scheduled_start), today)
        if policy == CarePathwayStep.ReschedulePolicy.NEXT_DAY:
            new_day = next_working_day(base)
        else:
            new_day = base + dt.timedelta(days=max(step.reschedule_after_days, 1))
        if new_day > today + dt.timedelta(days=horizon_days()):
            new_day = None
    if new_day is None:
        cancel_linked(activity, reason="The activity it belongs to did not take place.")
        return None
    clock = activity.scheduled_start.astimezone(local_tz()).time()
    start = dt.datetime.combine(new_day, clock, tzinfo=local_tz())
    duration = activity.scheduled_end - activity.scheduled_start
    # Linked work moves with it: it too must stay inside the horizon.
    horizon_end = day_start(today + dt.timedelta(days=horizon_days() + 1))
    delta = start - activity.scheduled_start
    last_linked = Activity.objects.filter(
        linked_to=activity, status__in=Activity.OPEN_STATUSES
    ).aggregate(last=Max("scheduled_start"))["last"]
    if last_linked is not None and last_linked + delta >= horizon_end:
        cancel_linked(activity, reason="The activity it belongs to did not take place.")
        return None
    assignee_id = activity.assignee_id
    if assignee_id is not None:
        keep = Assigner(program_ids=[activity.enrolment.program_id], start=new_day, end=new_day)
        candidate = next((c for c in keep.operators if c.pk == assignee_id), None)
        need = need_for(
            step,
            program_id=activity.enrolment.program_id,
            territory=activity.enrolment.patient.territory,
            day=new_day,
        )
        if candidate is None or not keep.fits(candidate, need):
            assignee_id = keep.pick(need)
    return replacement(activity, start=start, end=start + duration, assignee_id=assignee_id)


def reassign(activity_ids: Sequence[int], *, exclude: Iterable[int] = ()) -> Touched:
    """Give open activities a (new) performer; those nobody fits go to the unassigned queue."""
    activities = list(
        Activity.objects.filter(pk__in=list(activity_ids), status__in=Activity.OPEN_STATUSES)
        .select_related("step__module", "module", "enrolment__patient")
        .order_by("scheduled_start")
    )
    if not activities:
        return Touched([], set(), set(), set())
    before = {a.pk: a.assignee_id for a in activities}
    days = [local_day(a.scheduled_start) for a in activities]
    excluded = set(exclude)
    Activity.objects.filter(pk__in=[a.pk for a in activities]).update(assignee=None)
    assigner = Assigner(
        program_ids={a.enrolment.program_id for a in activities},
        start=min(days),
        end=max(days),
        exclude=excluded,
    )
    teams: dict[int, set[int]] = defaultdict(set)
    for enrolment_id, operator_id in Enrolment.operators.through.objects.filter(
        enrolment_id__in={a.enrolment_id for a in activities}
    ).values_list("enrolment_id", "operator_id"):
        teams[enrolment_id].add(operator_id)
    for activity, day in zip(activities, days, strict=True):
        if activity.step is not None:
            need = need_for(
                activity.step,
                program_id=activity.enrolment.program_id,
                territory=activity.enrolment.patient.territory,
                day=day,
                team=frozenset(teams[activity.enrolment_id] - excluded),
            )
        else:
            need = Need(
                program_id=activity.enrolment.program_id,
                role=activity.module.performer_role,
                partner_id=activity.partner_id,
                territory=activity.enrolment.patient.territory,
                remote=activity.module.channel in REMOTE_CHANNELS,
                skills=frozenset(),
                day=day,
                minutes=int((activity.scheduled_end - activity.scheduled_start).seconds // 60),
            )
        activity.assignee_id = assigner.pick(need)
    Activity.objects.bulk_update(activities, ["assignee"])
    operators = {op for op in before.values() if op} | {
        a.assignee_id for a in activities if a.assignee_id
    }
    return Touched(
        activity_ids=[a.pk for a in activities],
        operator_ids=operators,
        enrolment_ids={a.enrolment_id for a in activities},
        program_ids={a.enrolment.program_id for a in activities},
    )


def reassign_absent(operator: Operator, *, first: dt.date, last: dt.date) -> Touched:
    """Move an absent operator's open activities of those days to colleagues (or the queue)."""
    ids = list(
        Activity.objects.filter(
            assignee=operator,
            status__in=Activity.OPEN_STATUSES,
            scheduled_start__gte=day_start(first),
            scheduled_start__lt=day_start(last + dt.timedelta(days=1)),
        ).values_list("pk", flat=True)
    )
    return reassign(ids, exclude=[operator.pk])
