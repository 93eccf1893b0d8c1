"""Contact-centre writes: log a touchpoint on any channel, open a case, move a case's status.

Who may write: provider staff of the patient's programs, a counsellor on any patient of the
programs she staffs, a clinical operator or a doctor on the patients they may see. Logistics
operators and pharma client users never (they may not read the timeline either).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from .. import access
from ..access import Role
from ..errors import AccessDenied, DomainError
from ..events import enrolment_group, send_event_on_commit
from ..models import Case, Enrolment, Interaction, Patient, User
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


def compose_summary(*, summary: str, reason: str = "", outcome: str = "") -> str:
    """The stored summary: reason and outcome (when given) on their own lines, then the notes."""
    lines = []
    if reason.strip():
        lines.append(f"Reason: {reason.strip()}")
    if outcome.strip():
        lines.append(f"Outcome: {outcome.strip()}")
    if summary.strip():
        lines.append(summary.strip())
    return "\n".join(lines)


@transaction.atomic
def interaction_log(
    *,
    actor: User,
    patient: Patient,
    channel: str,
    direction: str,
    summary: str,
    reason: str = "",
    outcome: str = "",
    enrolment: Enrolment | None = None,
    case: Case | None = None,
    occurred_at: dt.datetime | None = None,
) -> Interaction:
    """Log one touchpoint with a patient (a call, an SMS, a visit, …) on her timeline."""
    _require_writer(actor, patient)
    errors: dict[str, str] = {}
    if channel not in Interaction.Channel.values:
        errors["channel"] = (
            f"Unknown channel “{channel}”: use one of {', '.join(Interaction.Channel.values)}."
        )
    if direction not in Interaction.Direction.values:
        errors["direction"] = "Say whether the contact was inbound or outbound."
    text = compose_summary(summary=summary or "", reason=reason or "", outcome=outcome or "")
    if not text:
        errors["summary"] = "Write what the contact was about."
    elif len(text) > SUMMARY_MAX:
        errors["summary"] = f"Keep the summary under {SUMMARY_MAX} characters."
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
        summary=text,
    )
    audit_write(
        actor=actor,
        action="create",
        verb="interaction.log",
        obj=interaction,
        patient=patient,
        detail={"channel": channel, "direction": direction, "case": case.pk if case else None},
    )
    send_event_on_commit(
        "interaction.logged",
        groups=_groups(patient, enrolment),
        enrolment=enrolment.pk if enrolment else None,
        interaction=interaction.pk,
    )
    return interaction


@transaction.atomic
def case_open(
    *,
    actor: User,
    patient: Patient,
    subject: str,
    category: str,
    priority: str = Case.Priority.NORMAL,
    enrolment: Enrolment | None = None,
) -> Case:
    """Open a contact-centre case for a patient (owned by whoever opens it)."""
    _require_writer(actor, patient)
    errors: dict[str, str] = {}
    subject = (subject or "").strip()
    if not subject:
        errors["subject"] = "Give the case a subject."
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = f"Keep the subject under {SUBJECT_MAX} characters."
    if category not in CASE_CATEGORIES:
        errors["category"] = f"Unknown category: use one of {', '.join(CASE_CATEGORIES)}."
    if priority not in Case.Priority.values:
        errors["priority"] = f"Unknown priority: use one of {', '.join(Case.Priority.values)}."
    if errors:
        raise DomainError(errors)
    _check_enrolment(enrolment, patient)
    case = Case.objects.create(
        patient=patient,
        enrolment=enrolment,
        subject=subject,
        category=category,
        priority=priority,
        opened_by=actor,
        assigned_to=actor,
    )
    audit_write(
        actor=actor,
        action="create",
        verb="case.open",
        obj=case,
        patient=patient,
        detail={"category": category, "priority": priority},
    )
    send_event_on_commit(
        "case.opened",
        groups=_groups(patient, enrolment),
        enrolment=enrolment.pk if enrolment else None,
        case=case.pk,
    )
    return case


@transaction.atomic
def case_update_status(*, actor: User, case: Case, status: str) -> Case:
    """Move a case to another status; resolving or closing it stamps ``closed_at``."""
    case = Case.objects.select_for_update().select_related("patient").get(pk=case.pk)
    _require_writer(actor, case.patient)
    if status not in Case.Status.values:
        raise DomainError(
            {"status": f"Unknown status: use one of {', '.join(Case.Status.values)}."}
        )
    if status == case.status:
        raise DomainError({"status": "The case already has this status."})
    old = case.status
    case.status = status
    case.closed_at = timezone.now() if status in CLOSED_STATUSES else None
    case.save(update_fields=["status", "closed_at"])
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
        groups=_groups(case.patient, case.enrolment),
        enrolment=case.enrolment_id,
        case=case.pk,
    )
    return case
