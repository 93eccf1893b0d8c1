"""Contact choices: channel consents, per-purpose preferences, language and quiet hours."""

from __future__ import annotations

import datetime as dt

import pytest

from psp_crm.errors import AccessDenied, DomainError
from psp_crm.messaging import policy
from psp_crm.models import AuditEvent, ChannelPreference, Consent, ContactPreferences
from psp_crm.services.contact_preferences import (
    channel_consent_set,
    channel_consent_withdraw_on_call,
    channel_preference_set,
    contact_preferences_update,
)
from tests.factories import ConsentFactory, build_world, record_events


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def pushed(monkeypatch):
    return record_events(monkeypatch)


def counts() -> tuple[int, int, int, int]:
    return (
        Consent.objects.count(),
        ChannelPreference.objects.count(),
        ContactPreferences.objects.count(),
        AuditEvent.objects.count(),
    )


# --- channel consents -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["patient_user", "caregiver_user", "staff", "superuser"])
def test_who_may_give_a_channel_consent(world, who, pushed, django_capture_on_commit_callbacks):
    actor = getattr(world, who)
    with django_capture_on_commit_callbacks(execute=True):
        consent = channel_consent_set(actor=actor, patient=world.patient, channel="sms", given=True)
    assert consent.kind == Consent.Kind.CHANNEL_SMS
    assert consent.recorded_by == actor and consent.document_version == "portal-2026"
    assert policy.has_channel_consent(world.patient, "sms")
    audit = AuditEvent.objects.get(verb="consent.record", object_id=str(consent.pk))
    assert (audit.actor, audit.patient) == (actor, world.patient)
    assert pushed.verbs() == ["consent.given"]
    groups, message = pushed[0]
    assert groups == [f"enrolment.{world.enrolment.pk}"]
    assert message["consent"] == consent.pk


def test_giving_again_keeps_the_consent_in_force(world):
    first = channel_consent_set(
        actor=world.patient_user, patient=world.patient, channel="email", given=True
    )
    before = counts()
    again = channel_consent_set(
        actor=world.patient_user, patient=world.patient, channel="email", given=True
    )
    assert again == first and counts() == before


def test_withdrawal_stamps_every_active_consent_of_the_kind_at_once(
    world, pushed, django_capture_on_commit_callbacks
):
    old = ConsentFactory(patient=world.patient, kind=Consent.Kind.CHANNEL_SMS)
    newer = ConsentFactory(patient=world.patient, kind=Consent.Kind.CHANNEL_SMS)
    email = ConsentFactory(patient=world.patient, kind=Consent.Kind.CHANNEL_EMAIL)
    assert policy.has_channel_consent(world.patient, "sms")
    with django_capture_on_commit_callbacks(execute=True):
        result = channel_consent_set(
            actor=world.caregiver_user, patient=world.patient, channel="sms", given=False
        )
    assert result is None
    for consent in (old, newer):
        consent.refresh_from_db()
        assert consent.withdrawn_at is not None
    email.refresh_from_db()
    assert email.withdrawn_at is None
    assert not policy.has_channel_consent(world.patient, "sms")
    assert policy.has_channel_consent(world.patient, "email")
    assert AuditEvent.objects.filter(verb="consent.withdraw", patient=world.patient).count() == 2
    assert pushed.verbs() == ["consent.withdrawn"]


def test_withdrawing_without_consent_changes_nothing(world):
    before = counts()
    assert (
        channel_consent_set(
            actor=world.patient_user, patient=world.patient, channel="push", given=False
        )
        is None
    )
    assert counts() == before


def test_phone_consent_can_be_given(world):
    consent = channel_consent_set(
        actor=world.patient_user, patient=world.patient, channel="phone", given=True
    )
    assert consent.kind == Consent.Kind.CHANNEL_PHONE


@pytest.mark.parametrize(
    "who", ["doctor", "nurse", "counsellor", "client", "outsider_staff", "driver"]
)
def test_forbidden_actor_writes_nothing(world, who, pushed, django_capture_on_commit_callbacks):
    ConsentFactory(patient=world.patient, kind=Consent.Kind.CHANNEL_SMS)
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    before = counts()
    with django_capture_on_commit_callbacks(execute=True):
        for given in (True, False):
            with pytest.raises(AccessDenied):
                channel_consent_set(actor=actor, patient=world.patient, channel="sms", given=given)
        with pytest.raises(AccessDenied):
            channel_preference_set(
                actor=actor,
                patient=world.patient,
                purpose="dose_reminder",
                channel="sms",
                enabled=False,
            )
        if who != "counsellor":  # she may change when and how, on a call (below)
            with pytest.raises(AccessDenied):
                contact_preferences_update(
                    actor=actor,
                    patient=world.patient,
                    language="en",
                    quiet_start=None,
                    quiet_end=None,
                    reminder_time=dt.time(9),
                )
    assert counts() == before
    assert pushed == []
    assert policy.has_channel_consent(world.patient, "sms")


def test_revoked_caregiver_may_not_manage(world):
    from django.utils import timezone

    world.delegation.revoked_at = timezone.now()
    world.delegation.save(update_fields=["revoked_at"])
    with pytest.raises(AccessDenied):
        channel_consent_set(
            actor=world.caregiver_user, patient=world.patient, channel="sms", given=True
        )


@pytest.mark.parametrize("channel", ["in_app", "fax", ""])
def test_unknown_or_consentless_channel_is_refused(world, channel):
    with pytest.raises(DomainError) as error:
        channel_consent_set(
            actor=world.patient_user, patient=world.patient, channel=channel, given=True
        )
    assert "channel" in error.value.message_dict


@pytest.mark.parametrize(
    ("who", "via"),
    [("patient_user", "portal"), ("caregiver_user", "portal"), ("staff", "staff")],
)
def test_where_a_consent_change_came_from_is_kept(world, who, via):
    actor = getattr(world, who)
    consent = channel_consent_set(actor=actor, patient=world.patient, channel="sms", given=True)
    assert consent.given_via == via
    channel_consent_set(actor=actor, patient=world.patient, channel="sms", given=False)
    consent.refresh_from_db()
    assert (consent.withdrawn_by, consent.withdrawn_via) == (actor, via)


# --- the patient asks on a call to stop a channel ---------------------------------------------


@pytest.mark.parametrize("who", ["counsellor", "nurse", "staff", "patient_user"])
def test_withdrawal_asked_on_a_call(world, who, pushed, django_capture_on_commit_callbacks):
    consent = ConsentFactory(patient=world.patient, kind=Consent.Kind.CHANNEL_SMS)
    if who == "nurse":  # a nurse takes calls for the patients she cares for
        world.nurse.assigned_enrolments.add(world.enrolment)
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    with django_capture_on_commit_callbacks(execute=True):
        withdrawn = channel_consent_withdraw_on_call(
            actor=actor, patient=world.patient, channel="sms"
        )
    assert withdrawn == 1
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    assert (consent.withdrawn_by, consent.withdrawn_via) == (actor, "contact_centre")
    assert not policy.has_channel_consent(world.patient, "sms")
    audit = AuditEvent.objects.get(verb="consent.withdraw", object_id=str(consent.pk))
    assert audit.actor == actor and audit.detail == {"channel": "sms", "via": "contact_centre"}
    assert pushed.verbs() == ["consent.withdrawn"]
    # Asking again changes nothing.
    assert channel_consent_withdraw_on_call(actor=actor, patient=world.patient, channel="sms") == 0


@pytest.mark.parametrize("who", ["doctor", "client", "outsider_staff", "driver"])
def test_withdrawal_on_a_call_needs_someone_who_may_open_her_record(world, who, pushed):
    ConsentFactory(patient=world.patient, kind=Consent.Kind.CHANNEL_SMS)
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    before = counts()
    with pytest.raises(AccessDenied):
        channel_consent_withdraw_on_call(actor=actor, patient=world.patient, channel="sms")
    assert counts() == before and pushed == []
    assert policy.has_channel_consent(world.patient, "sms")


def test_a_counsellor_of_another_program_may_not_withdraw(world):
    from tests.factories import OperatorFactory

    ConsentFactory(patient=world.patient, kind=Consent.Kind.CHANNEL_SMS)
    stranger = OperatorFactory(role="counsellor", programs=[world.other_program]).user
    with pytest.raises(AccessDenied):
        channel_consent_withdraw_on_call(actor=stranger, patient=world.patient, channel="sms")
    assert policy.has_channel_consent(world.patient, "sms")


@pytest.mark.parametrize(
    ("who", "via"),
    [("patient_user", "portal"), ("staff", "staff"), ("counsellor", "contact_centre")],
)
def test_language_and_hours_asked_on_a_call_or_changed_by_whoever_manages_them(
    world, who, via, pushed, django_capture_on_commit_callbacks
):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    with django_capture_on_commit_callbacks(execute=True):
        prefs = contact_preferences_update(
            actor=actor,
            patient=world.patient,
            language="en",
            quiet_start=dt.time(22),
            quiet_end=dt.time(7),
            reminder_time=dt.time(8),
        )
    assert (prefs.language, prefs.updated_by) == ("en", actor)
    event = AuditEvent.objects.get(verb="contact_preferences.update")
    assert (event.actor, event.detail["via"]) == (actor, via)
    assert pushed.verbs() == ["preferences.changed"]


def test_a_counsellor_of_another_program_may_not_change_language_or_hours(world):
    from tests.factories import OperatorFactory

    stranger = OperatorFactory(role="counsellor", programs=[world.other_program]).user
    before = counts()
    with pytest.raises(AccessDenied):
        contact_preferences_update(
            actor=stranger,
            patient=world.patient,
            language="en",
            quiet_start=None,
            quiet_end=None,
            reminder_time=dt.time(9),
        )
    assert counts() == before


@pytest.mark.parametrize("channel", ["in_app", "fax", ""])
def test_withdrawal_on_a_call_of_an_unknown_channel_is_refused(world, channel):
    with pytest.raises(DomainError) as error:
        channel_consent_withdraw_on_call(
            actor=world.counsellor.user, patient=world.patient, channel=channel
        )
    assert "channel" in error.value.message_dict


# --- per-purpose channel preferences ----------------------------------------------------------


def test_preference_is_upserted_and_used_by_the_policy(
    world, pushed, django_capture_on_commit_callbacks
):
    assert "sms" in policy.wanted_channels(world.patient, "dose_reminder")
    with django_capture_on_commit_callbacks(execute=True):
        pref = channel_preference_set(
            actor=world.patient_user,
            patient=world.patient,
            purpose="dose_reminder",
            channel="sms",
            enabled=False,
        )
    assert not pref.enabled and pref.updated_by == world.patient_user
    assert "sms" not in policy.wanted_channels(world.patient, "dose_reminder")
    again = channel_preference_set(
        actor=world.caregiver_user,
        patient=world.patient,
        purpose="dose_reminder",
        channel="sms",
        enabled=True,
    )
    assert again.pk == pref.pk and again.enabled and again.updated_by == world.caregiver_user
    assert ChannelPreference.objects.filter(patient=world.patient).count() == 1
    assert AuditEvent.objects.filter(verb="channel_preference.set").count() == 2
    assert pushed.verbs() == ["preferences.changed"]


def test_unchanged_preference_writes_nothing(world):
    channel_preference_set(
        actor=world.patient_user,
        patient=world.patient,
        purpose="general",
        channel="email",
        enabled=True,
    )
    before = counts()
    channel_preference_set(
        actor=world.patient_user,
        patient=world.patient,
        purpose="general",
        channel="email",
        enabled=True,
    )
    assert counts() == before


def test_in_app_cannot_be_switched_off(world):
    before = counts()
    with pytest.raises(DomainError) as error:
        channel_preference_set(
            actor=world.patient_user,
            patient=world.patient,
            purpose="general",
            channel="in_app",
            enabled=False,
        )
    assert "cannot be switched off" in error.value.message_dict["channel"][0]
    assert counts() == before
    assert "in_app" in policy.wanted_channels(world.patient, "general")


def test_unknown_purpose_and_channel_are_field_errors(world):
    with pytest.raises(DomainError) as error:
        channel_preference_set(
            actor=world.patient_user,
            patient=world.patient,
            purpose="spam",
            channel="pigeon",
            enabled=True,
        )
    assert set(error.value.message_dict) == {"purpose", "channel"}


# --- language, quiet hours, reminder time -----------------------------------------------------


def test_contact_preferences_are_saved(world, pushed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        prefs = contact_preferences_update(
            actor=world.patient_user,
            patient=world.patient,
            language="en",
            quiet_start=dt.time(22),
            quiet_end=dt.time(7, 30),
            reminder_time=dt.time(8),
        )
    stored = ContactPreferences.objects.get(patient=world.patient)
    assert stored.pk == prefs.pk
    assert (stored.language, stored.quiet_start, stored.quiet_end, stored.reminder_time) == (
        "en",
        dt.time(22),
        dt.time(7, 30),
        dt.time(8),
    )
    audit = AuditEvent.objects.get(verb="contact_preferences.update")
    assert audit.detail["after"]["quiet_start"] == "22:00"
    assert pushed.verbs() == ["preferences.changed"]
    # No quiet hours at all is allowed too, by the staff of her program.
    contact_preferences_update(
        actor=world.staff,
        patient=world.patient,
        language="it",
        quiet_start=None,
        quiet_end=None,
        reminder_time=dt.time(9),
    )
    stored.refresh_from_db()
    assert stored.quiet_start is None and stored.quiet_end is None
    assert ContactPreferences.objects.filter(patient=world.patient).count() == 1


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"quiet_start": dt.time(22), "quiet_end": None}, "quiet_end", "both"),
        ({"quiet_start": None, "quiet_end": dt.time(7)}, "quiet_start", "both"),
        ({"quiet_start": dt.time(7), "quiet_end": dt.time(7)}, "quiet_end", "another time"),
        ({"language": "klingon"}, "language", "Unknown language"),
        ({"reminder_time": dt.time(23)}, "reminder_time", "outside the quiet hours"),
        ({"reminder_time": None}, "reminder_time", "Give a time"),
    ],
)
def test_invalid_contact_preferences(world, values, field, words):
    data = {
        "language": "it",
        "quiet_start": dt.time(22),
        "quiet_end": dt.time(7),
        "reminder_time": dt.time(9),
        **values,
    }
    before = counts()
    with pytest.raises(DomainError) as error:
        contact_preferences_update(actor=world.patient_user, patient=world.patient, **data)
    assert words in error.value.message_dict[field][0]
    assert counts() == before
