"""Who may be contacted on which channel, for what, and when.

- In-app messages need no consent: the patient reads them in her own portal.
- E-mail, SMS and push need the matching channel consent (a ``Consent`` row not withdrawn);
  phone calls need the phone consent. Withdrawal takes effect at once: every check reads the
  database at send time.
- On top of consent, the patient chooses per purpose and channel (``ChannelPreference``); without
  a row the defaults of ``DEFAULT_CHANNELS`` apply.
- Quiet hours (``ContactPreferences``) defer every channel but in-app to the end of the quiet
  period, in the patient's time zone.
- A caregiver who asked for copies (``Delegation.receives_copies``, an active delegation) gets an
  e-mail copy of the patient's reminders and appointment notices (``COPY_PURPOSES``); turning it
  off, or the delegation ending, stops the copies not sent yet.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable

from ..models import (
    Channel,
    ChannelPreference,
    Consent,
    ContactPreferences,
    Delegation,
    Patient,
    Purpose,
)

# The consent each channel needs (in-app needs none).
CONSENT_FOR_CHANNEL: dict[str, str] = {
    Channel.EMAIL: Consent.Kind.CHANNEL_EMAIL,
    Channel.SMS: Consent.Kind.CHANNEL_SMS,
    Channel.PUSH: Consent.Kind.CHANNEL_PUSH,
    "phone": Consent.Kind.CHANNEL_PHONE,
}
# The channels a purpose uses when the patient has not chosen (in-app is always on).
DEFAULT_CHANNELS: dict[str, frozenset[str]] = {
    Purpose.DOSE_REMINDER: frozenset({Channel.IN_APP, Channel.SMS, Channel.PUSH}),
    Purpose.ACTIVITY_CONFIRMATION: frozenset({Channel.IN_APP, Channel.SMS}),
    Purpose.ACTIVITY_RESCHEDULED: frozenset({Channel.IN_APP, Channel.SMS}),
    Purpose.REPORT_NOTIFICATION: frozenset({Channel.IN_APP, Channel.EMAIL}),
    Purpose.CASE_UPDATE: frozenset({Channel.IN_APP, Channel.EMAIL}),
    Purpose.GENERAL: frozenset({Channel.IN_APP}),
}
# What a caregiver who asked for copies receives, by e-mail.
COPY_PURPOSES = frozenset(
    {Purpose.DOSE_REMINDER, Purpose.ACTIVITY_CONFIRMATION, Purpose.ACTIVITY_RESCHEDULED}
)
# Channels a patient can switch per purpose (in-app cannot be switched off).
SWITCHABLE_CHANNELS: tuple[str, ...] = (Channel.SMS, Channel.EMAIL, Channel.PUSH)


def has_channel_consent(patient: Patient, channel: str) -> bool:
    """Whether the patient has a consent in force for ``channel`` (in-app: always)."""
    kind = CONSENT_FOR_CHANNEL.get(channel)
    if kind is None:
        return True
    return Consent.objects.filter(patient=patient, kind=kind, withdrawn_at__isnull=True).exists()


def consented_channels(patient: Patient) -> set[str]:
    """Every channel (incl. ``phone``) the patient has a consent in force for, plus in-app."""
    kinds = set(
        Consent.objects.filter(patient=patient, withdrawn_at__isnull=True).values_list(
            "kind", flat=True
        )
    )
    channels = {channel for channel, kind in CONSENT_FOR_CHANNEL.items() if kind in kinds}
    return channels | {Channel.IN_APP}


def consented_channels_of(patient_ids: Iterable[int]) -> dict[int, set[str]]:
    """``consented_channels`` for many patients in one query (patients without any: in-app)."""
    ids = set(patient_ids)
    out: dict[int, set[str]] = {pk: {Channel.IN_APP} for pk in ids}
    channel_of = {kind: channel for channel, kind in CONSENT_FOR_CHANNEL.items()}
    for patient_id, kind in Consent.objects.filter(
        patient_id__in=ids, withdrawn_at__isnull=True
    ).values_list("patient_id", "kind"):
        channel = channel_of.get(kind)
        if channel is not None:
            out[patient_id].add(channel)
    return out


def channel_choices_of(
    patient_ids: Iterable[int], purposes: Iterable[str]
) -> dict[tuple[int, str], list[tuple[str, bool]]]:
    """Each patient's ``(channel, enabled)`` choices per purpose, for many patients (one query)."""
    out: dict[tuple[int, str], list[tuple[str, bool]]] = {}
    for patient_id, purpose, channel, enabled in ChannelPreference.objects.filter(
        patient_id__in=set(patient_ids), purpose__in=set(purposes)
    ).values_list("patient_id", "purpose", "channel", "enabled"):
        out.setdefault((patient_id, purpose), []).append((channel, enabled))
    return out


def preferences_of_many(patients: Iterable[Patient]) -> dict[int, ContactPreferences]:
    """``preferences_of`` for many patients in one query, keyed by patient id."""
    patients = list(patients)
    found = {
        prefs.patient_id: prefs
        for prefs in ContactPreferences.objects.filter(patient_id__in={p.pk for p in patients})
    }
    return {p.pk: found.get(p.pk) or ContactPreferences(patient=p) for p in patients}


def wanted_channels(patient: Patient, purpose: str) -> list[str]:
    """The channels the patient wants ``purpose`` on (her choices over the defaults), in-app first.

    Consent is *not* applied here: a wanted channel without consent is where a send is skipped
    and the skip recorded.
    """
    return wanted_from_choices(
        purpose,
        ChannelPreference.objects.filter(patient=patient, purpose=purpose).values_list(
            "channel", "enabled"
        ),
    )


def wanted_from_choices(purpose: str, choices: Iterable[tuple[str, bool]]) -> list[str]:
    """``wanted_channels`` from already loaded ``(channel, enabled)`` choices."""
    wanted = set(DEFAULT_CHANNELS.get(purpose, {Channel.IN_APP}))
    for channel, enabled in choices:
        if enabled:
            wanted.add(channel)
        else:
            wanted.discard(channel)
    wanted.add(Channel.IN_APP)
    order = [Channel.IN_APP, Channel.PUSH, Channel.SMS, Channel.EMAIL]
    return [channel for channel in order if channel in wanted]


def preferences_of(patient: Patient) -> ContactPreferences:
    """The patient's language, quiet hours and reminder time (defaults when never saved)."""
    found = ContactPreferences.objects.filter(patient=patient).first()
    return found or ContactPreferences(patient=patient)


def _zone(prefs: ContactPreferences) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(prefs.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("Europe/Rome")


def quiet_until(prefs: ContactPreferences, at: dt.datetime) -> dt.datetime | None:
    """If ``at`` falls in the patient's quiet hours, when they end (aware); otherwise None.

    Quiet hours may wrap midnight (21:00–08:00). Equal or missing bounds mean no quiet hours.
    """
    start, end = prefs.quiet_start, prefs.quiet_end
    if start is None or end is None or start == end:
        return None
    zone = _zone(prefs)
    local = at.astimezone(zone)
    now = local.time()
    if start < end:
        inside = start <= now < end
        end_day = local.date()
    else:  # wraps midnight
        inside = now >= start or now < end
        end_day = local.date() + dt.timedelta(days=1) if now >= start else local.date()
    if not inside:
        return None
    return dt.datetime.combine(end_day, end, tzinfo=zone)


def copy_delegations_of(patient_ids: Iterable[int]) -> dict[int, list[Delegation]]:
    """Each patient's active delegations whose caregiver wants copies (one query for all)."""
    out: dict[int, list[Delegation]] = {}
    for delegation in (
        Delegation.objects.active()
        .filter(patient_id__in=set(patient_ids), receives_copies=True)
        .select_related("caregiver__user")
        .order_by("pk")
    ):
        out.setdefault(delegation.patient_id, []).append(delegation)
    return out


def copies_still_wanted(delegation_ids: Iterable[int]) -> set[int]:
    """Of these delegations, those still active and still asking for copies (at send time)."""
    ids = set(delegation_ids)
    if not ids:
        return set()
    return set(
        Delegation.objects.active()
        .filter(pk__in=ids, receives_copies=True)
        .values_list("pk", flat=True)
    )
