"""Appointments the patient may answer (``services.appointments``), through the access policy,
and the requests to change one that wait for the contact centre."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
from ..access import Role
from ..errors import NotFound
from ..models import Activity, Enrolment, Patient, User
from ..services.appointments import answerable


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
    """Her next appointments she may still answer (what a counsellor asks about on a call)."""
    rows = (
        access.activities_for(actor, role=role)
        .filter(answerable(timezone.now()), enrolment__patient=patient)
        .select_related("module", "enrolment__program", "assignee__user")
        .order_by("scheduled_start", "pk")
    )
    return list(rows[:limit])


def change_requests(enrolments: QuerySet[Enrolment], now: dt.datetime) -> QuerySet[Activity]:
    """Appointments of ``enrolments`` she asked to change, still open and not over."""
    return Activity.objects.filter(
        enrolment__in=enrolments,
        patient_answer=Activity.PatientAnswer.CHANGE_REQUESTED,
        status__in=Activity.OPEN_STATUSES,
        scheduled_end__gt=now,
    )
