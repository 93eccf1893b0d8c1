"""What the contact centre must look at now, for the control room: messages that failed or are
being retried, cases past their SLA or escalated, appointments patients asked to change —
counted over the staff member's programs."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from .. import access
from ..models import Case, Message, User
from .appointments import change_requests


@dataclass(frozen=True)
class ContactCentreCounts:
    messages_failed: int
    messages_retrying: int
    cases_overdue: int
    cases_escalated: int
    appointments_to_change: int = 0


def contact_centre_counts(
    *, actor: User, program: int | None = None, now=None
) -> ContactCentreCounts:
    """Failed and retrying messages, overdue and escalated open cases, appointments to change
    (three queries)."""
    now = now or timezone.now()
    if not access.has_role(actor, "provider_staff"):
        return ContactCentreCounts(0, 0, 0, 0)
    enrolments = access.enrolments_for(actor, role="provider_staff")
    if program:
        enrolments = enrolments.filter(program_id=program)
    messages = Message.objects.filter(enrolment__in=enrolments).aggregate(
        failed=Count("pk", filter=Q(status=Message.Status.FAILED)),
        retrying=Count("pk", filter=Q(status=Message.Status.RETRYING)),
    )
    open_cases = Q(status__in=[Case.Status.OPEN, Case.Status.WAITING])
    cases = Case.objects.filter(enrolment__in=enrolments).aggregate(
        overdue=Count("pk", filter=open_cases & Q(sla_paused_at__isnull=True, due_at__lt=now)),
        escalated=Count("pk", filter=open_cases & Q(escalation_level__gt=0)),
    )
    to_change = change_requests(enrolments, now).count()
    return ContactCentreCounts(
        appointments_to_change=to_change,
        messages_failed=messages["failed"],
        messages_retrying=messages["retrying"],
        cases_overdue=cases["overdue"],
        cases_escalated=cases["escalated"],
    )
