"""Delivery reports: the provider says whether an SMS reached the phone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from psp_crm.errors import DomainError, NotFound
from psp_crm.models import AuditEvent, Message
from psp_crm.selectors.timeline import patient_timeline
from psp_crm.services.delivery_reports import NotSentYet, message_delivery_report
from tests.factories import build_world, record_events

Status = Message.Status


@pytest.fixture
def world(db):
    return build_world()


def sms(world, *, status=Status.SENT, ref="prov-42", channel="sms") -> Message:
    sent = timezone.now() - dt.timedelta(minutes=10)
    return Message.objects.create(
        patient=world.patient,
        enrolment=world.enrolment,
        purpose="dose_reminder",
        channel=channel,
        to_address="+39 347 555 0100",
        body="Time for your dose.",
        status=status,
        sent_at=sent if status != Status.QUEUED else None,
        provider_ref=ref if status != Status.QUEUED else "",
        attempts=1,
    )


def test_delivered_is_recorded_audited_and_pushed(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    message = sms(world)
    events = record_events(monkeypatch)
    at = timezone.now() - dt.timedelta(minutes=9)
    with django_capture_on_commit_callbacks(execute=True):
        result, changed = message_delivery_report(provider_ref="prov-42", status="delivered", at=at)
    assert changed and result.pk == message.pk
    message.refresh_from_db()
    assert (message.status, message.delivered_at) == (Status.DELIVERED, at)
    audit = AuditEvent.objects.get(verb="message.delivery_report", object_id=str(message.pk))
    assert audit.actor is None and audit.patient == world.patient
    assert audit.detail["provider_status"] == "delivered"
    assert events.verbs() == ["message.status"]
    timeline = patient_timeline(actor=world.counsellor.user, role="operator", patient=world.patient)
    row = next(item for item in timeline.items if item.kind == "message")
    assert row.outcome.startswith("Delivered")


def test_the_same_report_twice_changes_nothing(world):
    sms(world)
    message_delivery_report(provider_ref="prov-42", status="delivered")
    _message, changed = message_delivery_report(provider_ref="prov-42", status="delivered")
    assert not changed
    assert AuditEvent.objects.filter(verb="message.delivery_report").count() == 1


@pytest.mark.parametrize("status", ["undelivered", "failed", "expired", "rejected"])
def test_not_delivered_fails_the_message_with_the_reason(world, status):
    message = sms(world)
    _result, changed = message_delivery_report(
        provider_ref="prov-42", status=status, error="absent subscriber"
    )
    assert changed
    message.refresh_from_db()
    assert message.status == Status.FAILED and message.failed_at is not None
    assert message.last_error == f"not delivered ({status}): absent subscriber"
    assert message.next_attempt_at is None  # not retried by itself: staff may retry it


def test_delivered_wins_over_a_late_failure(world):
    message = sms(world)
    message_delivery_report(provider_ref="prov-42", status="delivered")
    _result, changed = message_delivery_report(provider_ref="prov-42", status="undelivered")
    assert not changed
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


def test_a_failure_then_delivered_ends_delivered(world):
    message = sms(world)
    message_delivery_report(provider_ref="prov-42", status="expired")
    _result, changed = message_delivery_report(provider_ref="prov-42", status="delivered")
    assert changed
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


def test_delivered_is_never_before_it_was_sent(world):
    message = sms(world)
    message_delivery_report(
        provider_ref="prov-42", status="delivered", at=message.sent_at - dt.timedelta(hours=1)
    )
    message.refresh_from_db()
    assert message.delivered_at == message.sent_at


def test_unknown_reference_and_other_channels_are_not_found(world):
    sms(world, channel="email", ref="email-ref")
    for ref in ("no-such-ref", "email-ref"):
        with pytest.raises(NotFound):
            message_delivery_report(provider_ref=ref, status="delivered")


def test_a_report_ahead_of_our_send_record_asks_to_come_back(world):
    message = sms(world, status=Status.RETRYING)
    with pytest.raises(NotSentYet):
        message_delivery_report(provider_ref="prov-42", status="delivered")
    message.refresh_from_db()
    assert message.status == Status.RETRYING


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"provider_ref": "", "status": "delivered"}, "ref"),
        ({"provider_ref": "x" * 101, "status": "delivered"}, "ref"),
        ({"provider_ref": "prov-42", "status": "read"}, "status"),
        ({"provider_ref": "prov-42", "status": "delivered", "at": dt.datetime(2026, 1, 1)}, "at"),
        (
            {
                "provider_ref": "prov-42",
                "status": "delivered",
                "at": timezone.now() + dt.timedelta(days=1),
            },
            "at",
        ),
        ({"provider_ref": "prov-42", "status": "failed", "error": "e" * 301}, "error"),
    ],
)
def test_bad_reports_are_field_errors_and_change_nothing(world, values, field):
    message = sms(world)
    with pytest.raises(DomainError) as error:
        message_delivery_report(**values)
    assert field in error.value.message_dict
    message.refresh_from_db()
    assert message.status == Status.SENT
