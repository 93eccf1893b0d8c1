"""Diary services: record and correct entries; units, ranges, rights, history, audit, events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from psp_crm.errors import AccessDenied, DomainError
from psp_crm.models import AuditEvent, DiaryEntry, PointsAward
from psp_crm.selectors.diary import entry_history
from psp_crm.services.diary import diary_correct, diary_record
from tests.factories import build_world, record_events


@pytest.fixture
def world(db):
    w = build_world()
    w.enrolment.status = "active"
    w.enrolment.doses_per_week = 1
    w.enrolment.save()
    return w


@pytest.fixture
def pushed(monkeypatch):
    return record_events(monkeypatch)


def ago(**kwargs) -> dt.datetime:
    return timezone.now() - dt.timedelta(**kwargs)


def counts() -> tuple[int, int]:
    return DiaryEntry.objects.count(), AuditEvent.objects.count()


@pytest.mark.parametrize("who", ["patient_user", "caregiver_user"])
def test_record_dose(world, pushed, django_capture_on_commit_callbacks, who):
    actor = getattr(world, who)
    with django_capture_on_commit_callbacks(execute=True):
        entry = diary_record(
            actor=actor,
            enrolment=world.enrolment,
            kind="dose",
            occurred_at=ago(hours=1),
            dose_status="taken",
            injection_site="abdomen",
        )
    assert (entry.author, entry.source, entry.dose_status) == (actor, "web", "taken")
    audit = AuditEvent.objects.get(verb="diary.record", object_id=str(entry.pk))
    assert (audit.actor, audit.patient, audit.action) == (actor, world.patient, "create")
    assert pushed == [
        (
            [f"enrolment.{world.enrolment.pk}"],
            {"verb": "diary.recorded", "enrolment": world.enrolment.pk, "entry": entry.pk},
        )
    ]
    assert PointsAward.objects.filter(enrolment=world.enrolment, points=10).exists()


@pytest.mark.parametrize(
    "who", ["doctor", "nurse", "staff", "outsider_staff", "client", "outsider_doctor"]
)
def test_record_forbidden_writes_nothing(world, pushed, django_capture_on_commit_callbacks, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    before = counts()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AccessDenied):
        diary_record(
            actor=actor,
            enrolment=world.enrolment,
            kind="dose",
            occurred_at=ago(hours=1),
            dose_status="taken",
        )
    assert counts() == before
    assert pushed == []


def test_view_only_caregiver_may_not_log(world):
    world.delegation.can_log_diary = False
    world.delegation.save()
    before = counts()
    with pytest.raises(AccessDenied):
        diary_record(
            actor=world.caregiver_user,
            enrolment=world.enrolment,
            kind="mood",
            occurred_at=ago(hours=1),
            mood=4,
        )
    assert counts() == before


def test_revoked_caregiver_may_not_log(world):
    world.delegation.revoked_at = timezone.now()
    world.delegation.save()
    with pytest.raises(AccessDenied):
        diary_record(
            actor=world.caregiver_user,
            enrolment=world.enrolment,
            kind="mood",
            occurred_at=ago(hours=1),
            mood=4,
        )


@pytest.mark.parametrize(
    ("measurement", "value", "unit", "stored", "canonical"),
    [
        ("glucose", "5.5", "mmol/L", Decimal("99.09"), "mg/dL"),
        ("glucose", "110", "mg/dL", Decimal("110.00"), "mg/dL"),
        ("weight", "154", "lb", Decimal("69.85"), "kg"),
        ("temperature", "98.6", "°F", Decimal("37.00"), "°C"),
        ("heart_rate", "72", "", Decimal("72.00"), "bpm"),
    ],
)
def test_measurements_are_stored_in_canonical_units(
    world, measurement, value, unit, stored, canonical
):
    entry = diary_record(
        actor=world.patient_user,
        enrolment=world.enrolment,
        kind="measurement",
        occurred_at=ago(minutes=10),
        measurement=measurement,
        value=value,
        unit=unit,
    )
    assert (entry.value, entry.unit) == (stored, canonical)


def test_blood_pressure(world):
    entry = diary_record(
        actor=world.patient_user,
        enrolment=world.enrolment,
        kind="measurement",
        occurred_at=ago(minutes=10),
        measurement="blood_pressure",
        value="128",
        value_secondary="82",
        unit="mmHg",
    )
    assert (entry.value, entry.value_secondary) == (Decimal(128), Decimal(82))
    assert entry.summary == "128/82 mmHg"


@pytest.mark.parametrize(
    ("kind", "values", "field"),
    [
        ("measurement", {"measurement": "glucose", "value": "5", "unit": "g/L"}, "unit"),
        ("measurement", {"measurement": "glucose", "value": "900"}, "value"),
        ("measurement", {"measurement": "weight", "value": "abc"}, "value"),
        (
            "measurement",
            {"measurement": "blood_pressure", "value": "80", "value_secondary": "90"},
            "value_secondary",
        ),
        ("measurement", {"measurement": "blood_pressure", "value": "120"}, "value_secondary"),
        ("measurement", {"measurement": "height", "value": "170"}, "measurement"),
        ("symptom", {"symptom": "fatigue", "severity": 11}, "severity"),
        ("symptom", {"symptom": "hiccups", "severity": 3}, "symptom"),
        ("symptom", {"symptom": "other", "severity": 3}, "note"),
        ("mood", {"mood": 0}, "mood"),
        ("dose", {"dose_status": "maybe"}, "dose_status"),
        ("note", {"note": "  "}, "note"),
    ],
)
def test_bad_values_are_refused_with_field_messages(world, kind, values, field):
    before = counts()
    with pytest.raises(DomainError) as refused:
        diary_record(
            actor=world.patient_user,
            enrolment=world.enrolment,
            kind=kind,
            occurred_at=ago(minutes=10),
            **values,
        )
    assert field in refused.value.message_dict
    assert counts() == before


def test_a_dose_in_the_future_is_refused(world):
    with pytest.raises(DomainError) as refused:
        diary_record(
            actor=world.patient_user,
            enrolment=world.enrolment,
            kind="dose",
            occurred_at=timezone.now() + dt.timedelta(hours=3),
            dose_status="taken",
        )
    assert "occurred_at" in refused.value.message_dict


def test_an_entry_older_than_the_window_is_refused(world, settings):
    settings.PSP_DIARY_EDIT_WINDOW_DAYS = 3
    with pytest.raises(DomainError) as refused:
        diary_record(
            actor=world.patient_user,
            enrolment=world.enrolment,
            kind="mood",
            occurred_at=ago(days=4),
            mood=3,
        )
    assert "occurred_at" in refused.value.message_dict


def test_a_referred_enrolment_takes_no_entries(world):
    world.enrolment.status = "referred"
    world.enrolment.save()
    with pytest.raises(DomainError):
        diary_record(
            actor=world.patient_user,
            enrolment=world.enrolment,
            kind="mood",
            occurred_at=ago(hours=1),
            mood=3,
        )


def test_correction_keeps_history(world, pushed, django_capture_on_commit_callbacks):
    original = diary_record(
        actor=world.patient_user,
        enrolment=world.enrolment,
        kind="symptom",
        occurred_at=ago(hours=5),
        symptom="fatigue",
        severity=3,
    )
    with django_capture_on_commit_callbacks(execute=True):
        version = diary_correct(
            actor=world.caregiver_user, entry=original, reason="She said 6", severity=6
        )
    assert version.supersedes == original and version.severity == 6
    assert version.author == world.caregiver_user and version.correction_reason == "She said 6"
    original.refresh_from_db()
    assert original.severity == 3  # the old version is untouched
    assert [v.pk for v in entry_history(original)] == [version.pk, original.pk]
    audit = AuditEvent.objects.get(verb="diary.correct", object_id=str(version.pk))
    assert audit.detail["changed"] == {"severity": ["3", "6"]}
    assert audit.detail["supersedes"] == original.pk
    assert pushed[-1][1]["verb"] == "diary.corrected"


def test_only_the_latest_version_can_be_corrected(world):
    original = diary_record(
        actor=world.patient_user,
        enrolment=world.enrolment,
        kind="mood",
        occurred_at=ago(hours=5),
        mood=2,
    )
    diary_correct(actor=world.patient_user, entry=original, mood=3)
    with pytest.raises(DomainError):
        diary_correct(actor=world.patient_user, entry=original, mood=4)


def test_correction_outside_the_window_is_refused(world, settings):
    entry = diary_record(
        actor=world.patient_user,
        enrolment=world.enrolment,
        kind="mood",
        occurred_at=ago(days=2),
        mood=2,
    )
    settings.PSP_DIARY_EDIT_WINDOW_DAYS = 1
    before = counts()
    with pytest.raises(DomainError):
        diary_correct(actor=world.patient_user, entry=entry, mood=4)
    assert counts() == before


def test_correction_by_forbidden_actor_writes_nothing(world):
    entry = diary_record(
        actor=world.patient_user,
        enrolment=world.enrolment,
        kind="mood",
        occurred_at=ago(hours=2),
        mood=2,
    )
    before = counts()
    for actor in (world.doctor.user, world.nurse.user, world.outsider_staff):
        with pytest.raises(AccessDenied):
            diary_correct(actor=actor, entry=entry, mood=5)
    assert counts() == before


def test_a_correction_must_change_something_and_stay_valid(world):
    entry = diary_record(
        actor=world.patient_user,
        enrolment=world.enrolment,
        kind="mood",
        occurred_at=ago(hours=2),
        mood=2,
    )
    with pytest.raises(DomainError):
        diary_correct(actor=world.patient_user, entry=entry, mood=2)
    with pytest.raises(DomainError):
        diary_correct(actor=world.patient_user, entry=entry, mood=9)


def test_device_entries_cannot_be_corrected(world):
    entry = DiaryEntry.objects.create(
        enrolment=world.enrolment,
        kind="dose",
        dose_status="taken",
        occurred_at=ago(hours=1),
        source="device",
    )
    with pytest.raises(DomainError):
        diary_correct(actor=world.patient_user, entry=entry, dose_status="missed")
