"""Contact-centre writes: log a touchpoint, open, assign and move cases, escalate overdue ones.

Who may write: provider staff of the patient's programs, a counsellor on any patient of the
programs she staffs, a clinical operator or a doctor on the patients they may see. Logistics
operators and pharma client users never (they may not read the timeline either).

The SLA clock: a case is due ``SLA_HOURS[priority]`` after it opens (an adverse-event suspicion
within the program's ``adverse_event_sla_hours``); while it waits for the patient the clock stops,
and ``case_escalate_overdue`` (a periodic task) raises the cases that run past it.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from .. import access
from ..access import Role
from ..errors import AccessDenied, DomainError
from ..events import enrolment_group, operator_group, send_event_on_commit
from ..models import Case, Enrolment, Interaction, Operator, Patient, User
from .audit import audit_write

SUMMARY_MAX = 5000
SUBJECT_MAX = 200
CATEGORY_MAX = 50
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
# The roles that may write on a patient's timeline, in the order they are tried.
WRITER_ROLES: tuple[Role, ...] = ("provider_staff", "operator", "doctor")
# Case categories the contact centre uses (DESIGN: request, complaint, logistics problem, …).
CASE_CATEGORIES = ("request", "complaint", "logistics", "adverse_event_suspicion", "information")
CLOSED_STATUSES = frozenset({Case.Status.RESOLVED, Case.Status.CLOSED})
OPEN_STATUSES = (Case.Status.OPEN, Case.Status.WAITING)
ADVERSE_EVENT_CATEGORY = "adverse_event_suspicion"
# Hours to answer a case, by priority; an adverse-event suspicion uses the program's own SLA.
SLA_HOURS: dict[str, int] = {
    Case.Priority.URGENT: 4,
    Case.Priority.HIGH: 24,
    Case.Priority.NORMAL: 72,
    Case.Priority.LOW: 120,
}
DEFAULT_ADVERSE_EVENT_SLA_HOURS = 24
# Escalation: level 1 once past due, level 2 once this long past due.
SECOND_ESCALATION_AFTER = dt.timedelta(hours=24)
PRIORITY_ORDER: tuple[str, ...] = (
    Case.Priority.LOW,
    Case.Priority.NORMAL,
    Case.Priority.HIGH,
    Case.Priority.URGENT,
)
MAX_DURATION_SECONDS = 8 * 3600


def writer_role(actor: User, patient: Patient) -> Role | None:
    """The role in which ``actor`` may write on ``patient``'s timeline, or None."""
    mine = access.roles_of(actor)
    for role in WRITER_ROLES:
        if role not in mine or not access.sees_clinical_data(actor, role):
            continue
        if access.patients_for(actor, role=role).filter(pk=patient.pk).exists():
            return role
    return None


def _require_writer(actor: User, patient: Patient) -> Role:
    role = writer_role(actor, patient)
    if role is None:
        raise AccessDenied("You may not record contacts with this patient.")
    return role


def _check_enrolment(enrolment: Enrolment | None, patient: Patient) -> None:
    if enrolment is not None and enrolment.patient_id != patient.pk:
        raise DomainError({"enrolment": "This program participation is not the patient's."})


def _groups(patient: Patient, enrolment: Enrolment | None) -> list[str]:
    if enrolment is not None:
        return [enrolment_group(enrolment.pk)]
    ids = Enrolment.objects.filter(patient=patient).values_list("pk", flat=True)
    return [enrolment_group(pk) for pk in ids]


def _validate_duration(duration_seconds: object) -> str | None:
    """The error message for a call duration, or None when it is acceptable (or not given)."""
    if duration_seconds is None:
        return None
    if isinstance(duration_seconds, bool) or not isinstance(duration_seconds, int):
        return "Give the duration as a whole number of seconds."
    if duration_seconds <= 0:
        return "The duration must be longer than zero."
    if duration_seconds > MAX_DURATION_SECONDS:
        return "A contact cannot last more than 8 hours: check the duration."
    return None


@transaction.atomic
def interaction_log(
    *,
    actor: User,
    patient: Patient,
    channel: str,
    direction: str,
    summary: str = "",
    reason: str = "",
    outcome: str = "",
    duration_seconds: int | None = None,
    enrolment: Enrolment | None = None,
    case: Case | None = None,
    occurred_at: dt.datetime | None = None,
) -> Interaction:
    """Log one touchpoint with a patient (a call, an SMS, a visit, …) on her timeline.

    ``reason`` and ``outcome`` are ``Interaction.Reason`` / ``Interaction.Outcome`` values (or
    empty); ``summary`` holds the free notes and may be empty when a reason is given.
    """
    _require_writer(actor, patient)
    errors: dict[str, str] = {}
    if channel not in Interaction.Channel.values:
        errors["channel"] = (
            f"Unknown channel “{channel}”: use one of {', '.join(Interaction.Channel.values)}."
        )
    if direction not in Interaction.Direction.values:
        errors["direction"] = "Say whether the contact was inbound or outbound."
    reason = (reason or "").strip()
    outcome = (outcome or "").strip()
    if reason and reason not in Interaction.Reason.values:
        errors["reason"] = (
            f"Unknown reason “{reason}”: use one of {', '.join(Interaction.Reason.values)}."
        )
    if outcome and outcome not in Interaction.Outcome.values:
        errors["outcome"] = (
            f"Unknown outcome “{outcome}”: use one of {', '.join(Interaction.Outcome.values)}."
        )
    text = (summary or "").strip()
    if not text and not reason:
        errors["summary"] = "Write what the contact was about."
    elif len(text) > SUMMARY_MAX:
        errors["summary"] = f"Keep the summary under {SUMMARY_MAX} characters."
    duration_error = _validate_duration(duration_seconds)
    if duration_error:
        errors["duration"] = duration_error
    now = timezone.now()
    if occurred_at is not None:
        if timezone.is_naive(occurred_at):
            errors["occurred_at"] = "Give a date and time with its time zone."
        elif occurred_at > now + FUTURE_TOLERANCE:
            errors["occurred_at"] = "This is in the future: log what already happened."
    if errors:
        raise DomainError(errors)
    _check_enrolment(enrolment, patient)
    if case is not None and case.patient_id != patient.pk:
        raise DomainError({"case": "This case is not the patient's."})
    interaction = Interaction.objects.create(
        patient=patient,
        enrolment=enrolment,
        case=case,
        channel=channel,
        direction=direction,
        occurred_at=occurred_at or now,
        handled_by=actor,
        reason=reason,
        outcome=outcome,
        duration_seconds=duration_seconds,
        summary=text,
    )
    audit_write(
        actor=actor,
        action="create",
        verb="interaction.log",
        obj=interaction,
        patient=patient,
        detail={
            "channel": channel,
            "direction": direction,
            "reason": reason,
            "outcome": outcome,
            "case": case.pk if case else None,
        },
    )
    send_event_on_commit(
        "interaction.logged",
        groups=_groups(patient, enrolment),
        enrolment=enrolment.pk if enrolment else None,
        interaction=interaction.pk,
    )
    return interaction


# --- cases and their SLA clock ------------------------------------------------------------------


def sla_hours(*, priority: str, category: str, enrolment: Enrolment | None = None) -> int:
    """Hours a case of this priority and category has before it is overdue."""
    if category == ADVERSE_EVENT_CATEGORY:
        if enrolment is not None:
            return enrolment.program.adverse_event_sla_hours
        return DEFAULT_ADVERSE_EVENT_SLA_HOURS
    return SLA_HOURS[priority]


def _owner_error(owner: User, patient: Patient) -> str | None:
    if owner is None or not owner.is_active or writer_role(owner, patient) is None:
        return "The owner must be someone who may work on this patient's record."
    return None


def _case_groups(case: Case) -> list[str]:
    groups = _groups(case.patient, case.enrolment)
    owner = case.assigned_to
    if owner is not None:
        operator = Operator.objects.filter(user=owner).only("pk").first()
        if operator is not None:
            groups.append(operator_group(operator.pk))
    return groups


@transaction.atomic
def case_open(
    *,
    actor: User,
    patient: Patient,
    subject: str,
    category: str,
    priority: str = Case.Priority.NORMAL,
    description: str = "",
    assigned_to: User | None = None,
    enrolment: Enrolment | None = None,
    sla_start: dt.datetime | None = None,
) -> Case:
    """Open a contact-centre case with its SLA clock; the owner defaults to whoever opens it.

    ``sla_start`` lets the clock count from an earlier moment (an adverse event is due from when
    it was first known, not from when the case was typed in).
    """
    _require_writer(actor, patient)
    errors: dict[str, str] = {}
    subject = (subject or "").strip()
    description = (description or "").strip()
    if not subject:
        errors["subject"] = "Give the case a subject."
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = f"Keep the subject under {SUBJECT_MAX} characters."
    if category not in CASE_CATEGORIES:
        errors["category"] = f"Unknown category: use one of {', '.join(CASE_CATEGORIES)}."
    if priority not in Case.Priority.values:
        errors["priority"] = f"Unknown priority: use one of {', '.join(Case.Priority.values)}."
    if len(description) > SUMMARY_MAX:
        errors["description"] = f"Keep the description under {SUMMARY_MAX} characters."
    if assigned_to is not None:
        owner_error = _owner_error(assigned_to, patient)
        if owner_error:
            errors["assigned_to"] = owner_error
    if errors:
        raise DomainError(errors)
    _check_enrolment(enrolment, patient)
    now = timezone.now()
    start = sla_start or now
    due_at = start + dt.timedelta(
        hours=sla_hours(priority=priority, category=category, enrolment=enrolment)
    )
    case = Case.objects.create(
        patient=patient,
        enrolment=enrolment,
        subject=subject,
        category=category,
        priority=priority,
        description=description,
        opened_by=actor,
        assigned_to=assigned_to or actor,
        opened_at=now,
        due_at=due_at,
    )
    audit_write(
        actor=actor,
        action="create",
        verb="case.open",
        obj=case,
        patient=patient,
        detail={
            "category": category,
            "priority": priority,
            "owner": case.assigned_to_id,
            "due_at": due_at.isoformat(),
        },
    )
    send_event_on_commit(
        "case.opened",
        groups=_case_groups(case),
        enrolment=enrolment.pk if enrolment else None,
        case=case.pk,
    )
    return case


@transaction.atomic
def case_update_status(*, actor: User, case: Case, status: str) -> Case:
    """Move a case to another status; resolving or closing it stamps ``closed_at``.

    Waiting for the patient stops the SLA clock; leaving that status moves the deadline forward
    by the time spent waiting.
    """
    case = Case.objects.select_for_update(of=("self",)).select_related("patient").get(pk=case.pk)
    _require_writer(actor, case.patient)
    if status not in Case.Status.values:
        raise DomainError(
            {"status": f"Unknown status: use one of {', '.join(Case.Status.values)}."}
        )
    if status == case.status:
        raise DomainError({"status": "The case already has this status."})
    old = case.status
    now = timezone.now()
    if case.sla_paused_at is not None and status != Case.Status.WAITING:
        if case.due_at is not None:
            case.due_at += max(now - case.sla_paused_at, dt.timedelta(0))
        case.sla_paused_at = None
    elif status == Case.Status.WAITING and case.sla_paused_at is None:
        case.sla_paused_at = now
    case.status = status
    case.closed_at = now if status in CLOSED_STATUSES else None
    case.save(update_fields=["status", "closed_at", "due_at", "sla_paused_at"])
    audit_write(
        actor=actor,
        action="update",
        verb="case.status",
        obj=case,
        patient=case.patient,
        detail={"from": old, "to": status},
    )
    send_event_on_commit(
        "case.updated",
        groups=_case_groups(case),
        enrolment=case.enrolment_id,
        case=case.pk,
    )
    return case


@transaction.atomic
def case_assign(*, actor: User, case: Case, owner: User) -> Case:
    """Give an open case to another owner (someone who may work on the patient's record)."""
    case = Case.objects.select_for_update(of=("self",)).select_related("patient").get(pk=case.pk)
    _require_writer(actor, case.patient)
    if case.status not in OPEN_STATUSES:
        raise DomainError({"status": "Only an open case can change owner."})
    owner_error = _owner_error(owner, case.patient)
    if owner_error:
        raise DomainError({"assigned_to": owner_error})
    if case.assigned_to_id == owner.pk:
        raise DomainError({"assigned_to": "The case already belongs to this person."})
    previous = case.assigned_to_id
    case.assigned_to = owner
    case.save(update_fields=["assigned_to"])
    audit_write(
        actor=actor,
        action="update",
        verb="case.assign",
        obj=case,
        patient=case.patient,
        detail={"from": previous, "to": owner.pk},
    )
    send_event_on_commit(
        "case.updated",
        groups=_case_groups(case),
        enrolment=case.enrolment_id,
        case=case.pk,
    )
    return case


def _raised(priority: str) -> str:
    index = PRIORITY_ORDER.index(priority) if priority in PRIORITY_ORDER else 1
    return PRIORITY_ORDER[min(index + 1, len(PRIORITY_ORDER) - 1)]


@transaction.atomic
def case_escalate_overdue(*, now: dt.datetime | None = None) -> int:
    """System job: escalate open, unpaused cases past their deadline; returns how many moved.

    Past due → level 1 (``escalated_at`` stamped, priority raised one step); 24 hours past due
    → level 2. A case already at the level its lateness calls for is left alone, so running the
    job twice changes nothing.
    """
    now = now or timezone.now()
    candidates = list(
        Case.objects.select_for_update(of=("self",))
        .filter(
            status__in=OPEN_STATUSES,
            sla_paused_at__isnull=True,
            due_at__lt=now,
            escalation_level__lt=2,
        )
        .select_related("patient", "enrolment")
        .order_by("due_at", "pk")
    )
    changed: list[Case] = []
    for case in candidates:
        target = 2 if case.due_at + SECOND_ESCALATION_AFTER <= now else 1
        if target <= case.escalation_level:
            continue
        old_priority = case.priority
        if case.escalation_level == 0:
            case.priority = _raised(case.priority)
        old_level = case.escalation_level
        case.escalation_level = target
        case.escalated_at = now
        changed.append(case)
        audit_write(
            actor=None,
            action="update",
            verb="case.escalate",
            obj=case,
            patient=case.patient,
            detail={
                "from_level": old_level,
                "to_level": target,
                "from_priority": old_priority,
                "to_priority": case.priority,
            },
        )
    if changed:
        Case.objects.bulk_update(changed, ["priority", "escalation_level", "escalated_at"])
    for case in changed:
        send_event_on_commit(
            "case.escalated",
            groups=_case_groups(case),
            enrolment=case.enrolment_id,
            case=case.pk,
            level=case.escalation_level,
        )
    return len(changed)
