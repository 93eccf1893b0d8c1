"""Appointments the patient may answer (``services.appointments``), through the access policy."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
from ..access import Role
from ..errors import NotFound
from ..models import Activity, Patient, User
from ..services.reminders import CONFIRMED_CHANNELS


def appointment_for(*, actor: User, role: Role, patient: Patient, activity_id: int) -> Activity:
    """One of the patient's activities the actor sees in ``role``; NotFound otherwise."""
    activity = (
        access.activities_for(actor, role=role)
        .filter(enrolment__patient=patient, pk=activity_id)
        .select_related("module", "enrolment__program", "enrolment__patient", "assignee__user")
        .first()
    )
    if activity is None:
        raise NotFound(_("No such appointment."))
    return activity


def upcoming_appointments(
    *, actor: User, role: Role, patient: Patient, limit: int = 5
) -> list[Activity]:
    """Her next open appointments that need her there and have not started (she may answer)."""
    rows = (
        access.activities_for(actor, role=role)
        .filter(
            enrolment__patient=patient,
            status__in=Activity.OPEN_STATUSES,
            module__channel__in=CONFIRMED_CHANNELS,
            scheduled_start__gt=timezone.now(),
        )
        .select_related("module", "enrolment__program", "assignee__user")
        .order_by("scheduled_start", "pk")
    )
    return list(rows[:limit])
