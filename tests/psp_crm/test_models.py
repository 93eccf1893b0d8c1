"""Model hygiene (docstrings, __str__) and the invariants the database itself enforces."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from psp_crm import access
from psp_crm.models import (
    AdherenceSnapshot,
    AuditEvent,
    BadgeAward,
    CallScript,
    CarePathwayStep,
    Case,
    ChannelPreference,
    ContactPreferences,
    DiaryEntry,
    DoctorNote,
    Enrolment,
    EnrolmentGroupObjectPermission,
    EnrolmentSchedule,
    InboundSms,
    Interaction,
    Message,
    MessageTemplate,
    OperatorAbsence,
    PointsAward,
    ProgramAnalyticsSettings,
    ProgramTemplate,
    ReportAttachment,
    ReportReceipt,
    RiskModelVersion,
)
from tests.factories import (
    ActivityFactory,
    AdverseEventFactory,
    CarePathwayStepFactory,
    ConsentFactory,
    DelegationFactory,
    DeviceEventFactory,
    DeviceFactory,
    DiaryEntryFactory,
    EnrolmentFactory,
    ProductFactory,
    ProgramFactory,
    ReportFactory,
    ServiceModuleFactory,
    build_world,
)

MODELS = list(apps.get_app_config("psp_crm").get_models())


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def every_model(world, settings, tmp_path):
    """At least one saved row of every model of the domain."""
    settings.MEDIA_ROOT = tmp_path
    ProductFactory()
    template = ProgramTemplate.objects.create(name="Factory template", pathology="psoriasis")
    CarePathwayStep.objects.create(template=template, module=ServiceModuleFactory())
    CarePathwayStepFactory(program=world.program)
    ConsentFactory(patient=world.patient, enrolment=world.enrolment)
    ActivityFactory(enrolment=world.enrolment, assignee=world.nurse)
    for kind in DiaryEntry.Kind.values:
        DiaryEntryFactory(
            enrolment=world.enrolment,
            kind=kind,
            dose_status="taken" if kind == "dose" else "",
            symptom="fatigue",
            severity=4,
            measurement="blood_pressure",
            value=Decimal("128"),
            value_secondary=Decimal("82"),
            unit="mmHg",
            mood=3,
            note="ok",
        )
    report = ReportFactory(enrolment=world.enrolment, author=world.patient_user)
    attachment = ReportAttachment(
        report=report, original_name="scan.pdf", content_type="application/pdf", size_bytes=3
    )
    attachment.file.save("scan.pdf", ContentFile(b"pdf"), save=True)
    ReportReceipt.objects.create(report=report, reader=world.doctor.user)
    case = Case.objects.create(patient=world.patient, subject="Delivery late")
    Interaction.objects.create(
        patient=world.patient, case=case, channel="phone", direction="in", summary="called"
    )
    AdverseEventFactory(enrolment=world.enrolment)
    DeviceEventFactory(device=DeviceFactory(enrolment=world.enrolment))
    Message.objects.create(
        patient=world.patient, channel="sms", purpose="dose_reminder", body="reminder"
    )
    PointsAward.objects.create(enrolment=world.enrolment, points=5, reason="dose on time")
    BadgeAward.objects.create(enrolment=world.enrolment, code="first-week")
    AuditEvent.objects.create(
        actor=world.staff, action="read", verb="patient.read", object_type="x", object_id="1"
    )
    DoctorNote.objects.create(enrolment=world.enrolment, author=world.doctor.user, body="stable")
    OperatorAbsence.objects.create(
        operator=world.nurse, starts_on=dt.date(2026, 8, 10), ends_on=dt.date(2026, 8, 14)
    )
    EnrolmentSchedule.objects.get_or_create(enrolment=world.enrolment)
    ProgramAnalyticsSettings.objects.get_or_create(program=world.program)
    AdherenceSnapshot.objects.create(
        enrolment=world.enrolment, period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 1, 31)
    )
    RiskModelVersion.objects.create(program=world.program, version=1)
    CallScript.objects.create(
        program=world.program, reason="missed_doses", title="Missed doses", body="Ask why."
    )
    MessageTemplate.objects.create(
        program=world.program, purpose="dose_reminder", channel="sms", body="Dose {time}"
    )
    ContactPreferences.objects.create(patient=world.patient)
    ChannelPreference.objects.create(patient=world.patient, purpose="dose_reminder", channel="sms")
    InboundSms.objects.create(
        provider_ref="sms-1", from_number="+39 333 000", body="ok", status="unmatched"
    )
    access.grant_enrolment_perm(world.doctor.user, world.other_enrolment)
    group = access.provider_staff_group(world.provider)
    EnrolmentGroupObjectPermission.objects.create(
        group=group,
        permission=Permission.objects.get(codename="view_enrolment"),
        content_object=world.enrolment,
    )
    return world


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_model_has_a_one_line_docstring(model):
    doc = (model.__doc__ or "").strip()
    # Django invents "Name(field, ...)" for a model without a docstring.
    assert doc and not doc.startswith(f"{model.__name__}("), f"{model.__name__} has no docstring"
    assert "\n" not in doc.splitlines()[0]
    assert doc.splitlines()[0].endswith(".")


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_model_has_a_str_that_works_on_a_saved_row(every_model, model):
    instance = model._default_manager.order_by("-pk").first()
    assert instance is not None, f"no {model.__name__} was built"
    text = str(instance)
    # Django's fallback reads "Model object (42)": every model must say something useful.
    assert text and f"{model.__name__} object (" not in text


def test_diary_summaries(every_model):
    summaries = {
        e.kind: e.summary for e in DiaryEntry.objects.filter(enrolment=every_model.enrolment)
    }
    assert summaries["dose"] == "Taken"
    assert summaries["symptom"] == "fatigue (4/10)"
    assert summaries["measurement"] == "128/82 mmHg"
    assert summaries["mood"] == "3/5"
    assert summaries["note"] == "ok"


# --- database constraints ---------------------------------------------------------------------


def integrity_error():
    return pytest.raises(IntegrityError)


@pytest.mark.parametrize("status", Enrolment.OPEN_STATUSES)
def test_one_open_enrolment_per_patient_and_program(world, status):
    with integrity_error(), transaction.atomic():
        EnrolmentFactory(patient=world.patient, program=world.program, status=status)


@pytest.mark.parametrize("status", ["withdrawn", "completed"])
def test_closed_enrolments_do_not_block_a_new_one(world, status):
    world.enrolment.status = status
    world.enrolment.save()
    EnrolmentFactory(patient=world.patient, program=world.program, status=status)
    EnrolmentFactory(patient=world.patient, program=world.program)


def test_device_event_sequence_is_unique_per_device(world):
    device = DeviceFactory(enrolment=world.enrolment)
    DeviceEventFactory(device=device, seq=7)
    DeviceEventFactory(device=DeviceFactory(enrolment=world.enrolment), seq=7)
    with integrity_error(), transaction.atomic():
        DeviceEventFactory(device=device, seq=7)


def test_one_activity_per_step_occurrence(world):
    step = CarePathwayStepFactory(program=world.program)
    ActivityFactory(enrolment=world.enrolment, step=step, module=step.module, occurrence=3)
    ActivityFactory(enrolment=world.enrolment, step=step, module=step.module, occurrence=4)
    # Ad-hoc work (no step) may repeat an occurrence number.
    ActivityFactory(enrolment=world.enrolment, occurrence=0)
    ActivityFactory(enrolment=world.enrolment, occurrence=0)
    with integrity_error(), transaction.atomic():
        ActivityFactory(enrolment=world.enrolment, step=step, module=step.module, occurrence=3)


def test_activity_window_is_ordered(world):
    start = timezone.now()
    with integrity_error(), transaction.atomic():
        ActivityFactory(scheduled_start=start, scheduled_end=start - dt.timedelta(minutes=1))


def test_consent_is_withdrawn_after_it_was_given(world):
    given = timezone.now()
    ConsentFactory(patient=world.patient, given_at=given, withdrawn_at=given)
    with integrity_error(), transaction.atomic():
        ConsentFactory(
            patient=world.patient, given_at=given, withdrawn_at=given - dt.timedelta(seconds=1)
        )


@pytest.mark.parametrize("severity", [0, 10])
def test_diary_severity_in_range(world, severity):
    DiaryEntryFactory(enrolment=world.enrolment, kind="symptom", dose_status="", severity=severity)


@pytest.mark.parametrize("severity", [11, 200])
def test_diary_severity_out_of_range(world, severity):
    with integrity_error(), transaction.atomic():
        DiaryEntryFactory(
            enrolment=world.enrolment, kind="symptom", dose_status="", severity=severity
        )


@pytest.mark.parametrize("mood", [0, 6])
def test_diary_mood_out_of_range(world, mood):
    with integrity_error(), transaction.atomic():
        DiaryEntryFactory(enrolment=world.enrolment, kind="mood", dose_status="", mood=mood)


def test_diary_dose_needs_a_status(world):
    with integrity_error(), transaction.atomic():
        DiaryEntryFactory(enrolment=world.enrolment, kind="dose", dose_status="")


def test_program_dates_are_ordered(world):
    with integrity_error(), transaction.atomic():
        ProgramFactory(start_date=dt.date(2026, 5, 1), end_date=dt.date(2026, 4, 30))


def test_step_belongs_to_a_program_or_a_template(world):
    template = ProgramTemplate.objects.create(name="Either-or", pathology="x")
    module = ServiceModuleFactory()
    with integrity_error(), transaction.atomic():
        CarePathwayStep.objects.create(program=world.program, template=template, module=module)
    with integrity_error(), transaction.atomic():
        CarePathwayStep.objects.create(module=module)


def test_step_anchored_on_a_step_names_it(world):
    with integrity_error(), transaction.atomic():
        CarePathwayStepFactory(program=world.program, anchor="step", anchor_step=None)


def test_one_open_delegation_per_pair(world):
    with integrity_error(), transaction.atomic():
        DelegationFactory(patient=world.patient, caregiver=world.caregiver)
    world.delegation.revoked_at = timezone.now()
    world.delegation.save()
    DelegationFactory(patient=world.patient, caregiver=world.caregiver)


def test_one_receipt_per_reader_and_one_badge_each(world):
    report = ReportFactory(enrolment=world.enrolment)
    ReportReceipt.objects.create(report=report, reader=world.doctor.user)
    with integrity_error(), transaction.atomic():
        ReportReceipt.objects.create(report=report, reader=world.doctor.user)
    BadgeAward.objects.create(enrolment=world.enrolment, code="streak-30")
    with integrity_error(), transaction.atomic():
        BadgeAward.objects.create(enrolment=world.enrolment, code="streak-30")
