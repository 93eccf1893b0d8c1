"""Provider staff change a patient's contact choices in the admin at her request (she phoned or
wrote): through the same services as her portal, audited, scoped to their programs, with the
services' refusals shown on the form's fields."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from psp_crm.messaging import policy
from psp_crm.models import AuditEvent, ChannelPreference, ContactPreferences, Purpose
from tests.factories import build_world


def url(model, view: str = "changelist", *args) -> str:
    return reverse(f"admin:psp_crm_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def world(db):
    return build_world()


def _contact(patient, **overrides) -> dict:
    data = {
        "patient": patient.pk,
        "language": "en",
        "quiet_start": "22:00",
        "quiet_end": "07:00",
        "reminder_time": "08:30",
    }
    data.update(overrides)
    return data


# --- language, quiet hours, reminder time ------------------------------------------------------


def test_staff_set_a_patients_language_quiet_hours_and_reminder_time(client, world):
    client.force_login(world.staff)
    response = client.post(url(ContactPreferences, "add"), _contact(world.patient))
    assert response.status_code == 302
    prefs = ContactPreferences.objects.get(patient=world.patient)
    assert (prefs.language, prefs.quiet_start, prefs.quiet_end, prefs.reminder_time) == (
        "en",
        dt.time(22),
        dt.time(7),
        dt.time(8, 30),
    )
    assert prefs.updated_by == world.staff
    event = AuditEvent.objects.get(verb="contact_preferences.update", patient=world.patient)
    assert event.actor == world.staff
    assert event.detail["after"]["reminder_time"] == "08:30"
    # The send-time policy reads the new choices at once.
    assert policy.preferences_of(world.patient).language == "en"


def test_staff_change_them_later_but_not_whose_they_are(client, world):
    client.force_login(world.staff)
    client.post(url(ContactPreferences, "add"), _contact(world.patient))
    prefs = ContactPreferences.objects.get(patient=world.patient)
    page = client.get(url(ContactPreferences, "change", prefs.pk))
    assert page.status_code == 200
    assert "patient" not in page.context["adminform"].form.fields  # read-only on a saved row
    response = client.post(
        url(ContactPreferences, "change", prefs.pk),
        _contact(world.other_patient, language="it", quiet_start="", quiet_end=""),
    )
    assert response.status_code == 302
    prefs.refresh_from_db()
    assert prefs.patient == world.patient
    assert (prefs.language, prefs.quiet_start, prefs.quiet_end) == ("it", None, None)
    assert AuditEvent.objects.filter(verb="contact_preferences.update").count() == 2


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"reminder_time": "23:30"}, "reminder_time", "outside the quiet hours"),
        ({"quiet_end": ""}, "quiet_end", "both the start and the end"),
        ({"quiet_end": "22:00"}, "quiet_end", "another time than they start"),
        ({"reminder_time": ""}, "reminder_time", "required"),
        ({"language": "xx"}, "language", "valid choice"),
    ],
)
def test_bad_choices_are_field_errors_and_save_nothing(client, world, overrides, field, text):
    client.force_login(world.staff)
    response = client.post(url(ContactPreferences, "add"), _contact(world.patient, **overrides))
    assert response.status_code == 200  # the form again, never a 500
    errors = response.context["adminform"].form.errors
    assert text in " ".join(errors[field])
    assert not ContactPreferences.objects.filter(patient=world.patient).exists()
    assert not AuditEvent.objects.filter(verb="contact_preferences.update").exists()


def test_a_patient_has_one_row_of_contact_choices(client, world):
    client.force_login(world.staff)
    client.post(url(ContactPreferences, "add"), _contact(world.patient))
    response = client.post(url(ContactPreferences, "add"), _contact(world.patient))
    assert response.status_code == 200
    assert "patient" in response.context["adminform"].form.errors
    assert ContactPreferences.objects.filter(patient=world.patient).count() == 1


# --- channels per purpose ------------------------------------------------------------------------


def test_staff_switch_a_channel_off_and_on_for_one_purpose(client, world):
    assert "sms" in policy.wanted_channels(world.patient, Purpose.DOSE_REMINDER)
    client.force_login(world.staff)
    response = client.post(
        url(ChannelPreference, "add"),
        {"patient": world.patient.pk, "purpose": "dose_reminder", "channel": "sms"},
    )  # an unticked "wanted" box posts nothing: off
    assert response.status_code == 302
    preference = ChannelPreference.objects.get(patient=world.patient)
    assert (preference.enabled, preference.updated_by) == (False, world.staff)
    assert "sms" not in policy.wanted_channels(world.patient, Purpose.DOSE_REMINDER)

    response = client.post(
        url(ChannelPreference, "change", preference.pk),
        {"enabled": "on", "purpose": "general", "channel": "email"},
    )
    assert response.status_code == 302
    preference.refresh_from_db()
    # Only "wanted" switches on a saved row; purpose and channel stay.
    assert (preference.purpose, preference.channel, preference.enabled) == (
        "dose_reminder",
        "sms",
        True,
    )
    assert "sms" in policy.wanted_channels(world.patient, Purpose.DOSE_REMINDER)
    details = [
        e.detail for e in AuditEvent.objects.filter(verb="channel_preference.set").order_by("pk")
    ]
    assert [(d["before"], d["after"]) for d in details] == [(None, False), (False, True)]


def test_in_app_cannot_be_switched_off_and_a_row_is_not_added_twice(client, world):
    client.force_login(world.staff)
    response = client.post(
        url(ChannelPreference, "add"),
        {"patient": world.patient.pk, "purpose": "dose_reminder", "channel": "in_app"},
    )
    assert response.status_code == 200
    assert "channel" in response.context["adminform"].form.errors
    data = {"patient": world.patient.pk, "purpose": "general", "channel": "email", "enabled": "on"}
    assert client.post(url(ChannelPreference, "add"), data).status_code == 302
    again = client.post(url(ChannelPreference, "add"), data)
    assert again.status_code == 200
    assert again.context["adminform"].form.non_field_errors()
    assert ChannelPreference.objects.filter(patient=world.patient).count() == 1


def test_contact_choices_are_never_deleted(client, world):
    client.force_login(world.superuser)
    client.post(url(ContactPreferences, "add"), _contact(world.patient))
    prefs = ContactPreferences.objects.get(patient=world.patient)
    assert client.get(url(ContactPreferences, "delete", prefs.pk)).status_code == 403


# --- another provider's staff --------------------------------------------------------------------


def test_another_providers_staff_cannot_see_or_change_them(client, world):
    client.force_login(world.staff)
    client.post(url(ContactPreferences, "add"), _contact(world.patient))
    client.post(
        url(ChannelPreference, "add"),
        {"patient": world.patient.pk, "purpose": "general", "channel": "email"},
    )
    prefs = ContactPreferences.objects.get(patient=world.patient)
    preference = ChannelPreference.objects.get(patient=world.patient)

    client.force_login(world.outsider_staff)
    for model, obj in ((ContactPreferences, prefs), (ChannelPreference, preference)):
        assert client.get(url(model)).context["cl"].result_count == 0
        page = client.get(url(model, "change", obj.pk))
        assert page.status_code in (302, 404)
        if page.status_code == 302:
            assert page.url == reverse("admin:index")
        refused = client.post(url(model, "change", obj.pk), {"enabled": "on", "language": "de"})
        assert refused.status_code in (302, 404)
    # Nor can they add choices for her: she is not among the patients they may pick.
    response = client.post(url(ContactPreferences, "add"), _contact(world.patient, language="de"))
    assert response.status_code == 200
    assert "patient" in response.context["adminform"].form.errors
    prefs.refresh_from_db()
    preference.refresh_from_db()
    assert (prefs.language, preference.enabled) == ("en", False)
