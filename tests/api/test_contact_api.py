"""The apps' inbox and contact choices: the patient and her caregiver read messages and manage
consents, channels and quiet hours; anyone else gets a 404; bad input is a 400 with fields."""

from __future__ import annotations

import pytest

from psp_crm.messaging import policy
from psp_crm.models import AuditEvent, Channel, ChannelPreference, Message, Patient

ANNA = "anna.conti@example.com"
LUCA = "luca.conti@example.com"  # Anna's caregiver
MARCO = "marco.ferri@example.com"
OTHERS = [
    MARCO,
    "dr.rossi@sanluca.example",
    "nurse.verdi@curaplus.example",
    "counsellor.neri@curaplus.example",
    "medical@northwind.example",
    "admin@curaplus.example",
]
PREFS = "/api/v1/contact-preferences/"
CONSENTS = "/api/v1/contact-preferences/consents/"
CHANNELS = "/api/v1/contact-preferences/channels/"
MESSAGES = "/api/v1/messages/"


@pytest.fixture
def anna(demo_world) -> Patient:
    return Patient.objects.get(user__email=ANNA)


@pytest.fixture
def note(anna) -> Message:
    """An in-app notice to Anna, as the domain sends it."""
    return Message.objects.create(
        patient=anna,
        recipient=anna.user,
        purpose="general",
        channel=Channel.IN_APP,
        subject="API-NOTE",
        body="Your nurse comes on Tuesday.",
        status=Message.Status.SENT,
    )


# --- contact preferences ----------------------------------------------------------------------


def test_anna_reads_her_contact_choices(api, anna):
    response = api(ANNA).get(PREFS)
    assert response.status_code == 200
    data = response.json()
    assert data["patient"] == anna.code
    consents = {c["channel"]: c for c in data["consents"]}
    assert set(consents) == {"sms", "email", "push", "phone"}
    assert consents["sms"]["given"] is policy.has_channel_consent(anna, "sms")
    reminders = next(p for p in data["purposes"] if p["purpose"] == "dose_reminder")
    assert {c["channel"] for c in reminders["channels"]} == {"sms", "email", "push"}
    assert data["language"] in ("it", "en") and data["reminder_time"]


def test_the_caregiver_reads_them_with_the_patient_code(api, anna):
    assert api(LUCA).get(PREFS, {"patient": anna.code}).json()["patient"] == anna.code
    response = api(LUCA).get(PREFS)  # Luca is no patient himself: whose?
    assert response.status_code == 400 and "patient" in response.json()


@pytest.mark.parametrize("email", OTHERS)
def test_nobody_else_reads_or_changes_annas_choices(api, anna, email):
    client = api(email)
    assert client.get(PREFS, {"patient": anna.code}).status_code == 404
    response = client.post(
        CONSENTS, {"patient": anna.code, "channel": "sms", "given": False}, format="json"
    )
    assert response.status_code == 404
    assert client.get(MESSAGES, {"patient": anna.code}).status_code == 404


def test_anonymous_is_refused(api):
    for path in (PREFS, MESSAGES):
        assert api(None).get(path).status_code in (401, 403)


def test_withdrawing_sms_by_the_app_takes_effect_at_once(api, anna):
    assert policy.has_channel_consent(anna, "sms")
    response = api(ANNA).post(CONSENTS, {"channel": "sms", "given": False}, format="json")
    assert response.status_code == 200
    sms = next(c for c in response.json()["consents"] if c["channel"] == "sms")
    assert sms["given"] is False and sms["withdrawn_at"]
    assert not policy.has_channel_consent(anna, "sms")
    audit = AuditEvent.objects.filter(verb="consent.withdraw", patient=anna).latest("pk")
    assert audit.actor.email == ANNA and audit.detail["via"] == "app"
    # Given again by her caregiver, from his app.
    again = api(LUCA).post(
        CONSENTS, {"patient": anna.code, "channel": "sms", "given": True}, format="json"
    )
    assert again.status_code == 200
    assert policy.has_channel_consent(anna, "sms")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "in_app", "given": True}, "channel"),
        ({"channel": "fax", "given": True}, "channel"),
        ({"channel": "sms"}, "given"),
        ({"channel": "sms", "given": "maybe"}, "given"),
    ],
)
def test_bad_consent_changes_are_400s(api, anna, body, field):
    before = AuditEvent.objects.count()
    response = api(ANNA).post(CONSENTS, body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert AuditEvent.objects.count() == before


def test_an_unknown_patient_code_is_a_404(api, anna):
    response = api(ANNA).post(
        CONSENTS, {"channel": "sms", "given": False, "patient": "PT-NOPE"}, format="json"
    )
    assert response.status_code == 404
    assert policy.has_channel_consent(anna, "sms")


def test_channels_per_purpose(api, anna):
    response = api(ANNA).post(
        CHANNELS, {"purpose": "dose_reminder", "channel": "sms", "enabled": False}, format="json"
    )
    assert response.status_code == 200
    reminders = next(p for p in response.json()["purposes"] if p["purpose"] == "dose_reminder")
    assert next(c for c in reminders["channels"] if c["channel"] == "sms")["wanted"] is False
    assert ChannelPreference.objects.get(patient=anna, purpose="dose_reminder", channel="sms")
    assert "sms" not in policy.wanted_channels(anna, "dose_reminder")
    for body in (
        {"purpose": "jokes", "channel": "sms", "enabled": True},
        {"purpose": "dose_reminder", "channel": "in_app", "enabled": False},
    ):
        assert api(ANNA).post(CHANNELS, body, format="json").status_code == 400


def test_settings_are_patched(api, anna):
    response = api(ANNA).patch(
        PREFS, {"quiet_start": "22:30", "quiet_end": "07:00", "language": "en"}, format="json"
    )
    assert response.status_code == 200
    data = response.json()
    assert (data["quiet_start"], data["quiet_end"], data["language"]) == (
        "22:30:00",
        "07:00:00",
        "en",
    )
    none = api(ANNA).patch(PREFS, {"quiet_start": None, "quiet_end": None}, format="json")
    assert none.json()["quiet_start"] is None and none.json()["language"] == "en"
    for body, field in (
        ({"language": "fr"}, "language"),
        ({"reminder_time": "25:00"}, "reminder_time"),
        ({"quiet_start": "23:00", "quiet_end": None}, "quiet_end"),
    ):
        response = api(ANNA).patch(PREFS, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json(), response.json()


# --- the inbox --------------------------------------------------------------------------------


def test_anna_and_her_caregiver_read_her_messages(api, anna, note):
    mine = api(ANNA).get(MESSAGES).json()["results"]
    assert note.pk in [m["id"] for m in mine]
    row = next(m for m in mine if m["id"] == note.pk)
    assert (row["patient"], row["subject"], row["read_at"]) == (anna.code, "API-NOTE", None)
    luca = api(LUCA).get(MESSAGES, {"patient": anna.code}).json()["results"]
    assert note.pk in [m["id"] for m in luca]
    assert api(ANNA).get(f"{MESSAGES}{note.pk}/").status_code == 200


def test_reading_a_message(api, anna, note):
    unread = api(ANNA).get(MESSAGES, {"unread": "1"}).json()["results"]
    assert note.pk in [m["id"] for m in unread]
    response = api(ANNA).post(f"{MESSAGES}{note.pk}/read/")
    assert response.status_code == 200 and response.json()["read_at"]
    first = response.json()["read_at"]
    assert api(ANNA).post(f"{MESSAGES}{note.pk}/read/").json()["read_at"] == first
    unread = api(ANNA).get(MESSAGES, {"unread": "1"}).json()["results"]
    assert note.pk not in [m["id"] for m in unread]


@pytest.mark.parametrize("email", OTHERS)
def test_nobody_else_opens_or_reads_annas_message(api, note, email):
    client = api(email)
    assert client.get(f"{MESSAGES}{note.pk}/").status_code == 404
    assert client.post(f"{MESSAGES}{note.pk}/read/").status_code == 404
    assert note.pk not in [m["id"] for m in client.get(MESSAGES).json()["results"]]
    note.refresh_from_db()
    assert note.read_at is None


# --- caregivers' copies -----------------------------------------------------------------------

COPIES = "/api/v1/contact-preferences/copies/"


def test_luca_asks_for_copies_from_his_app(api, anna):
    from psp_crm.models import Delegation

    response = api(LUCA).post(
        COPIES, {"patient": anna.code, "receives_copies": True}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"patient": anna.code, "receives_copies": True}
    delegation = Delegation.objects.active().get(patient=anna, caregiver__user__email=LUCA)
    assert delegation.receives_copies
    off = api(LUCA).post(COPIES, {"patient": anna.code, "receives_copies": False}, format="json")
    assert off.json()["receives_copies"] is False


@pytest.mark.parametrize("email", [ANNA, *OTHERS])
def test_only_her_caregiver_asks_for_copies(api, anna, email):
    response = api(email).post(
        COPIES, {"patient": anna.code, "receives_copies": True}, format="json"
    )
    assert response.status_code == 404


@pytest.mark.parametrize("body", [{"receives_copies": True}, {"patient": "x"}, {}])
def test_bad_copies_requests_are_400s(api, anna, body):
    assert api(LUCA).post(COPIES, body, format="json").status_code == 400
