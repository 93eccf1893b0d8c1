"""Two ASGI server processes sharing the Redis channel layer: a write through one reaches a
socket connected to the other."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request

import pytest
from django.conf import settings
from django.test import Client

from psp_crm.services.enrolments import enrolment_transition
from tests.asgi_servers import asgi_servers
from tests.factories import build_world

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.REDIS_URL, reason="needs REDIS_URL: the layer must cross processes"
    ),
]


@pytest.fixture
def two_servers():
    with asgi_servers(2) as ports:
        yield ports


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def admin_suspend(port: int, cookie: str, enrolment_id: int) -> int:
    """Suspend an enrolment through process A's admin action, as a browser would."""
    base = f"http://127.0.0.1:{port}/admin/psp_crm/enrolment/"
    page = urllib.request.urlopen(
        urllib.request.Request(base, headers={"Cookie": f"sessionid={cookie}"}), timeout=20
    )
    csrf = re.search(r"csrftoken=([^;]+)", page.headers.get("Set-Cookie", "")).group(1)
    body = urllib.parse.urlencode(
        {
            "action": "suspend",
            "_selected_action": enrolment_id,
            "reason": "admitted to hospital",
            "index": 0,
            "csrfmiddlewaretoken": csrf,
        }
    ).encode()
    request = urllib.request.Request(
        base,
        data=body,
        headers={"Cookie": f"sessionid={cookie}; csrftoken={csrf}", "Referer": base},
    )
    return urllib.request.urlopen(request, timeout=20).status


def test_a_write_through_process_a_reaches_a_socket_on_process_b(two_servers):
    from websockets.sync.client import connect

    port_a, port_b = two_servers
    world = build_world()
    if world.enrolment.status == "referred":
        from psp_crm.services.consents import consent_record

        consent_record(
            actor=world.staff,
            patient=world.patient,
            kind="participation",
            document_version="1",
            enrolment=world.enrolment,
        )
    enrolment_transition(actor=world.staff, enrolment=world.enrolment, to_status="active")
    patient_cookie = session_cookie(world.patient_user)
    admin_cookie = session_cookie(world.superuser)

    with connect(
        f"ws://127.0.0.1:{port_b}/ws/live/",
        additional_headers={
            "Cookie": f"sessionid={patient_cookie}",
            "Origin": f"http://127.0.0.1:{port_b}",
        },
        open_timeout=10,
    ) as socket_b:
        assert json.loads(socket_b.recv(timeout=10))["type"] == "hello"
        assert admin_suspend(port_a, admin_cookie, world.enrolment.pk) == 200
        event = json.loads(socket_b.recv(timeout=10))
    assert event["verb"] == "enrolment.suspended"
    assert event["enrolment"] == world.enrolment.pk
    world.enrolment.refresh_from_db()
    assert world.enrolment.status == "suspended"


def test_a_socket_from_a_foreign_origin_is_refused(two_servers):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    world = build_world()
    with pytest.raises(InvalidStatus):
        connect(
            f"ws://127.0.0.1:{two_servers[0]}/ws/live/",
            additional_headers={
                "Cookie": f"sessionid={session_cookie(world.patient_user)}",
                "Origin": "http://evil.example",
            },
            open_timeout=10,
        )
