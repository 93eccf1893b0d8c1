"""Diary writes: a patient (or a caregiver with the right) records and corrects diary entries.

Values arrive in the unit the person used and are stored in the canonical unit of the
measurement (``DiaryEntry.CANONICAL_UNITS``) after a plausibility check. A correction never
overwrites: it writes a new version that ``supersedes`` the old one (who, when, what changed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import access
from ..errors import AccessDenied, DomainError
from ..events import enrolment_group, send_event_on_commit
from ..models import DiaryEntry, Enrolment, User
from ..models.diary import symptoms_for_pathology
from ..tasks_analytics import refresh_adherence_on_commit
from .audit import audit_write

# The fields a diary entry's author may set (besides ``occurred_at``).
VALUE_FIELDS = (
    "dose_status",
    "injection_site",
    "symptom",
    "severity",
    "measurement",
    "value",
    "value_secondary",
    "unit",
    "mood",
    "note",
)
# Sources a patient or caregiver may claim; devices and nurses write through their own paths.
PERSON_SOURCES = frozenset({DiaryEntry.Source.WEB, DiaryEntry.Source.APP})
# Enrolments in these statuses accept diary entries.
DIARY_STATUSES = frozenset({"consented", "active", "suspended"})
FUTURE_TOLERANCE = dt.timedelta(minutes=5)  # a phone's clock may run a little ahead

# Units accepted per measurement: unit → conversion to the canonical unit.
UNIT_CONVERSIONS: dict[str, dict[str, Callable[[Decimal], Decimal]]] = {
    "blood_pressure": {"mmHg": lambda v: v, "kPa": lambda v: v * Decimal("7.50062")},
    "glucose": {"mg/dL": lambda v: v, "mmol/L": lambda v: v * Decimal("18.016")},
    "weight": {"kg": lambda v: v, "lb": lambda v: v * Decimal("0.45359237")},
    "temperature": {"°C": lambda v: v, "°F": lambda v: (v - 32) * 5 / 9},
    "heart_rate": {"bpm": lambda v: v},
}
UNIT_ALIASES = {"C": "°C", "F": "°F", "mmhg": "mmHg", "mg/dl": "mg/dL", "mmol/l": "mmol/L"}
# Plausible ranges in canonical units (inclusive); outside them a typo is far likelier than truth.
PLAUSIBLE_RANGES: dict[str, tuple[Decimal, Decimal]] = {
    "blood_pressure": (Decimal(50), Decimal(260)),  # systolic
    "blood_pressure_diastolic": (Decimal(30), Decimal(180)),
    "glucose": (Decimal(20), Decimal(700)),
    "weight": (Decimal(1), Decimal(400)),
    "temperature": (Decimal(30), Decimal(45)),
    "heart_rate": (Decimal(20), Decimal(250)),
}
CENTS = Decimal("0.01")


def units_for(measurement: str) -> list[str]:
    """The units a person may enter a measurement in (the canonical one first)."""
    return list(UNIT_CONVERSIONS.get(measurement, {}))


def edit_window() -> dt.timedelta:
    return dt.timedelta(days=settings.PSP_DIARY_EDIT_WINDOW_DAYS)


def is_editable(entry: DiaryEntry, *, now: dt.datetime | None = None) -> bool:
    """A person-entered entry that happened inside the edit window (callers pass the current
    version; ``diary_correct`` refuses superseded ones)."""
    now = now or timezone.now()
    return entry.source in PERSON_SOURCES and entry.occurred_at >= now - edit_window()


# --- validation -----------------------------------------------------------------------------


def _decimal(raw: Any, field: str, errors: dict[str, str]) -> Decimal | None:
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(str(raw).replace(",", "."))
    except InvalidOperation:
        errors[field] = "Enter a number."
        return None
    if not value.is_finite():
        errors[field] = "Enter a number."
        return None
    return value


def _int(raw: Any, field: str, errors: dict[str, str]) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        errors[field] = "Enter a whole number."
        return None


def clean_entry(
    *, enrolment: Enrolment, kind: str, occurred_at: dt.datetime | None, values: dict[str, Any]
) -> dict[str, Any]:
    """Validate and normalize an entry's values; raise DomainError with per-field messages."""
    errors: dict[str, str] = {}
    unknown = set(values) - set(VALUE_FIELDS)
    if unknown:
        raise DomainError({"non_field_errors": f"Unknown fields: {', '.join(sorted(unknown))}."})
    if kind not in DiaryEntry.Kind.values:
        raise DomainError({"kind": "Choose dose, symptom, measurement, mood or note."})
    now = timezone.now()
    if occurred_at is None:
        errors["occurred_at"] = "Say when it happened."
    elif timezone.is_naive(occurred_at):
        errors["occurred_at"] = "Give a date and time with its time zone."
    elif occurred_at > now + FUTURE_TOLERANCE:
        errors["occurred_at"] = "This is in the future: log what already happened."
    elif occurred_at < now - edit_window():
        days = settings.PSP_DIARY_EDIT_WINDOW_DAYS
        errors["occurred_at"] = f"Entries older than {days} days can no longer be added."
    clean: dict[str, Any] = {field: "" for field in VALUE_FIELDS}
    clean.update(severity=None, value=None, value_secondary=None, mood=None)
    clean["note"] = str(values.get("note") or "").strip()[:2000]

    if kind == DiaryEntry.Kind.DOSE:
        status = values.get("dose_status") or ""
        if status not in DiaryEntry.DoseStatus.values:
            errors["dose_status"] = "Choose taken, taken late or missed."
        clean["dose_status"] = status
        clean["injection_site"] = str(values.get("injection_site") or "").strip()[:50]
    elif kind == DiaryEntry.Kind.SYMPTOM:
        symptom = str(values.get("symptom") or "").strip().lower()
        choices = symptoms_for_pathology(enrolment.program.pathology)
        if symptom not in choices:
            errors["symptom"] = "Choose a symptom from the list."
        severity = _int(values.get("severity"), "severity", errors)
        if severity is None:
            errors.setdefault("severity", "Give a severity from 0 to 10.")
        elif not 0 <= severity <= 10:
            errors["severity"] = "Severity goes from 0 (none) to 10 (worst)."
        if symptom == "other" and not clean["note"]:
            errors["note"] = "Describe the symptom in the note."
        clean.update(symptom=symptom, severity=severity)
    elif kind == DiaryEntry.Kind.MEASUREMENT:
        _clean_measurement(values, clean, errors)
    elif kind == DiaryEntry.Kind.MOOD:
        mood = _int(values.get("mood"), "mood", errors)
        if mood is None:
            errors.setdefault("mood", "Give your mood from 1 to 5.")
        elif not 1 <= mood <= 5:
            errors["mood"] = "Mood goes from 1 (very low) to 5 (very good)."
        clean["mood"] = mood
    elif kind == DiaryEntry.Kind.NOTE and not clean["note"]:
        errors["note"] = "Write the note."
    if errors:
        raise DomainError(errors)
    return clean


def _clean_measurement(values: dict[str, Any], clean: dict[str, Any], errors: dict) -> None:
    measurement = values.get("measurement") or ""
    if measurement not in UNIT_CONVERSIONS:
        errors["measurement"] = "Choose what you measured."
        return
    clean["measurement"] = measurement
    unit = str(values.get("unit") or "").strip() or units_for(measurement)[0]
    unit = UNIT_ALIASES.get(unit, unit)
    convert = UNIT_CONVERSIONS[measurement].get(unit)
    if convert is None:
        errors["unit"] = f"Use one of: {', '.join(units_for(measurement))}."
        return
    value = _decimal(values.get("value"), "value", errors)
    if value is None:
        errors.setdefault("value", "Enter the value.")
        return
    canonical = convert(value).quantize(CENTS, rounding=ROUND_HALF_UP)
    low, high = PLAUSIBLE_RANGES[measurement]
    canonical_unit = DiaryEntry.CANONICAL_UNITS[measurement]
    if not low <= canonical <= high:
        errors["value"] = (
            f"This value is not plausible (expected {low}–{high} {canonical_unit}); "
            "check it and the unit."
        )
    clean.update(value=canonical, unit=canonical_unit)
    if measurement == DiaryEntry.Measurement.BLOOD_PRESSURE:
        diastolic = _decimal(values.get("value_secondary"), "value_secondary", errors)
        if diastolic is None:
            errors.setdefault("value_secondary", "Enter the diastolic (lower) value.")
            return
        diastolic = convert(diastolic).quantize(CENTS, rounding=ROUND_HALF_UP)
        low, high = PLAUSIBLE_RANGES["blood_pressure_diastolic"]
        if not low <= diastolic <= high:
            errors["value_secondary"] = (
                f"This value is not plausible (expected {low}–{high} mmHg); check it."
            )
        elif "value" not in errors and canonical <= diastolic:
            errors["value_secondary"] = "The diastolic value must be lower than the systolic."
        clean["value_secondary"] = diastolic


# --- access ---------------------------------------------------------------------------------


def _require_may_log(actor: User, enrolment: Enrolment) -> None:
    if not access.can_act_for_patient(actor, enrolment.patient, "can_log_diary"):
        raise AccessDenied("You may not write in this patient's diary.")
    if not access.enrolments_for(actor).filter(pk=enrolment.pk).exists():
        raise AccessDenied("You may not write in this patient's diary.")


def _emit(verb: str, entry: DiaryEntry) -> None:
    # Doses move adherence: keep the enrolment's snapshot current after commit.
    if entry.kind == DiaryEntry.Kind.DOSE:
        refresh_adherence_on_commit([entry.enrolment_id])
    send_event_on_commit(
        verb,
        groups=[enrolment_group(entry.enrolment_id)],
        enrolment=entry.enrolment_id,
        entry=entry.pk,
    )


# --- writes ---------------------------------------------------------------------------------


@transaction.atomic
def diary_record(
    *,
    actor: User,
    enrolment: Enrolment,
    kind: str,
    occurred_at: dt.datetime | None,
    source: str = DiaryEntry.Source.WEB,
    **values: Any,
) -> DiaryEntry:
    """Record a diary entry for a patient (herself, or as a caregiver who may log the diary)."""
    _require_may_log(actor, enrolment)
    if enrolment.status not in DIARY_STATUSES:
        raise DomainError({"enrolment": "This program participation is not active."})
    if source not in PERSON_SOURCES:
        raise DomainError({"source": "Entries from here come from the web or the app."})
    clean = clean_entry(enrolment=enrolment, kind=kind, occurred_at=occurred_at, values=values)
    entry = DiaryEntry.objects.create(
        enrolment=enrolment,
        kind=kind,
        occurred_at=occurred_at,
        recorded_at=timezone.now(),
        author=actor,
        source=source,
        **clean,
    )
    audit_write(
        actor=actor,
        action="create",
        verb="diary.record",
        obj=entry,
        patient=enrolment.patient,
        detail={"kind": kind, "source": source},
    )
    from .gamification import gamification_award_for_entry

    gamification_award_for_entry(entry=entry)
    _emit("diary.recorded", entry)
    return entry


def _as_text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return "" if value is None else str(value)


@transaction.atomic
def diary_correct(
    *,
    actor: User,
    entry: DiaryEntry,
    reason: str = "",
    source: str = DiaryEntry.Source.WEB,
    **changes: Any,
) -> DiaryEntry:
    """Correct an entry: a new version supersedes it, the old one stays as history."""
    entry = (
        DiaryEntry.objects.select_for_update().select_related("enrolment__program").get(pk=entry.pk)
    )
    enrolment = entry.enrolment
    _require_may_log(actor, enrolment)
    if DiaryEntry.objects.filter(supersedes=entry).exists():
        raise DomainError("This entry was already corrected: correct its latest version.")
    if entry.source not in PERSON_SOURCES:
        raise DomainError("Entries recorded by a device or a nurse cannot be corrected here.")
    if entry.occurred_at < timezone.now() - edit_window():
        days = settings.PSP_DIARY_EDIT_WINDOW_DAYS
        raise DomainError(f"Entries older than {days} days are read-only.")
    if source not in PERSON_SOURCES:
        raise DomainError({"source": "Corrections come from the web or the app."})
    occurred_at = changes.pop("occurred_at", None) or entry.occurred_at
    merged = {field: getattr(entry, field) for field in VALUE_FIELDS}
    merged.update(changes)
    clean = clean_entry(
        enrolment=enrolment, kind=entry.kind, occurred_at=occurred_at, values=merged
    )
    changed = {
        field: [_as_text(getattr(entry, field)), _as_text(clean[field])]
        for field in VALUE_FIELDS
        if _as_text(getattr(entry, field)) != _as_text(clean[field])
    }
    if occurred_at != entry.occurred_at:
        changed["occurred_at"] = [_as_text(entry.occurred_at), _as_text(occurred_at)]
    if not changed:
        raise DomainError("Nothing changed: there is nothing to correct.")
    version = DiaryEntry.objects.create(
        enrolment=enrolment,
        kind=entry.kind,
        occurred_at=occurred_at,
        recorded_at=timezone.now(),
        author=actor,
        source=source,
        supersedes=entry,
        correction_reason=reason.strip()[:200],
        **clean,
    )
    audit_write(
        actor=actor,
        action="update",
        verb="diary.correct",
        obj=version,
        patient=enrolment.patient,
        detail={"supersedes": entry.pk, "changed": changed, "reason": version.correction_reason},
    )
    _emit("diary.corrected", version)
    return version
