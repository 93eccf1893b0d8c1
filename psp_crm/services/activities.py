"""Activity writes: complete, reschedule, cancel, no-show, assign; operator absences; therapy.

Operators act only on their own activities (another operator's is the same 404 as a missing one);
provider staff act on the activities of the programs they manage.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
from ..errors import AccessDenied, DomainError, NotFound
from ..events import enrolment_group, operator_group, program_control_group, send_event_on_commit
from ..models import (
    Activity,
    DiaryEntry,
    Enrolment,
    Operator,
    OperatorAbsence,
    Product,
    Purpose,
    User,
)
from ..scheduling import engine
from ..scheduling.hooks import emit_replanned
from ..tasks_analytics import refresh_adherence_on_commit
from .audit import audit_write
from .messaging import notify_activity_change

# Cold-chain drugs travel between 2 and 8 °C; a reading outside is recorded as an excursion.
COLD_CHAIN_RANGE = (Decimal("2"), Decimal("8"))
TEMPERATURE_LIMITS = (Decimal("-30"), Decimal("50"))
ADMINISTERING_MODULES = frozenset({"home-infusion", "nurse-home-visit", "self-injection-training"})


def lock_activity(activity: Activity) -> Activity:
    """The activity again, locked for update, with what the services read of it."""
    return (
        Activity.objects.select_for_update(of=("self",))
        .select_related("enrolment__program", "enrolment__patient", "module", "step", "assignee")
        .get(pk=activity.pk)
    )


def _check_actor(actor: User, activity: Activity) -> str:
    """The role the actor acts in; an activity they may not touch is NotFound."""
    operator = getattr(actor, "operator_profile", None) if actor.is_authenticated else None
    if operator is not None and activity.assignee_id == operator.pk:
        return "operator"
    if access.has_role(actor, "provider_staff") and access.can_manage_program(
        actor, activity.enrolment.program
    ):
        return "provider_staff"
    raise NotFound(_("No such activity."))


def _require_open(activity: Activity) -> None:
    if not activity.is_open:
        raise DomainError(
            _("This activity is already %(status)s: it cannot change any more.")
            % {"status": activity.get_status_display().lower()}
        )


def emit_activity_event(verb: str, activity: Activity, *extra_operators: int | None) -> None:
    if verb == "activity.done":  # deliveries and nurse administrations move adherence
        refresh_adherence_on_commit([activity.enrolment_id])
    operators = {activity.assignee_id, *extra_operators} - {None}
    send_event_on_commit(
        verb,
        groups=[
            *(operator_group(pk) for pk in operators),
            enrolment_group(activity.enrolment_id),
            program_control_group(activity.enrolment.program_id),
        ],
        activity=activity.pk,
        enrolment=activity.enrolment_id,
    )


def _audit(actor: User, verb: str, activity: Activity, detail: dict | None = None) -> None:
    audit_write(
        actor=actor,
        action="update",
        verb=verb,
        obj=activity,
        patient=activity.enrolment.patient,
        detail=detail,
    )


def _temperature(value: Any) -> Decimal:
    try:
        reading = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise DomainError({"temperature": _("Give the temperature in °C, e.g. 5.2.")}) from None
    if not TEMPERATURE_LIMITS[0] <= reading <= TEMPERATURE_LIMITS[1]:
        raise DomainError({"temperature": _("This temperature is not plausible.")})
    return reading


@transaction.atomic
def activity_complete(
    *,
    actor: User,
    activity: Activity,
    outcome: dict[str, Any] | None = None,
    notes: str = "",
    proof_of_delivery: str = "",
    now: dt.datetime | None = None,
) -> Activity:
    """Close an activity as done with its per-module outcome.

    A nurse's drug administration (``outcome["administered"]``) is also written to the therapy
    diary as a dose with source *nurse*, so it counts toward adherence.
    """
    activity = lock_activity(activity)
    _check_actor(actor, activity)
    _require_open(activity)
    now = now or timezone.now()
    if engine.local_day(activity.scheduled_start) > timezone.localdate(now):
        raise DomainError(_("An activity planned for a later day cannot be completed yet."))
    outcome = dict(outcome or {})
    code = activity.module.code
    if code in ("drug-delivery", "waste-pickup") and not proof_of_delivery.strip():
        raise DomainError({"proof_of_delivery": _("Record the proof of delivery or pickup.")})
    if activity.cold_chain and code == "drug-delivery":
        if outcome.get("temperature") in (None, ""):
            raise DomainError({"temperature": _("Record the cold-chain temperature.")})
        reading = _temperature(outcome["temperature"])
        outcome["temperature"] = str(reading)
        outcome["cold_chain_ok"] = COLD_CHAIN_RANGE[0] <= reading <= COLD_CHAIN_RANGE[1]
    activity.status = Activity.Status.DONE
    activity.completed_at = now
    activity.outcome = outcome
    activity.outcome_notes = notes
    activity.proof_of_delivery = proof_of_delivery.strip()[:200]
    activity.save(
        update_fields=["status", "completed_at", "outcome", "outcome_notes", "proof_of_delivery"]
    )
    if "administered" in outcome and code in ADMINISTERING_MODULES:
        _record_dose(actor, activity, given=bool(outcome["administered"]), at=now)
    _audit(actor, "activity.complete", activity, {"module": code})
    emit_activity_event("activity.done", activity)
    return activity


def _record_dose(actor: User, activity: Activity, *, given: bool, at: dt.datetime) -> DiaryEntry:
    entry = DiaryEntry.objects.create(
        enrolment=activity.enrolment,
        kind=DiaryEntry.Kind.DOSE,
        occurred_at=at,
        author=actor,
        source=DiaryEntry.Source.NURSE,
        dose_status=DiaryEntry.DoseStatus.TAKEN if given else DiaryEntry.DoseStatus.MISSED,
        note=(_("Administered during: %(module)s") if given else _("Not administered: %(module)s"))
        % {"module": activity.module.name},
    )
    audit_write(
        actor=actor,
        action="create",
        verb="diary.nurse_dose",
        obj=entry,
        patient=activity.enrolment.patient,
        detail={"activity": activity.pk},
    )
    send_event_on_commit(
        "diary.created", groups=[enrolment_group(activity.enrolment_id)], entry=entry.pk
    )
    return entry


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError({"reason": _("Give a reason.")})
    return reason[:200]


@transaction.atomic
def activity_reschedule(
    *,
    actor: User,
    activity: Activity,
    start: dt.datetime,
    end: dt.datetime,
    reason: str,
    now: dt.datetime | None = None,
) -> Activity:
    """Move an activity: it becomes *rescheduled* and a new attempt takes its place."""
    activity = lock_activity(activity)
    _check_actor(actor, activity)
    _require_open(activity)
    reason = _reason(reason)
    now = now or timezone.now()
    if end <= start:
        raise DomainError({"end": _("The new window must end after it starts.")})
    if start < now - dt.timedelta(minutes=5):
        raise DomainError({"start": _("The new time must be in the future.")})
    activity.status = Activity.Status.RESCHEDULED
    activity.status_reason = reason
    activity.save(update_fields=["status", "status_reason"])
    new = engine.replacement(activity, start=start, end=end, assignee_id=activity.assignee_id)
    _audit(
        actor,
        "activity.reschedule",
        activity,
        {"to": new.pk, "start": start.isoformat(), "reason": reason},
    )
    emit_activity_event("activity.rescheduled", activity)
    notify_activity_change(activity=new, purpose=Purpose.ACTIVITY_RESCHEDULED)
    return new


@transaction.atomic
def activity_cancel(
    *, actor: User, activity: Activity, reason: str, today: dt.date | None = None
) -> Activity | None:
    """Cancel an activity with a reason; the step's policy may plan another attempt."""
    activity = lock_activity(activity)
    _check_actor(actor, activity)
    _require_open(activity)
    activity.status = Activity.Status.CANCELLED
    activity.status_reason = _reason(reason)
    activity.cancel_cause = Activity.CancelCause.MANUAL
    activity.save(update_fields=["status", "status_reason", "cancel_cause"])
    new = engine.reschedule_per_policy(activity, today=today or timezone.localdate())
    _audit(actor, "activity.cancel", activity, {"reason": activity.status_reason, "next": _pk(new)})
    emit_activity_event("activity.cancelled", activity)
    return new


@transaction.atomic
def activity_no_show(
    *, actor: User, activity: Activity, reason: str = "", today: dt.date | None = None
) -> Activity | None:
    """Mark that the patient was not there (missed); the step's policy may plan another attempt."""
    activity = lock_activity(activity)
    _check_actor(actor, activity)
    _require_open(activity)
    if activity.scheduled_start > timezone.now():
        raise DomainError(_("A no-show can only be recorded once the activity has started."))
    activity.status = Activity.Status.MISSED
    activity.status_reason = (reason or "").strip()[:200] or _("The patient was not reached.")
    activity.save(update_fields=["status", "status_reason"])
    if activity.module.code == "home-infusion":
        _record_dose(actor, activity, given=False, at=activity.scheduled_start)
    new = engine.reschedule_per_policy(activity, today=today or timezone.localdate())
    _audit(actor, "activity.no_show", activity, {"next": _pk(new)})
    emit_activity_event("activity.missed", activity)
    return new


def _pk(activity: Activity | None) -> int | None:
    return activity.pk if activity is not None else None


@transaction.atomic
def activity_assign(*, actor: User, activity: Activity, operator: Operator | None) -> Activity:
    """Provider staff give an activity to an operator (or put it back in the unassigned queue)."""
    activity = lock_activity(activity)
    if not (
        access.has_role(actor, "provider_staff")
        and access.can_manage_program(actor, activity.enrolment.program)
    ):
        raise NotFound(_("No such activity."))
    _require_open(activity)
    previous = activity.assignee_id
    if operator is not None:
        role = (activity.step.performer_role if activity.step else "") or (
            activity.module.performer_role
        )
        if role and operator.role != role:
            raise DomainError({"operator": _("This activity needs a %(role)s.") % {"role": role}})
        if not access.has_program_perm(operator.user, activity.enrolment.program, "staff_program"):
            raise DomainError({"operator": _("This operator does not work in the program.")})
        if activity.partner_id and operator.organization_id != activity.partner_id:
            raise DomainError({"operator": _("This activity is the partner's work.")})
    activity.assignee = operator
    activity.save(update_fields=["assignee"])
    _audit(
        actor,
        "activity.assign",
        activity,
        {"from": previous, "to": operator.pk if operator else None},
    )
    emit_activity_event("activity.assigned", activity, previous)
    return activity


@transaction.atomic
def absence_record(
    *,
    actor: User,
    operator: Operator,
    starts_on: dt.date,
    ends_on: dt.date,
    reason: str = "",
) -> OperatorAbsence:
    """Record an operator's absence; their open activities of those days are reassigned."""
    staff = getattr(actor, "provider_staff_profile", None)
    staffs_mine = access.programs_for(actor, "manage_program").filter(
        pk__in=access.programs_for(operator.user, "staff_program")
    )
    if not actor.is_superuser and (
        staff is None
        or not access.has_role(actor, "provider_staff")
        or not (operator.organization_id == staff.organization_id or staffs_mine.exists())
    ):
        raise AccessDenied(_("Only provider staff of the operator's programs record absences."))
    if ends_on < starts_on:
        raise DomainError({"ends_on": _("An absence must end on or after the day it starts.")})
    absence = OperatorAbsence.objects.create(
        operator=operator, starts_on=starts_on, ends_on=ends_on, reason=reason, created_by=actor
    )
    touched = engine.reassign_absent(operator, first=starts_on, last=ends_on)
    audit_write(
        actor=actor,
        action="create",
        verb="operator.absence",
        obj=absence,
        detail={"reassigned": len(touched)},
    )
    emit_replanned(touched, verb="activities.reassigned")
    return absence


@transaction.atomic
def therapy_change(
    *,
    actor: User,
    enrolment: Enrolment,
    reason: str,
    therapy_start_date: dt.date | None = None,
    product: Product | None = None,
    dose: str | None = None,
    frequency: str | None = None,
    today: dt.date | None = None,
) -> engine.Touched:
    """Change an active enrolment's therapy and re-plan only the therapy-anchored work."""
    enrolment = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
    if not access.can_manage_enrolment(actor, enrolment):
        raise AccessDenied(_("Only provider staff of this program may change the therapy."))
    if enrolment.status != Enrolment.Status.ACTIVE:
        raise DomainError(_("Only an active enrolment's therapy can change."))
    reason = _reason(reason)
    if product is not None and not enrolment.program.products.filter(pk=product.pk).exists():
        raise DomainError({"product": _("This product is not supported by the program.")})
    changes: dict[str, Any] = {}
    for name, value in (
        ("therapy_start_date", therapy_start_date),
        ("product", product),
        ("dose", dose),
        ("frequency", frequency),
    ):
        if value is not None and getattr(enrolment, name) != value:
            changes[name] = value
            setattr(enrolment, name, value)
    if not changes:
        raise DomainError(_("Nothing changed in the therapy."))
    enrolment.save(update_fields=list(changes))
    touched = engine.change_therapy(
        enrolment, today=today or timezone.localdate(), reason=f"Therapy changed: {reason}"
    )
    audit_write(
        actor=actor,
        action="update",
        verb="enrolment.therapy_change",
        obj=enrolment,
        patient=enrolment.patient,
        detail={"fields": sorted(changes), "reason": reason, "cancelled": len(touched)},
    )
    emit_replanned(touched)
    send_event_on_commit(
        "enrolment.therapy_changed",
        groups=[enrolment_group(enrolment.pk), program_control_group(enrolment.program_id)],
        enrolment=enrolment.pk,
    )
    return touched
