"""Gamification: points for logging on time, streak badges, the per-program switch."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from psp_crm.errors import AccessDenied
from psp_crm.models import AuditEvent, BadgeAward, DiaryEntry, PointsAward
from psp_crm.selectors.diary import gamification_progress
from psp_crm.services.diary import diary_record
from psp_crm.services.gamification import gamification_set
from tests.factories import build_world, record_events


@pytest.fixture
def world(db):
    w = build_world()
    w.enrolment.status = "active"
    w.enrolment.save()
    return w


def log_dose(world, **kwargs):
    return diary_record(
        actor=world.patient_user,
        enrolment=world.enrolment,
        kind="dose",
        occurred_at=kwargs.pop("occurred_at", timezone.now() - dt.timedelta(minutes=5)),
        dose_status=kwargs.pop("dose_status", "taken"),
    )


def test_on_time_dose_earns_points_and_first_badge(world):
    log_dose(world)
    assert sorted(
        PointsAward.objects.filter(enrolment=world.enrolment).values_list("points", flat=True)
    ) == [2, 10]
    assert BadgeAward.objects.filter(enrolment=world.enrolment, code="first-entry").exists()
    log_dose(world)
    # The daily "diary kept" points come once a day.
    assert sorted(
        PointsAward.objects.filter(enrolment=world.enrolment).values_list("points", flat=True)
    ) == [2, 10, 10]


def test_a_missed_dose_is_not_punished(world):
    log_dose(world, dose_status="missed")
    assert list(
        PointsAward.objects.filter(enrolment=world.enrolment).values_list("points", flat=True)
    ) == [2]
    assert not PointsAward.objects.filter(enrolment=world.enrolment, points__lt=0).exists()


def test_seven_day_streak_badge(world):
    now = timezone.now()
    DiaryEntry.objects.bulk_create(
        DiaryEntry(
            enrolment=world.enrolment,
            kind="mood",
            mood=4,
            occurred_at=now - dt.timedelta(days=d),
        )
        for d in range(1, 7)
    )
    log_dose(world)
    assert BadgeAward.objects.filter(enrolment=world.enrolment, code="streak-7").exists()
    progress = gamification_progress(
        actor=world.patient_user, role="patient", enrolment_id=world.enrolment.pk
    )
    assert progress.enabled and progress.streak >= 7 and progress.points == 12
    assert progress.next_goal[0] == "Thirty days"


def test_switched_off_program_awards_nothing(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    pushed = record_events(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        gamification_set(actor=world.staff, program=world.program, enabled=False)
    assert AuditEvent.objects.filter(verb="program.gamification").exists()
    assert pushed[-1][1]["verb"] == "program.gamification_changed"
    world.enrolment.refresh_from_db()
    log_dose(world)
    assert not PointsAward.objects.filter(enrolment=world.enrolment).exists()
    assert not BadgeAward.objects.filter(enrolment=world.enrolment).exists()
    progress = gamification_progress(
        actor=world.patient_user, role="patient", enrolment_id=world.enrolment.pk
    )
    assert not progress.enabled


@pytest.mark.parametrize("who", ["patient_user", "doctor", "outsider_staff", "client"])
def test_switch_forbidden(world, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    with pytest.raises(AccessDenied):
        gamification_set(actor=actor, program=world.program, enabled=False)
    world.program.refresh_from_db()
    assert world.program.gamification_enabled
