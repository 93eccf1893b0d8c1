"""The in-app inbox: who reads which notifications, and marking them read."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from psp_crm.errors import NotFound
from psp_crm.models import AuditEvent, Message
from psp_crm.selectors.inbox import inbox_messages, message_for, messages_for, unread_count
from psp_crm.services.inbox import message_mark_read
from tests.factories import CaregiverFactory, PatientFactory, build_world, record_events


@pytest.fixture
def world(db):
    return build_world()


def in_app(patient, *, recipient="patient", minutes_ago=10, **kwargs) -> Message:
    when = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return Message.objects.create(
        patient=patient,
        recipient=patient.user if recipient == "patient" else recipient,
        purpose=kwargs.pop("purpose", "general"),
        channel=kwargs.pop("channel", "in_app"),
        body=kwargs.pop("body", "Hello"),
        status=kwargs.pop("status", Message.Status.SENT),
        due_at=kwargs.pop("due_at", when),
        created_at=when,
        sent_at=when,
        **kwargs,
    )


def test_patient_reads_her_in_app_messages_newest_first(world):
    older = in_app(world.patient, minutes_ago=60, enrolment=world.enrolment)
    newer = in_app(world.patient, minutes_ago=5)
    in_app(world.patient, channel="sms")  # not an in-app message
    in_app(world.patient, status=Message.Status.SKIPPED)  # never reached her
    in_app(world.patient, due_at=timezone.now() + dt.timedelta(hours=2))  # not yet due
    page = messages_for(world.patient_user)
    assert list(page.object_list) == [newer, older]
    assert unread_count(world.patient_user) == 2


def test_caregiver_reads_her_patients_messages_but_not_others(world):
    mine = in_app(world.patient)
    to_other_caregiver = in_app(world.patient, recipient=CaregiverFactory().user)
    stranger = PatientFactory(with_login=True)
    in_app(stranger)
    assert list(inbox_messages(world.caregiver_user)) == [mine]
    assert list(inbox_messages(world.caregiver_user, patient=world.patient)) == [mine]
    assert to_other_caregiver not in inbox_messages(world.patient_user)  # addressed to him
    with pytest.raises(NotFound):
        inbox_messages(world.caregiver_user, patient=stranger)


def test_revoked_caregiver_reads_nothing(world):
    in_app(world.patient)
    world.delegation.revoked_at = timezone.now()
    world.delegation.save(update_fields=["revoked_at"])
    assert list(inbox_messages(world.caregiver_user)) == []


@pytest.mark.parametrize("who", ["doctor", "nurse", "staff", "client", "superuser"])
def test_care_team_has_no_inbox_of_the_patient(world, who):
    in_app(world.patient)
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    assert list(inbox_messages(actor)) == []
    with pytest.raises(NotFound):
        inbox_messages(actor, patient=world.patient)


def test_messages_are_paged(world):
    for minutes in range(30):
        in_app(world.patient, minutes_ago=minutes + 1)
    first = messages_for(world.patient_user, per_page=25)
    assert len(first.object_list) == 25 and first.has_next()
    assert len(messages_for(world.patient_user, page=2).object_list) == 5
    assert messages_for(world.patient_user, page="nope").number == 1


@pytest.mark.parametrize("who", ["patient_user", "caregiver_user"])
def test_recipient_or_caregiver_marks_read(
    world, who, monkeypatch, django_capture_on_commit_callbacks
):
    events = record_events(monkeypatch)
    message = in_app(world.patient, enrolment=world.enrolment)
    actor = getattr(world, who)
    with django_capture_on_commit_callbacks(execute=True):
        read = message_mark_read(actor=actor, message=message)
    assert read.read_at is not None
    message.refresh_from_db()
    assert message.read_at == read.read_at
    assert unread_count(world.patient_user) == 0
    audit = AuditEvent.objects.get(verb="message.read", object_id=str(message.pk))
    assert (audit.actor, audit.patient) == (actor, world.patient)
    assert events.verbs() == ["message.read"]
    groups, payload = events[0]
    assert groups == [f"enrolment.{world.enrolment.pk}"] and payload["message"] == message.pk
    # Reading again keeps the first time and writes nothing.
    before = AuditEvent.objects.count()
    assert message_mark_read(actor=actor, message=message).read_at == read.read_at
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("who", ["doctor", "staff", "superuser", "other"])
def test_anyone_else_gets_not_found_and_nothing_changes(world, who):
    message = in_app(world.patient)
    if who == "other":
        actor = PatientFactory(with_login=True).user
    else:
        actor = getattr(world, who)
        actor = getattr(actor, "user", actor)
    before = AuditEvent.objects.count()
    with pytest.raises(NotFound):
        message_mark_read(actor=actor, message=message)
    with pytest.raises(NotFound):
        message_for(actor, message_id=message.pk)
    message.refresh_from_db()
    assert message.read_at is None
    assert AuditEvent.objects.count() == before
