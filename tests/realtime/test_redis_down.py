"""With Redis down, writes still succeed and are not lost; the failure is logged."""

from __future__ import annotations

import logging
import socket

import pytest
from channels.layers import channel_layers

from psp_crm.models import AuditEvent, Enrolment
from psp_crm.realtime import replay
from psp_crm.services.enrolments import enrolment_transition
from tests.factories import build_world


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket closes


@pytest.fixture
def redis_down(settings):
    url = f"redis://127.0.0.1:{closed_port()}/0"
    settings.REDIS_URL = url
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": url, "socket_timeout": None}]},
        }
    }
    channel_layers.backends.clear()
    replay.reset_replay_log()
    yield
    channel_layers.backends.clear()
    replay.reset_replay_log()


@pytest.mark.django_db
def test_a_write_survives_redis_being_down(redis_down, django_capture_on_commit_callbacks, caplog):
    world = build_world()
    Enrolment.objects.filter(pk=world.enrolment.pk).update(status="active")
    with (
        caplog.at_level(logging.ERROR, logger="psp_crm.events"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        enrolment_transition(
            actor=world.staff, enrolment=world.enrolment, to_status="suspended", reason="away"
        )
    world.enrolment.refresh_from_db()
    assert world.enrolment.status == "suspended"
    assert AuditEvent.objects.filter(
        verb="enrolment.transition", object_id=str(world.enrolment.pk)
    ).exists()
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "could not be logged for replay" in messages
    assert "could not be pushed" in messages
