"""Caregivers' e-mail copies of the patient's reminders and appointment notices: only the
caregiver turns them on, either side turns them off, and turning off (or the delegation ending)
stops every copy not sent yet."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from psp_crm.demo.messaging import create_message_templates
from psp_crm.errors import AccessDenied, DomainError
from psp_crm.models import AuditEvent, Channel, ContactPreferences, Enrolment, Message, Purpose
from psp_crm.selectors.timeline import patient_timeline
from psp_crm.services.delegations import delegation_copies_set, delegation_revoke
from psp_crm.services.messaging import (
    NO_COPIES,
    deliver_due_messages,
    message_deliver,
    message_notify,
)
from psp_crm.services.reminders import dose_reminders_queue
from tests.factories import build_world

ROME = zoneinfo.ZoneInfo("Europe/Rome")
NOON = dt.datetime.combine(dt.date(2026, 3, 10), dt.time(12), tzinfo=ROME)


@pytest.fixture
def world(db):
    create_message_templates()
    world = build_world()
    ContactPreferences.objects.update_or_create(
        patient=world.patient, defaults={"quiet_start": None, "quiet_end": None}
    )
    Enrolment.objects.filter(pk=world.enrolment.pk).update(status=Enrolment.Status.ACTIVE)
    world.enrolment.refresh_from_db()
    return world


def _copies(world) -> list[Message]:
    return list(Message.objects.filter(patient=world.patient, copy_for=world.delegation))


def _notify(world, key: str = "t1", purpose: str = Purpose.DOSE_REMINDER) -> list[Message]:
    return message_notify(
        patient=world.patient,
        purpose=purpose,
        context={"product": "Tablets", "dose": "1", "time": "09:00"},
        enrolment=world.enrolment,
        dedupe_key=key,
    )


# --- who turns copies on and off --------------------------------------------------------------


def test_the_caregiver_turns_copies_on_and_off(world):
    delegation = delegation_copies_set(
        actor=world.caregiver_user, delegation=world.delegation, enabled=True
    )
    assert delegation.receives_copies
    audit = AuditEvent.objects.get(verb="delegation.copies", object_id=str(delegation.pk))
    assert audit.actor == world.caregiver_user and audit.detail == {"receives_copies": True}
    delegation_copies_set(actor=world.caregiver_user, delegation=world.delegation, enabled=False)
    world.delegation.refresh_from_db()
    assert not world.delegation.receives_copies


@pytest.mark.parametrize("who", ["patient_user", "staff"])
def test_the_patient_or_staff_may_stop_copies_but_not_start_them(world, who):
    actor = getattr(world, who)
    with pytest.raises(AccessDenied):
        delegation_copies_set(actor=actor, delegation=world.delegation, enabled=True)
    delegation_copies_set(actor=world.caregiver_user, delegation=world.delegation, enabled=True)
    delegation_copies_set(actor=actor, delegation=world.delegation, enabled=False)
    world.delegation.refresh_from_db()
    assert not world.delegation.receives_copies


@pytest.mark.parametrize("who", ["outsider_staff", "doctor", "client", "counsellor"])
def test_nobody_else_touches_copies(world, who):
    delegation_copies_set(actor=world.caregiver_user, delegation=world.delegation, enabled=True)
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    with pytest.raises(AccessDenied):
        delegation_copies_set(actor=actor, delegation=world.delegation, enabled=False)
    world.delegation.refresh_from_db()
    assert world.delegation.receives_copies


def test_no_copies_without_an_address_or_a_delegation_in_force(world):
    world.caregiver_user.email = ""
    world.caregiver_user.save(update_fields=["email"])
    with pytest.raises(DomainError) as error:
        delegation_copies_set(actor=world.caregiver_user, delegation=world.delegation, enabled=True)
    assert "receives_copies" in error.value.message_dict
    delegation_revoke(actor=world.patient_user, delegation=world.delegation)
    with pytest.raises(DomainError):
        delegation_copies_set(actor=world.caregiver_user, delegation=world.delegation, enabled=True)


# --- the copies themselves --------------------------------------------------------------------


def test_a_reminder_goes_in_copy_to_the_caregiver(world):
    delegation_copies_set(actor=world.caregiver_user, delegation=world.delegation, enabled=True)
    _notify(world)
    [copy] = _copies(world)
    assert copy.channel == Channel.EMAIL and copy.recipient == world.caregiver_user
    assert copy.to_address == world.caregiver_user.email
    assert copy.subject.startswith(f"Copy — {world.patient.full_name}: ")
    assert copy.status == Message.Status.QUEUED  # her own opt-in: no patient e-mail consent needed
    assert copy.dedupe_key == f"t1:copy:{world.delegation.pk}"
    message_deliver(copy.pk)
    copy.refresh_from_db()
    assert copy.status == Message.Status.SENT
    from django.core import mail

    assert [m.to for m in mail.outbox] == [[world.caregiver_user.email]]
    # Asking again with the same key queues nothing more.
    _notify(world)
    assert len(_copies(world)) == 1


def test_only_reminders_and_appointment_notices_are_copied(world):
    delegation_copies_set(actor=world.caregiver_user, delegation=world.delegation, enabled=True)
    _notify(world, key="r1", purpose=Purpose.REPORT_NOTIFICATION)
    assert _copies(world) == []


def test_without_copies_nothing_goes_to_the_caregiver(world):
    _notify(world)
    assert _copies(world) == []


@pytest.mark.parametrize("how", ["stopped", "revoked"])
def test_stopping_or_revoking_stops_the_copies_not_sent_yet(world, how):
    delegation_copies_set(actor=world.caregiver_user, delegation=world.delegation, enabled=True)
    _notify(world, key="a")
    _notify(world, key="b")
    first, second = sorted(_copies(world), key=lambda m: m.pk)
    if how == "stopped":
        delegation_copies_set(actor=world.patient_user, delegation=world.delegation, enabled=False)
    else:
        delegation_revoke(actor=world.patient_user, delegation=world.delegation)
    message_deliver(first.pk)  # one by one
    deliver_due_messages()  # and in batch
    for copy in (first, second):
        copy.refresh_from_db()
        assert (copy.status, copy.skip_reason) == (Message.Status.SKIPPED, NO_COPIES)


def test_the_periodic_reminders_copy_in_bulk(world):
    Enrolment.objects.exclude(pk=world.enrolment.pk).filter(status=Enrolment.Status.ACTIVE).update(
        status=Enrolment.Status.SUSPENDED
    )
    Enrolment.objects.filter(pk=world.enrolment.pk).update(
        doses_per_week=Decimal("7"), start_date=dt.date(2026, 3, 1), therapy_start_date=None
    )
    delegation_copies_set(actor=world.caregiver_user, delegation=world.delegation, enabled=True)
    assert dose_reminders_queue(now=NOON) >= 2  # her in-app reminder and the copy
    [copy] = _copies(world)
    assert copy.dedupe_key == f"dose:{world.enrolment.pk}:2026-03-10:copy:{world.delegation.pk}"
    assert copy.status == Message.Status.QUEUED
    assert dose_reminders_queue(now=NOON + dt.timedelta(minutes=5)) == 0
    assert deliver_due_messages(now=NOON) >= 1
    copy.refresh_from_db()
    assert copy.status == Message.Status.SENT


def test_the_timeline_says_whose_copy(world):
    delegation_copies_set(actor=world.caregiver_user, delegation=world.delegation, enabled=True)
    _notify(world)
    timeline = patient_timeline(actor=world.counsellor.user, role="operator", patient=world.patient)
    subjects = [item.subject for item in timeline.items if item.kind == "message"]
    name = world.caregiver_user.get_full_name() or world.caregiver_user.email
    assert any(f"copy to caregiver {name}" in subject for subject in subjects)
