"""The live consumer: who receives which events, and replay after a reconnect."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from psp_crm.realtime import replay
from psp_crm.realtime.consumers import LiveConsumer
from psp_crm.services.delegations import delegation_revoke
from psp_crm.services.enrolments import enrolment_transition
from tests.factories import build_world

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fresh_replay_log(settings):
    replay.reset_replay_log()
    yield
    replay.reset_replay_log()


async def connect(user, query: str = "") -> WebsocketCommunicator:
    path = "/ws/live/" + (f"?{query}" if query else "")
    communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), path)
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive_until_hello(communicator) -> list[dict]:
    """Messages sent on connect (replayed events or resync) up to the hello."""
    received = []
    while True:
        message = await communicator.receive_json_from(timeout=3)
        if message["type"] == "hello":
            return received
        received.append(message)


async def events_of(communicator, timeout: float = 0.5) -> list[dict]:
    """Every event that arrives within ``timeout`` seconds."""
    received = []
    while not await communicator.receive_nothing(timeout=timeout):
        received.append(await communicator.receive_json_from())
    return received


async def suspend(world, reason: str = "patient in hospital"):
    await sync_to_async(enrolment_transition)(
        actor=world.staff, enrolment=world.enrolment, to_status="suspended", reason=reason
    )


@pytest.fixture
def world(db):
    from psp_crm.services.consents import consent_record

    world = build_world()
    if world.enrolment.status == "referred":
        consent_record(
            actor=world.staff,
            patient=world.patient,
            kind="participation",
            document_version="1",
            enrolment=world.enrolment,
        )
    enrolment_transition(actor=world.staff, enrolment=world.enrolment, to_status="active")
    return world


ROLE_MATRIX = [
    ("staff", True),
    ("outsider_staff", False),
    ("doctor", True),
    ("outsider_doctor", False),
    ("patient_user", True),
    ("caregiver_user", True),
    ("counsellor", True),
    ("nurse", False),  # not assigned to this patient
    ("driver", False),
]


@pytest.mark.parametrize(("who", "receives"), ROLE_MATRIX)
async def test_each_role_receives_exactly_what_it_may_see(world, who, receives):
    person = getattr(world, who)
    user = getattr(person, "user", person)
    communicator = await connect(user)
    await receive_until_hello(communicator)
    await suspend(world)
    events = [e for e in await events_of(communicator) if e["verb"].startswith("enrolment.")]
    verbs = [event["verb"] for event in events]
    if receives:
        assert verbs == ["enrolment.suspended"]
        assert events[0]["enrolment"] == world.enrolment.pk
        assert set(events[0]) <= {"type", "verb", "id", "enrolment", "program"}
    else:
        assert verbs == []
    await communicator.disconnect()


async def test_client_receives_aggregate_changes_without_ids(world):
    communicator = await connect(world.client)
    await receive_until_hello(communicator)
    await suspend(world)
    events = await events_of(communicator)
    assert [(e["verb"], e["program"]) for e in events] == [("aggregates.changed", world.program.pk)]
    assert "enrolment" not in events[0]
    await communicator.disconnect()


async def test_anonymous_socket_is_refused():
    from django.contrib.auth.models import AnonymousUser

    communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
    communicator.scope["user"] = AnonymousUser()
    connected, code = await communicator.connect()
    assert not connected or code == 4401


async def test_revoked_caregiver_stops_receiving(world):
    communicator = await connect(world.caregiver_user)
    await receive_until_hello(communicator)
    await sync_to_async(delegation_revoke)(actor=world.patient_user, delegation=world.delegation)
    assert [e["verb"] for e in await events_of(communicator)] == ["delegation.revoked"]
    await suspend(world)
    assert await events_of(communicator) == []
    await communicator.disconnect()


async def test_replay_after_reconnect_delivers_missed_events_in_order(world):
    communicator = await connect(world.doctor.user)
    await receive_until_hello(communicator)
    await suspend(world)
    last_seen = (await events_of(communicator))[0]["id"]
    await communicator.disconnect()

    # While the doctor is away: reactivate, suspend again.
    await sync_to_async(enrolment_transition)(
        actor=world.staff, enrolment=world.enrolment, to_status="active"
    )
    await suspend(world, reason="second stay")

    communicator = await connect(world.doctor.user, f"after={last_seen}")
    replayed = await receive_until_hello(communicator)
    replayed = [m for m in replayed if m["verb"].startswith("enrolment.")]
    assert [(m["verb"], m.get("replayed")) for m in replayed] == [
        ("enrolment.active", True),
        ("enrolment.suspended", True),
    ]
    assert replay.parse_id(replayed[0]["id"]) < replay.parse_id(replayed[1]["id"])
    await communicator.disconnect()


async def test_replay_skips_events_of_streams_the_user_may_not_follow(world):
    communicator = await connect(world.outsider_doctor.user)
    await receive_until_hello(communicator)
    await communicator.disconnect()
    await suspend(world)
    communicator = await connect(world.outsider_doctor.user, "after=0-0")
    assert await receive_until_hello(communicator) == []
    await communicator.disconnect()


async def test_a_gap_older_than_the_log_asks_for_a_resync(world, settings):
    settings.PSP_LIVE_REPLAY_MAXLEN = 2
    replay.reset_replay_log()
    communicator = await connect(world.doctor.user)
    await receive_until_hello(communicator)
    await suspend(world)
    first = (await events_of(communicator))[0]["id"]
    await communicator.disconnect()
    for _ in range(2):
        await sync_to_async(enrolment_transition)(
            actor=world.staff, enrolment=world.enrolment, to_status="active"
        )
        await suspend(world)
    communicator = await connect(world.doctor.user, f"after={first}")
    assert await receive_until_hello(communicator) == [{"type": "resync"}]
    await communicator.disconnect()


async def test_malformed_resume_position_asks_for_a_resync(world):
    communicator = await connect(world.doctor.user, "after=not-an-id")
    assert await receive_until_hello(communicator) == [{"type": "resync"}]
    await communicator.disconnect()
