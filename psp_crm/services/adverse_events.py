"""Adverse-event capture from any channel: a call, a visit or a diary entry becomes a case.

Who may flag a suspected adverse event: a counsellor, a clinical operator (nurse, …) or a doctor
who may work on the patient's record (``services.interactions.writer_role``). Logistics operators
and pharma client users never. The capture keeps the facts pharmacovigilance needs later
(reporter, patient, suspect product, reaction, onset) and the moment the provider first knew,
which starts the forwarding clock (``Program.adverse_event_sla_hours``).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from .. import access
from ..access import Role
from ..errors import AccessDenied, DomainError
from ..events import enrolment_group, program_control_group, send_event_on_commit
from ..models import (
    Activity,
    AdverseEvent,
    Case,
    DiaryEntry,
    Enrolment,
    Interaction,
    Patient,
    Product,
    User,
)
from .audit import audit_write
from .interactions import ADVERSE_EVENT_CATEGORY, FUTURE_TOLERANCE, case_open

REACTION_MAX = 200
DESCRIPTION_MAX = 5000
CHANNEL_MAX = 20
# The roles in which someone may flag an adverse event (provider staff forward them, later).
REPORTER_ROLES: tuple[Role, ...] = ("operator", "doctor")


def adverse_event_role(actor: User, patient: Patient) -> Role | None:
    """The role in which ``actor`` may flag an adverse event for ``patient``, or None."""
    mine = access.roles_of(actor)
    for role in REPORTER_ROLES:
        if role not in mine or not access.sees_clinical_data(actor, role):
            continue
        if access.patients_for(actor, role=role).filter(pk=patient.pk).exists():
            return role
    return None


def _validate_dates(
    onset_date: dt.date | None, first_known_at: dt.datetime, now: dt.datetime
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if timezone.is_naive(first_known_at):
        errors["first_known_at"] = "Give the date and time with its time zone."
        return errors
    if first_known_at > now + FUTURE_TOLERANCE:
        errors["first_known_at"] = "When it was first known cannot be in the future."
    if onset_date is not None:
        if onset_date > timezone.localdate(now):
            errors["onset_date"] = "The onset date cannot be in the future."
        elif onset_date > timezone.localdate(first_known_at):
            errors["onset_date"] = "The reaction cannot start after it was first known."
    return errors


def _validate_sources(
    patient: Patient,
    source_interaction: Interaction | None,
    source_activity: Activity | None,
    source_diary_entry: DiaryEntry | None,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if source_interaction is not None and source_interaction.patient_id != patient.pk:
        errors["source_interaction"] = "This contact is not the patient's."
    if source_activity is not None and source_activity.enrolment.patient_id != patient.pk:
        errors["source_activity"] = "This activity is not the patient's."
    if source_diary_entry is not None and source_diary_entry.enrolment.patient_id != patient.pk:
        errors["source_diary_entry"] = "This diary entry is not the patient's."
    return errors


@transaction.atomic
def adverse_event_capture(
    *,
    actor: User,
    patient: Patient,
    enrolment: Enrolment,
    reaction: str,
    description: str = "",
    onset_date: dt.date | None = None,
    seriousness: str,
    suspect_product: Product | None = None,
    reporter_type: str,
    first_known_at: dt.datetime | None = None,
    channel: str,
    source_interaction: Interaction | None = None,
    source_activity: Activity | None = None,
    source_diary_entry: DiaryEntry | None = None,
) -> AdverseEvent:
    """Flag a suspected adverse event: an urgent (serious) or high case plus the AE record.

    Without a ``suspect_product`` the enrolment's own product is the suspect. The forwarding
    deadline counts from ``first_known_at`` (default: now).
    """
    role = adverse_event_role(actor, patient)
    if role is None:
        raise AccessDenied("You may not report adverse events for this patient.")
    if (
        enrolment.patient_id != patient.pk
        or not access.enrolments_for(actor, role=role).filter(pk=enrolment.pk).exists()
    ):
        raise DomainError({"enrolment": "This program participation is not the patient's."})
    now = timezone.now()
    first_known_at = first_known_at or now
    reaction = (reaction or "").strip()
    description = (description or "").strip()
    channel = (channel or "").strip()
    errors: dict[str, str] = {}
    if not reaction:
        errors["reaction"] = "Name the reaction (e.g. “rash on both arms”)."
    elif len(reaction) > REACTION_MAX:
        errors["reaction"] = f"Keep the reaction under {REACTION_MAX} characters."
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = f"Keep the description under {DESCRIPTION_MAX} characters."
    if seriousness not in AdverseEvent.Seriousness.values:
        errors["seriousness"] = "Say whether the event is serious or not."
    if reporter_type not in AdverseEvent.Reporter.values:
        errors["reporter_type"] = (
            f"Unknown reporter: use one of {', '.join(AdverseEvent.Reporter.values)}."
        )
    if not channel or len(channel) > CHANNEL_MAX:
        errors["channel"] = "Say on which channel the event was reported."
    errors.update(_validate_dates(onset_date, first_known_at, now))
    program = enrolment.program
    if suspect_product is None:
        suspect_product = enrolment.product
    elif not program.products.filter(pk=suspect_product.pk).exists():
        errors["suspect_product"] = "The suspect product must be one of the program's products."
    errors.update(
        _validate_sources(patient, source_interaction, source_activity, source_diary_entry)
    )
    if errors:
        raise DomainError(errors)

    serious = seriousness == AdverseEvent.Seriousness.SERIOUS
    case = case_open(
        actor=actor,
        patient=patient,
        enrolment=enrolment,
        subject=f"Suspected adverse event: {reaction}"[:200],
        category=ADVERSE_EVENT_CATEGORY,
        priority=Case.Priority.URGENT if serious else Case.Priority.HIGH,
        description=description or reaction,
        sla_start=first_known_at,
    )
    event = AdverseEvent.objects.create(
        enrolment=enrolment,
        reported_by=actor,
        reporter_type=reporter_type,
        case=case,
        suspect_product=suspect_product,
        reaction=reaction,
        source_interaction=source_interaction,
        source_activity=source_activity,
        source_diary_entry=source_diary_entry,
        channel=channel,
        description=description or reaction,
        seriousness=seriousness,
        onset_date=onset_date,
        aware_at=first_known_at,
        forward_due_at=first_known_at + dt.timedelta(hours=program.adverse_event_sla_hours),
    )
    if source_interaction is not None and source_interaction.case_id is None:
        # The call that revealed the event now points at the case it opened.
        Interaction.objects.filter(pk=source_interaction.pk).update(case=case)
    audit_write(
        actor=actor,
        action="create",
        verb="adverse_event.capture",
        obj=event,
        patient=patient,
        detail={
            "case": case.pk,
            "seriousness": seriousness,
            "reporter_type": reporter_type,
            "channel": channel,
            "source_interaction": source_interaction.pk if source_interaction else None,
            "source_activity": source_activity.pk if source_activity else None,
            "source_diary_entry": source_diary_entry.pk if source_diary_entry else None,
        },
    )
    send_event_on_commit(
        "adverse_event.captured",
        groups=[enrolment_group(enrolment.pk), program_control_group(program.pk)],
        enrolment=enrolment.pk,
        adverse_event=event.pk,
        case=case.pk,
    )
    return event
