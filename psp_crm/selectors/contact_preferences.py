"""What a patient agreed to be contacted on and for what: the reads of the preferences page."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import access
from ..errors import NotFound
from ..messaging import policy
from ..models import (
    Channel,
    ChannelPreference,
    Consent,
    ContactPreferences,
    Delegation,
    Patient,
    Purpose,
    User,
)
from ..services.contact_preferences import _may_manage

# The channels a consent is asked for, in the order the page shows them.
CONSENT_CHANNELS: tuple[tuple[str, object], ...] = (
    (Channel.SMS, Channel.SMS.label),
    (Channel.EMAIL, Channel.EMAIL.label),
    (Channel.PUSH, gettext_lazy("Push notifications")),
    ("phone", gettext_lazy("Phone calls")),
)


@dataclass(frozen=True)
class ChannelConsent:
    """One channel's consent: the one in force, or the latest withdrawn (or none ever given)."""

    channel: str
    label: object
    current: Consent | None
    last_withdrawn: Consent | None

    @property
    def given(self) -> bool:
        return self.current is not None


@dataclass(frozen=True)
class PreferenceCell:
    channel: str
    wanted: bool
    consented: bool


@dataclass(frozen=True)
class PreferenceRow:
    purpose: str
    label: object
    cells: list[PreferenceCell]


@dataclass(frozen=True)
class ContactChoices:
    """Consents per channel, the purpose × channel grid and the language/quiet-hours settings."""

    patient: Patient
    consents: list[ChannelConsent]
    grid: list[PreferenceRow]
    preferences: ContactPreferences
    consented: frozenset[str]


def _channel_consents(patient: Patient) -> tuple[list[ChannelConsent], dict[str, Consent]]:
    """Each consent channel's state (in force, last withdrawn), and the consents in force."""
    kinds = {kind: channel for channel, kind in policy.CONSENT_FOR_CHANNEL.items()}
    current: dict[str, Consent] = {}
    withdrawn: dict[str, Consent] = {}
    for consent in Consent.objects.filter(patient=patient, kind__in=kinds).order_by(
        "-given_at", "-pk"
    ):
        channel = kinds[consent.kind]
        if consent.withdrawn_at is None:
            current.setdefault(channel, consent)
        elif channel not in withdrawn or consent.withdrawn_at > withdrawn[channel].withdrawn_at:
            withdrawn[channel] = consent
    consents = [
        ChannelConsent(channel, label, current.get(channel), withdrawn.get(channel))
        for channel, label in CONSENT_CHANNELS
    ]
    return consents, current


@dataclass(frozen=True)
class ContactOnCall:
    """What the counsellor (or nurse) on the patient's record reads to her on a call."""

    consents: list[ChannelConsent]
    settings: ContactPreferences  # language, quiet hours, reminder time (defaults if never saved)


def contact_on_call(*, actor: User, patient: Patient) -> ContactOnCall:
    """Her channel consents and contact settings, for whoever may open her timeline in the
    operator portal; anyone else gets the 404."""
    if not access.takes_calls_for(actor, patient):
        raise NotFound(_("No such patient."))
    return ContactOnCall(
        consents=_channel_consents(patient)[0], settings=policy.preferences_of(patient)
    )


def contact_choices(*, actor: User, patient: Patient) -> ContactChoices:
    """The patient's contact choices, for whoever may manage them; anyone else gets the 404."""
    if not _may_manage(actor, patient):
        raise NotFound(_("No such patient."))
    consents, current = _channel_consents(patient)
    consented = frozenset({*current, Channel.IN_APP})
    # The defaults of the policy, overridden by the patient's own rows (one query for all).
    chosen = {
        (purpose, channel): enabled
        for purpose, channel, enabled in ChannelPreference.objects.filter(
            patient=patient
        ).values_list("purpose", "channel", "enabled")
    }
    grid = []
    for purpose, label in Purpose.choices:
        defaults = policy.DEFAULT_CHANNELS.get(purpose, frozenset())
        cells = [
            PreferenceCell(
                channel,
                chosen.get((purpose, channel), channel in defaults),
                channel in consented,
            )
            for channel in policy.SWITCHABLE_CHANNELS
        ]
        grid.append(PreferenceRow(purpose, label, cells))
    return ContactChoices(
        patient=patient,
        consents=consents,
        grid=grid,
        preferences=policy.preferences_of(patient),
        consented=consented,
    )


@dataclass(frozen=True)
class CopyChoices:
    """Caregivers' e-mail copies: the viewer's own delegation (a caregiver) and, for the patient
    or staff, every caregiver in force with whether she gets copies."""

    mine: Delegation | None
    caregivers: list[Delegation]


def copy_choices(*, actor: User, patient: Patient) -> CopyChoices:
    """Who gets copies of the patient's reminders; anyone who may not manage her gets the 404."""
    if not _may_manage(actor, patient):
        raise NotFound(_("No such patient."))
    active = Delegation.objects.active().filter(patient=patient).select_related("caregiver__user")
    mine = active.filter(caregiver__user=actor).first()
    caregivers = [] if mine is not None else list(active.order_by("pk"))
    return CopyChoices(mine=mine, caregivers=caregivers)
