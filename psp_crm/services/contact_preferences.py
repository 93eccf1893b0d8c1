"""Contact choices: channel consents, per-purpose channel preferences, language and quiet hours.

Who may change them: the patient herself, a caregiver acting for her under an active delegation,
and provider staff of her programs. The rules that *use* these choices at send time (consent,
preferences, quiet hours) live in ``psp_crm.messaging.policy``; withdrawal takes effect at once
because the policy reads the database at every send.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from .. import access
from ..errors import AccessDenied, DomainError
from ..events import enrolment_group, send_event_on_commit
from ..messaging import policy
from ..models import (
    Channel,
    ChannelPreference,
    Consent,
    ContactPreferences,
    Enrolment,
    Language,
    Patient,
    Purpose,
    User,
)
from .audit import audit_write

PORTAL_DOCUMENT_VERSION = "portal-2026"
DOCUMENT_VERSION_MAX = 20


def _manager_via(actor: User, patient: Patient) -> str | None:
    """Where a change by ``actor`` comes from, if she may manage the patient's contact choices.

    The patient or a caregiver with an active delegation (``can_act_for_patient``): her portal;
    provider staff of her programs (``can_manage_delegations``, the rule ``consents._may_record``
    applies too): staff. Anyone else: None.
    """
    if access.can_act_for_patient(actor, patient):
        return Consent.Via.PORTAL
    if access.can_manage_delegations(actor, patient):
        return Consent.Via.STAFF
    return None


def _may_manage(actor: User, patient: Patient) -> bool:
    """The patient, a caregiver with an active delegation for her, or her programs' staff."""
    return _manager_via(actor, patient) is not None


def _require_manager(actor: User, patient: Patient) -> str:
    """``_manager_via`` or AccessDenied."""
    via = _manager_via(actor, patient)
    if via is None:
        raise AccessDenied(
            "Only the patient, a caregiver acting for her or her program's staff may change "
            "how she is contacted."
        )
    return via


def _groups(patient: Patient) -> list[str]:
    ids = Enrolment.objects.filter(patient=patient).values_list("pk", flat=True)
    return [enrolment_group(pk) for pk in ids]


def consent_kind_for(channel: str) -> str:
    """The consent kind ``channel`` needs (sms, email, push, phone); DomainError otherwise."""
    if channel == Channel.IN_APP:
        raise DomainError({"channel": "In-app messages need no consent: they are always on."})
    kind = policy.CONSENT_FOR_CHANNEL.get(channel)
    if kind is None:
        choices = ", ".join(str(c) for c in policy.CONSENT_FOR_CHANNEL)
        raise DomainError({"channel": f"Unknown channel “{channel}”: use one of {choices}."})
    return kind


@transaction.atomic
def channel_consent_set(
    *,
    actor: User,
    patient: Patient,
    channel: str,
    given: bool,
    document_version: str = PORTAL_DOCUMENT_VERSION,
    via: str | None = None,
) -> Consent | None:
    """Give or withdraw the consent to be contacted on ``channel``; withdrawal is immediate.

    Giving creates a consent only when none is in force (and returns the one in force);
    withdrawing stamps every consent in force of that kind at once and returns None. ``via``
    says where (the app); by default the portal for the patient or her caregiver, else staff.
    """
    manager_via = _require_manager(actor, patient)
    kind = consent_kind_for(channel)
    if via is not None and via not in Consent.Via.values:
        raise DomainError({"via": f"Unknown origin “{via}”."})
    via = via or manager_via
    if not given:
        _withdraw(actor=actor, patient=patient, kind=kind, channel=channel, via=via)
        return None
    version = (document_version or "").strip()
    if not version:
        raise DomainError({"document_version": "Give the version of the consent document."})
    if len(version) > DOCUMENT_VERSION_MAX:
        limit = f"Keep the document version under {DOCUMENT_VERSION_MAX} characters."
        raise DomainError({"document_version": limit})
    current = (
        Consent.objects.select_for_update()
        .filter(patient=patient, kind=kind, withdrawn_at__isnull=True)
        .order_by("-given_at", "-pk")
        .first()
    )
    if current is not None:
        return current  # already given: nothing to record
    consent = Consent.objects.create(
        patient=patient, kind=kind, document_version=version, recorded_by=actor, given_via=via
    )
    audit_write(
        actor=actor,
        action="create",
        verb="consent.record",
        obj=consent,
        patient=patient,
        detail={"channel": channel, "via": via},
    )
    send_event_on_commit(
        "consent.given", groups=_groups(patient), patient=patient.pk, consent=consent.pk
    )
    return consent


def _withdraw(
    *,
    actor: User | None,
    patient: Patient,
    kind: str,
    channel: str,
    via: str,
    detail: dict | None = None,
) -> list[Consent]:
    """Stamp every consent of ``kind`` in force as withdrawn now (by whom, via what); audited.

    Returns the consents withdrawn (none when nothing was in force: withdrawing twice is a no-op).
    """
    withdrawn = list(
        Consent.objects.select_for_update().filter(
            patient=patient, kind=kind, withdrawn_at__isnull=True
        )
    )
    if not withdrawn:
        return []
    now = timezone.now()
    Consent.objects.filter(pk__in=[c.pk for c in withdrawn]).update(
        withdrawn_at=now, withdrawn_by=actor, withdrawn_via=via
    )
    for consent in withdrawn:
        consent.withdrawn_at, consent.withdrawn_by, consent.withdrawn_via = now, actor, via
        audit_write(
            actor=actor,
            action="update",
            verb="consent.withdraw",
            obj=consent,
            patient=patient,
            detail={"channel": channel, "via": via, **(detail or {})},
        )
    send_event_on_commit(
        "consent.withdrawn",
        groups=_groups(patient),
        patient=patient.pk,
        consent=withdrawn[0].pk,
    )
    return withdrawn


@transaction.atomic
def channel_consent_withdraw_on_call(*, actor: User, patient: Patient, channel: str) -> int:
    """The patient asked on a call not to be contacted on ``channel`` any more: withdraw it now.

    For the counsellor (or nurse) talking to her, besides everyone who manages her choices.
    Staff may only withdraw on her behalf: giving a consent needs the patient (or her caregiver)
    in the portal, or provider staff with the signed document. Returns the consents withdrawn.
    """
    if not (access.takes_calls_for(actor, patient) or _may_manage(actor, patient)):
        raise AccessDenied("Only staff who may open the patient's record may record her request.")
    kind = consent_kind_for(channel)
    withdrawn = _withdraw(
        actor=actor, patient=patient, kind=kind, channel=channel, via=Consent.Via.CONTACT_CENTRE
    )
    return len(withdrawn)


def channel_consent_withdraw_by_sms(*, patient: Patient, inbound_sms_id: int) -> int:
    """The patient replied STOP by SMS: her SMS consent is withdrawn at once (the system acts)."""
    withdrawn = _withdraw(
        actor=None,
        patient=patient,
        kind=Consent.Kind.CHANNEL_SMS,
        channel=Channel.SMS,
        via=Consent.Via.SMS,
        detail={"inbound_sms": inbound_sms_id},
    )
    return len(withdrawn)


@transaction.atomic
def channel_preference_set(
    *, actor: User, patient: Patient, purpose: str, channel: str, enabled: bool
) -> ChannelPreference:
    """Say whether the patient wants messages of ``purpose`` on ``channel`` (SMS, e-mail, push).

    In-app messages cannot be switched off. A wanted channel without consent is allowed: the
    send is then skipped and the skip recorded (``policy``).
    """
    _require_manager(actor, patient)
    errors: dict[str, str] = {}
    if purpose not in Purpose.values:
        errors["purpose"] = f"Unknown purpose: use one of {', '.join(Purpose.values)}."
    if channel == Channel.IN_APP:
        errors["channel"] = "In-app messages are always on and cannot be switched off."
    elif channel not in policy.SWITCHABLE_CHANNELS:
        choices = ", ".join(str(c) for c in policy.SWITCHABLE_CHANNELS)
        errors["channel"] = f"Unknown channel “{channel}”: use one of {choices}."
    if errors:
        raise DomainError(errors)
    enabled = bool(enabled)
    existing = (
        ChannelPreference.objects.select_for_update()
        .filter(patient=patient, purpose=purpose, channel=channel)
        .first()
    )
    if existing is not None and existing.enabled == enabled:
        return existing
    before = existing.enabled if existing is not None else None
    preference, _created = ChannelPreference.objects.update_or_create(
        patient=patient,
        purpose=purpose,
        channel=channel,
        defaults={"enabled": enabled, "updated_at": timezone.now(), "updated_by": actor},
    )
    audit_write(
        actor=actor,
        action="update",
        verb="channel_preference.set",
        obj=preference,
        patient=patient,
        detail={"purpose": purpose, "channel": channel, "before": before, "after": enabled},
    )
    send_event_on_commit("preferences.changed", groups=_groups(patient), patient=patient.pk)
    return preference


def _check_time(errors: dict[str, str], field: str, value: object, *, required: bool) -> None:
    if value is None:
        if required:
            errors[field] = "Give a time."
    elif not isinstance(value, dt.time):
        errors[field] = "Give a time of day (hours and minutes)."


def contact_preferences_errors(
    *,
    language: object,
    quiet_start: object,
    quiet_end: object,
    reminder_time: object,
) -> dict[str, str]:
    """What is wrong with these contact choices, by field (empty when they may be saved).

    ``contact_preferences_update`` refuses with these; the admin's form shows them on its fields
    before saving.
    """
    errors: dict[str, str] = {}
    if language not in Language.values:
        errors["language"] = f"Unknown language: use one of {', '.join(Language.values)}."
    _check_time(errors, "quiet_start", quiet_start, required=False)
    _check_time(errors, "quiet_end", quiet_end, required=False)
    _check_time(errors, "reminder_time", reminder_time, required=True)
    if errors:
        return errors
    if (quiet_start is None) != (quiet_end is None):
        missing = "quiet_end" if quiet_end is None else "quiet_start"
        errors[missing] = "Give both the start and the end of the quiet hours, or neither."
    elif quiet_start is not None and quiet_start == quiet_end:
        errors["quiet_end"] = "The quiet hours must end at another time than they start."
    elif _within(reminder_time, quiet_start, quiet_end):  # type: ignore[arg-type]
        # A reminder in the quiet hours would only leave when they end.
        errors["reminder_time"] = "Choose a reminder time outside the quiet hours."
    return errors


@transaction.atomic
def contact_preferences_update(
    *,
    actor: User,
    patient: Patient,
    language: str,
    quiet_start: dt.time | None,
    quiet_end: dt.time | None,
    reminder_time: dt.time,
) -> ContactPreferences:
    """Set the patient's language, quiet hours (both bounds, or none) and dose-reminder time.

    Besides those who manage her choices, the counsellor (or nurse) she asks on a call may change
    them: they are how and when she is reached, not what she agreed to.
    """
    via = _manager_via(actor, patient)
    if via is None and access.takes_calls_for(actor, patient):
        via = Consent.Via.CONTACT_CENTRE
    if via is None:
        raise AccessDenied(
            "Only the patient, a caregiver acting for her, her program's staff or a counsellor "
            "she calls may change when and in which language she is contacted."
        )
    errors = contact_preferences_errors(
        language=language, quiet_start=quiet_start, quiet_end=quiet_end, reminder_time=reminder_time
    )
    if errors:
        raise DomainError(errors)
    prefs = ContactPreferences.objects.select_for_update().filter(patient=patient).first()
    if prefs is None:
        prefs = ContactPreferences(patient=patient)
    before = {
        "language": prefs.language,
        "quiet_start": _hhmm(prefs.quiet_start),
        "quiet_end": _hhmm(prefs.quiet_end),
        "reminder_time": _hhmm(prefs.reminder_time),
    }
    prefs.language = language
    prefs.quiet_start = quiet_start
    prefs.quiet_end = quiet_end
    prefs.reminder_time = reminder_time
    prefs.updated_at = timezone.now()
    prefs.updated_by = actor
    prefs.save()
    after = {
        "language": language,
        "quiet_start": _hhmm(quiet_start),
        "quiet_end": _hhmm(quiet_end),
        "reminder_time": _hhmm(reminder_time),
    }
    audit_write(
        actor=actor,
        action="update",
        verb="contact_preferences.update",
        obj=prefs,
        patient=patient,
        detail={"before": before, "after": after, "via": via},
    )
    send_event_on_commit("preferences.changed", groups=_groups(patient), patient=patient.pk)
    return prefs


def _within(at: dt.time, start: dt.time | None, end: dt.time | None) -> bool:
    """Whether ``at`` falls in the quiet hours ``start``–``end`` (which may wrap midnight)."""
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end


def _hhmm(value: dt.time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None
