"""Patient portal: the in-app messages (notifications), unread first, marked read."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from psp_crm.models import Message, Patient

ANNA = "anna.conti@example.com"
LUCA = "luca.conti@example.com"
MARCO = "marco.ferri@example.com"
URL = "/patient/messages/"


@pytest.fixture
def anna(demo_world) -> Patient:
    return Patient.objects.get(user__email=ANNA)


@pytest.fixture
def unread(anna) -> Message:
    now = timezone.now() - dt.timedelta(minutes=1)
    return Message.objects.create(
        patient=anna,
        recipient=anna.user,
        enrolment=anna.enrolments.first(),
        purpose="general",
        channel="in_app",
        body="Your delivery arrives tomorrow between 10 and 12.",
        status=Message.Status.SENT,
        sent_at=now,
        created_at=now,
        due_at=now,
    )


def test_anna_sees_her_messages_unread_in_bold(signed_in, unread):
    response = signed_in(ANNA).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-live-on="message."' in html and 'id="messages-section"' in html
    assert "Your delivery arrives tomorrow" in html
    assert f'data-message="{unread.pk}" data-unread="1"' in html
    assert "fw-bold" in html and 'data-testid="unread-count"' in html
    assert "Mark as read" in html


def test_sms_and_other_peoples_messages_are_not_listed(signed_in, anna, unread):
    marco = Patient.objects.get(user__email=MARCO)
    Message.objects.create(
        patient=marco, recipient=marco.user, purpose="general", channel="in_app", body="For Marco"
    )
    Message.objects.create(patient=anna, purpose="general", channel="sms", body="An SMS to Anna")
    html = signed_in(ANNA).get(URL).content.decode()
    assert "For Marco" not in html and "An SMS to Anna" not in html


def test_anna_marks_a_message_read(signed_in, unread):
    client = signed_in(ANNA)
    response = client.post(URL, {"message": unread.pk})
    assert response.status_code == 302 and response["Location"] == URL
    unread.refresh_from_db()
    assert unread.read_at is not None
    html = client.get(URL).content.decode()
    assert f'data-message="{unread.pk}" data-unread' not in html


def test_luca_reads_and_marks_annas_messages(signed_in, anna, unread):
    client = signed_in(LUCA)
    assert f"?patient={anna.code}" in client.get(URL).content.decode()  # the chooser
    html = client.get(f"{URL}?patient={anna.code}").content.decode()
    assert "Messages for Anna Conti" in html and "Your delivery arrives tomorrow" in html
    response = client.post(f"/patient/p/{anna.code}/messages/", {"message": unread.pk})
    assert response.status_code == 302
    unread.refresh_from_db()
    assert unread.read_at is not None


def test_mark_read_by_another_patient_is_404(signed_in, unread):
    assert signed_in(MARCO).post(URL, {"message": unread.pk}).status_code == 404
    unread.refresh_from_db()
    assert unread.read_at is None


def test_mark_read_by_her_doctor_is_refused(signed_in, unread):
    response = signed_in("dr.rossi@sanluca.example").post(URL, {"message": unread.pk})
    assert response.status_code in (403, 404)
    unread.refresh_from_db()
    assert unread.read_at is None


def test_marco_cannot_open_annas_messages(signed_in, anna, unread):
    client = signed_in(MARCO)
    assert client.get(f"{URL}?patient={anna.code}").status_code == 404
    assert client.post(f"{URL}?patient={anna.code}", {"message": unread.pk}).status_code == 404
    assert "Your delivery arrives tomorrow" not in client.get(URL).content.decode()


@pytest.mark.parametrize("value", ["", "abc", "999999999"])
def test_unknown_message_is_404(signed_in, anna, value):
    assert signed_in(ANNA).post(URL, {"message": value}).status_code == 404


@pytest.mark.parametrize(
    "email", ["dr.rossi@sanluca.example", "nurse.verdi@curaplus.example", "ops@curaplus.example"]
)
def test_other_roles_are_refused(signed_in, email):
    assert signed_in(email).get(URL).status_code in (403, 404)
