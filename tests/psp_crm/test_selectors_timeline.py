"""The timeline selector: every source merged newest first, scoped, bounded."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from psp_crm.errors import NotFound
from psp_crm.models import Activity
from psp_crm.selectors.timeline import find_patients, patient_timeline
from psp_crm.services.interactions import interaction_log
from tests.factories import (
    ActivityFactory,
    DeviceEventFactory,
    DeviceFactory,
    DiaryEntryFactory,
    ReportFactory,
    build_world,
)


@pytest.fixture
def world(db):
    world = build_world()
    now = timezone.now()
    DiaryEntryFactory(enrolment=world.enrolment, occurred_at=now - dt.timedelta(hours=5))
    DiaryEntryFactory(
        enrolment=world.enrolment, source="device", occurred_at=now - dt.timedelta(hours=4)
    )
    ActivityFactory(
        enrolment=world.enrolment,
        status=Activity.Status.DONE,
        scheduled_start=now - dt.timedelta(hours=3, minutes=30),
        scheduled_end=now - dt.timedelta(hours=3),
        completed_at=now - dt.timedelta(hours=3),
    )
    ActivityFactory(
        enrolment=world.enrolment,
        status=Activity.Status.PLANNED,  # not a touchpoint yet
        scheduled_start=now + dt.timedelta(days=1),
        scheduled_end=now + dt.timedelta(days=1, hours=1),
    )
    report = ReportFactory(enrolment=world.enrolment, subject="Tired")
    report.created_at = now - dt.timedelta(hours=2)
    report.save()
    device = DeviceFactory(enrolment=world.enrolment)
    DeviceEventFactory(device=device, occurred_at=now - dt.timedelta(hours=1))
    interaction_log(
        actor=world.counsellor.user,
        patient=world.patient,
        channel="phone",
        direction="in",
        summary="Called.",
    )
    return world


def test_every_source_newest_first(world):
    timeline = patient_timeline(actor=world.counsellor.user, role="operator", patient=world.patient)
    kinds = [item.kind for item in timeline.items]
    assert kinds == ["interaction", "device", "report", "activity", "diary", "diary"]
    assert [item.channel for item in timeline.items][-2:] == ["device", "web"]
    assert not timeline.has_next


def test_channel_filter_and_paging(world):
    actor = world.counsellor.user
    timeline = patient_timeline(
        actor=actor, role="operator", patient=world.patient, channels=["device"]
    )
    assert [item.kind for item in timeline.items] == ["device", "diary"]
    first = patient_timeline(actor=actor, role="operator", patient=world.patient, per_page=4)
    second = patient_timeline(
        actor=actor, role="operator", patient=world.patient, per_page=4, page=2
    )
    assert first.has_next and not second.has_next
    assert len(first.items) == 4 and len(second.items) == 2


def test_query_count_does_not_grow_with_history(world, django_assert_max_num_queries):
    for _ in range(30):
        DiaryEntryFactory(enrolment=world.enrolment)
    with django_assert_max_num_queries(20):
        patient_timeline(actor=world.counsellor.user, role="operator", patient=world.patient)


@pytest.mark.parametrize(
    ("who", "role"),
    [("driver", "operator"), ("client", "client"), ("outsider_doctor", "doctor")],
)
def test_who_may_not_see_gets_not_found(world, who, role):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    with pytest.raises(NotFound):
        patient_timeline(actor=actor, role=role, patient=world.patient)


def test_find_patients_is_scoped(world):
    world.patient.phone = "+39 02 1234 5678"
    world.patient.save()
    world.other_patient.phone = "02 1234 5678"
    world.other_patient.save()
    found = find_patients(actor=world.counsellor.user, role="operator", query="0212345678")
    assert [m.patient for m in found] == [world.patient]
    assert find_patients(actor=world.driver.user, role="operator", query="0212345678") == []
