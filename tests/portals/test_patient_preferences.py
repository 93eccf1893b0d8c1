"""Patient portal: channel consents, the purpose × channel grid, language and quiet hours."""

from __future__ import annotations

import datetime as dt

import pytest

from psp_crm.messaging import policy
from psp_crm.models import AuditEvent, ChannelPreference, Consent, ContactPreferences, Patient

ANNA = "anna.conti@example.com"
LUCA = "luca.conti@example.com"
MARCO = "marco.ferri@example.com"
URL = "/patient/preferences/"


@pytest.fixture
def anna(demo_world) -> Patient:
    return Patient.objects.get(user__email=ANNA)


@pytest.fixture
def sms_consent(anna) -> Consent:
    """Anna has an SMS consent in force (the demo seed gives one; make sure of it)."""
    consent = Consent.objects.filter(
        patient=anna, kind=Consent.Kind.CHANNEL_SMS, withdrawn_at__isnull=True
    ).first()
    return consent or Consent.objects.create(
        patient=anna, kind=Consent.Kind.CHANNEL_SMS, document_version="test"
    )


def test_anna_sees_her_channels_grid_and_settings(signed_in, sms_consent):
    response = signed_in(ANNA).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="channel-consents"' in html
    for channel in ("sms", "email", "push", "phone"):
        assert f'data-channel="{channel}"' in html
    assert "Phone calls" in html
    assert 'data-testid="preferences-grid"' in html
    assert 'name="grid-dose_reminder__sms"' in html
    assert 'data-testid="contact-form"' in html
    assert 'href="/patient/preferences/"' in html  # the section tab
    assert 'href="/patient/messages/"' in html


def test_anna_withdraws_sms_consent_and_it_takes_effect_at_once(signed_in, anna, sms_consent):
    client = signed_in(ANNA)
    response = client.post(URL, {"form": "consent", "channel": "sms", "given": "0"})
    assert response.status_code == 302 and response["Location"] == URL
    sms_consent.refresh_from_db()
    assert sms_consent.withdrawn_at is not None
    assert not policy.has_channel_consent(anna, "sms")
    assert not Consent.objects.filter(
        patient=anna, kind=Consent.Kind.CHANNEL_SMS, withdrawn_at__isnull=True
    ).exists()
    audit = AuditEvent.objects.filter(verb="consent.withdraw", patient=anna).latest("pk")
    assert audit.actor.email == ANNA
    page = client.get(URL).content.decode()
    assert "Consent withdrawn" in page
    assert 'data-testid="no-consent"' in page  # the SMS column is now flagged
    # And given again.
    client.post(URL, {"form": "consent", "channel": "sms", "given": "1"})
    assert policy.has_channel_consent(anna, "sms")


def test_grid_saves_only_changed_cells(signed_in, anna, sms_consent):
    from psp_crm.selectors.contact_preferences import contact_choices

    client = signed_in(ANNA)
    rows = set(
        ChannelPreference.objects.filter(patient=anna).values_list("purpose", "channel", "enabled")
    )
    # Submit the grid as it stands, but untick SMS for dose reminders.
    data = {"form": "grid"}
    for row in contact_choices(actor=anna.user, patient=anna).grid:
        for cell in row.cells:
            if cell.wanted and cell.consented:
                data[f"grid-{row.purpose}__{cell.channel}"] = "on"
    assert data.pop("grid-dose_reminder__sms") == "on"
    response = client.post(URL, data)
    assert response.status_code == 302
    assert "sms" not in policy.wanted_channels(anna, "dose_reminder")
    after = set(
        ChannelPreference.objects.filter(patient=anna).values_list("purpose", "channel", "enabled")
    )
    assert after - rows == {("dose_reminder", "sms", False)}


def test_cells_without_consent_are_flagged_and_kept(signed_in, anna):
    Consent.objects.filter(patient=anna, kind=Consent.Kind.CHANNEL_PUSH).delete()
    client = signed_in(ANNA)
    html = client.get(URL).content.decode()
    assert "no consent" in html
    assert 'name="grid-dose_reminder__push"' in html and "disabled" in html
    wanted = "push" in policy.wanted_channels(anna, "dose_reminder")
    client.post(URL, {"form": "grid"})  # every box unticked, push cells disabled
    assert ("push" in policy.wanted_channels(anna, "dose_reminder")) == wanted


def test_language_and_quiet_hours_are_saved(signed_in, anna):
    response = signed_in(ANNA).post(
        URL,
        {
            "form": "contact",
            "contact-language": "en",
            "contact-quiet_start": "22:30",
            "contact-quiet_end": "07:00",
            "contact-reminder_time": "08:15",
        },
    )
    assert response.status_code == 302
    prefs = ContactPreferences.objects.get(patient=anna)
    assert (prefs.language, prefs.quiet_start, prefs.quiet_end, prefs.reminder_time) == (
        "en",
        dt.time(22, 30),
        dt.time(7),
        dt.time(8, 15),
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"contact-quiet_start": "22:00", "contact-quiet_end": ""},
            "Give both the start and the end of the quiet hours, or neither.",
        ),
        ({"contact-quiet_start": "25:99"}, "Enter a valid time."),
        ({"contact-reminder_time": "23:00"}, "Choose a reminder time outside the quiet hours."),
        ({"contact-language": "xx"}, "Select a valid choice."),
    ],
)
def test_invalid_contact_settings_are_a_400_with_the_message(signed_in, anna, data, message):
    before = AuditEvent.objects.count()
    payload = {
        "form": "contact",
        "contact-language": "it",
        "contact-quiet_start": "21:00",
        "contact-quiet_end": "08:00",
        "contact-reminder_time": "09:00",
        **data,
    }
    response = signed_in(ANNA).post(URL, payload)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    "data",
    [{"form": "consent", "channel": "in_app", "given": "0"}, {"form": "consent"}, {"form": "?"}],
)
def test_invalid_posts_are_400(signed_in, anna, data):
    assert signed_in(ANNA).post(URL, data).status_code == 400


def test_luca_manages_annas_preferences(signed_in, demo_user, anna, sms_consent):
    client = signed_in(LUCA)
    chooser = client.get(URL)
    assert chooser.status_code == 200
    assert f"?patient={anna.code}" in chooser.content.decode()
    page = client.get(f"{URL}?patient={anna.code}")
    assert page.status_code == 200
    assert "How Anna Conti is contacted" in page.content.decode()
    assert client.get(f"/patient/p/{anna.code}/preferences/").status_code == 200
    response = client.post(
        f"{URL}?patient={anna.code}", {"form": "consent", "channel": "sms", "given": "0"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?patient={anna.code}"
    assert not policy.has_channel_consent(anna, "sms")
    audit = AuditEvent.objects.filter(verb="consent.withdraw", patient=anna).latest("pk")
    assert audit.actor == demo_user(LUCA)
    response = client.post(
        f"/patient/p/{anna.code}/preferences/",
        {
            "form": "contact",
            "contact-language": "it",
            "contact-quiet_start": "",
            "contact-quiet_end": "",
            "contact-reminder_time": "10:00",
        },
    )
    assert response.status_code == 302
    assert ContactPreferences.objects.get(patient=anna).quiet_start is None


def test_another_patient_gets_404_for_annas_code(signed_in, anna, sms_consent):
    client = signed_in(MARCO)
    assert client.get(f"{URL}?patient={anna.code}").status_code == 404
    response = client.post(
        f"{URL}?patient={anna.code}", {"form": "consent", "channel": "sms", "given": "0"}
    )
    assert response.status_code == 404
    assert policy.has_channel_consent(anna, "sms")
    assert client.get(f"/patient/p/{anna.code}/preferences/").status_code == 404


def test_caregiver_without_delegation_gets_404(signed_in, demo_world):
    marco = Patient.objects.get(user__email=MARCO)
    assert signed_in(LUCA).get(f"{URL}?patient={marco.code}").status_code == 404


@pytest.mark.parametrize(
    "email",
    [
        "dr.rossi@sanluca.example",
        "nurse.verdi@curaplus.example",
        "counsellor.neri@curaplus.example",
        "medical@northwind.example",
        "ops@curaplus.example",
    ],
)
def test_other_roles_are_refused(signed_in, anna, email):
    client = signed_in(email)
    assert client.get(URL).status_code in (403, 404)
    assert client.get(f"{URL}?patient={anna.code}").status_code in (403, 404)
    response = client.post(URL, {"form": "consent", "channel": "sms", "given": "0"})
    assert response.status_code in (403, 404)


# --- caregivers' e-mail copies ----------------------------------------------------------------


def _lucas_delegation(anna):
    from psp_crm.models import Delegation

    return Delegation.objects.active().get(patient=anna, caregiver__user__email=LUCA)


def test_luca_asks_for_copies_and_anna_stops_them(signed_in, anna):
    delegation = _lucas_delegation(anna)
    luca_url = f"/patient/p/{anna.code}/preferences/"
    luca = signed_in(LUCA)
    html = luca.get(luca_url).content.decode()
    assert 'data-testid="caregiver-copies"' in html and "Send me copies" in html
    response = luca.post(luca_url, {"form": "copies", "delegation": delegation.pk, "enabled": "1"})
    assert response.status_code == 302
    delegation.refresh_from_db()
    assert delegation.receives_copies
    assert "Stop my copies" in luca.get(luca_url).content.decode()

    page = signed_in(ANNA).get(URL).content.decode()
    row = page[page.index(f'data-caregiver="{LUCA}"') :]
    assert "gets copies" in row[: row.index("</li>")]
    response = signed_in(ANNA).post(
        URL, {"form": "copies", "delegation": delegation.pk, "enabled": "0"}
    )
    assert response.status_code == 302
    delegation.refresh_from_db()
    assert not delegation.receives_copies


def test_anna_cannot_turn_copies_on_for_luca(signed_in, anna):
    delegation = _lucas_delegation(anna)
    response = signed_in(ANNA).post(
        URL, {"form": "copies", "delegation": delegation.pk, "enabled": "1"}
    )
    assert response.status_code == 400
    assert "Only the caregiver may ask for copies" in response.content.decode()
    delegation.refresh_from_db()
    assert not delegation.receives_copies


@pytest.mark.parametrize("data", [{"enabled": "1"}, {"delegation": "x", "enabled": "1"}, {}])
def test_bad_copies_input_is_a_400(signed_in, anna, data):
    delegation = _lucas_delegation(anna)
    response = signed_in(LUCA).post(
        f"/patient/p/{anna.code}/preferences/", {"form": "copies", **data}
    )
    assert response.status_code == 400
    delegation.refresh_from_db()
    assert not delegation.receives_copies


def test_marco_cannot_touch_lucas_copies_for_anna(signed_in, anna):
    delegation = _lucas_delegation(anna)
    response = signed_in(MARCO).post(
        f"/patient/p/{anna.code}/preferences/",
        {"form": "copies", "delegation": delegation.pk, "enabled": "1"},
    )
    assert response.status_code in (403, 404)
    # His own page offers no delegation of Anna's.
    response = signed_in(MARCO).post(
        URL, {"form": "copies", "delegation": delegation.pk, "enabled": "0"}
    )
    assert response.status_code == 400
    delegation.refresh_from_db()
    assert not delegation.receives_copies
