"""Report services: send with attachments, reply, read receipts, periodic adherence reports."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from psp_crm.errors import AccessDenied, DomainError
from psp_crm.models import AuditEvent, DiaryEntry, Report, ReportAttachment, ReportReceipt
from psp_crm.services.reports import (
    report_adherence_generate,
    report_mark_read,
    report_reply,
    report_send,
)
from tests.factories import build_world, record_events

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    w = build_world()
    w.enrolment.status = "active"
    w.enrolment.save()
    w.delegation.can_send_reports = True
    w.delegation.save()
    return w


@pytest.fixture
def pushed(monkeypatch):
    return record_events(monkeypatch)


def counts() -> tuple[int, int, int]:
    return Report.objects.count(), ReportAttachment.objects.count(), AuditEvent.objects.count()


@pytest.mark.parametrize("who", ["patient_user", "caregiver_user"])
def test_send_with_attachments(world, pushed, django_capture_on_commit_callbacks, who):
    actor = getattr(world, who)
    files = [
        SimpleUploadedFile("blood test Anna.pdf", PDF, content_type="application/pdf"),
        SimpleUploadedFile("rash.png", PNG, content_type="image/png"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        report = report_send(
            actor=actor,
            enrolment=world.enrolment,
            subject="Rash",
            body="A rash on the arm.",
            attachments=files,
        )
    assert (report.author, report.recipient, report.kind) == (
        actor,
        world.doctor.user,
        "patient_to_doctor",
    )
    attachments = list(report.attachments.order_by("pk"))
    assert [a.content_type for a in attachments] == ["application/pdf", "image/png"]
    assert attachments[0].original_name == "blood test Anna.pdf"
    assert "Anna" not in attachments[0].file.name  # random name on disk
    assert attachments[0].file.read() == PDF
    audit = AuditEvent.objects.get(verb="report.send", object_id=str(report.pk))
    assert (audit.actor, audit.patient, audit.detail) == (actor, world.patient, {"attachments": 2})
    assert pushed[-1][1] == {
        "verb": "report.sent",
        "enrolment": world.enrolment.pk,
        "report": report.pk,
    }


@pytest.mark.parametrize("who", ["doctor", "nurse", "staff", "outsider_doctor", "client"])
def test_send_forbidden_writes_nothing(world, pushed, django_capture_on_commit_callbacks, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    before = counts()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AccessDenied):
        report_send(actor=actor, enrolment=world.enrolment, subject="x", body="y")
    assert counts() == before and pushed == []


def test_caregiver_without_the_right_may_not_send(world):
    world.delegation.can_send_reports = False
    world.delegation.save()
    with pytest.raises(AccessDenied):
        report_send(actor=world.caregiver_user, enrolment=world.enrolment, subject="x", body="y")


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("evil.pdf", b"MZ\x90\x00 not a pdf"), "not a"),
        (SimpleUploadedFile("big.pdf", PDF + b"0" * 2048), "too large"),
        (SimpleUploadedFile("empty.pdf", b""), "empty"),
    ],
)
def test_bad_attachments_are_refused(world, settings, upload, message):
    settings.PSP_REPORT_ATTACHMENT_MAX_BYTES = 1024
    before = counts()
    with pytest.raises(DomainError) as refused:
        report_send(
            actor=world.patient_user,
            enrolment=world.enrolment,
            subject="x",
            body="y",
            attachments=[upload],
        )
    assert message in refused.value.message_dict["attachments"][0]
    assert counts() == before


def test_too_many_attachments(world, settings):
    settings.PSP_REPORT_ATTACHMENT_MAX_FILES = 1
    files = [SimpleUploadedFile(f"{i}.pdf", PDF) for i in range(2)]
    with pytest.raises(DomainError):
        report_send(
            actor=world.patient_user,
            enrolment=world.enrolment,
            subject="x",
            body="y",
            attachments=files,
        )


def test_subject_and_body_are_required(world):
    with pytest.raises(DomainError) as refused:
        report_send(actor=world.patient_user, enrolment=world.enrolment, subject=" ", body="")
    assert set(refused.value.message_dict) == {"subject", "body"}


def test_reply_and_receipts(world, pushed, django_capture_on_commit_callbacks):
    report = report_send(
        actor=world.caregiver_user, enrolment=world.enrolment, subject="Rash", body="Look."
    )
    with django_capture_on_commit_callbacks(execute=True):
        reply = report_reply(actor=world.doctor.user, report=report, body="Use the cream.")
    assert (reply.kind, reply.in_reply_to, reply.recipient) == (
        "doctor_reply",
        report,
        world.caregiver_user,
    )
    assert reply.subject == "Re: Rash"
    assert ReportReceipt.objects.filter(report=report, reader=world.doctor.user).exists()
    assert AuditEvent.objects.filter(verb="report.reply", object_id=str(reply.pk)).exists()
    assert pushed[-1][1]["verb"] == "report.replied"

    with django_capture_on_commit_callbacks(execute=True):
        receipt = report_mark_read(actor=world.patient_user, report=reply)
    assert receipt.reader == world.patient_user
    assert report_mark_read(actor=world.patient_user, report=reply) == receipt  # idempotent
    assert AuditEvent.objects.filter(verb="report.read", object_id=str(reply.pk)).count() == 1
    assert report_mark_read(actor=world.doctor.user, report=reply) is None  # his own


@pytest.mark.parametrize("who", ["patient_user", "caregiver_user", "nurse", "outsider_doctor"])
def test_reply_forbidden(world, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    report = report_send(actor=world.patient_user, enrolment=world.enrolment, subject="Q", body="?")
    before = counts()
    with pytest.raises(AccessDenied):
        report_reply(actor=actor, report=report, body="answer")
    assert counts() == before


def test_mark_read_forbidden(world):
    report = report_send(actor=world.patient_user, enrolment=world.enrolment, subject="Q", body="?")
    for actor in (world.outsider_doctor.user, world.driver.user, world.client):
        with pytest.raises(AccessDenied):
            report_mark_read(actor=actor, report=report)
    assert not ReportReceipt.objects.filter(report=report).exists()


def test_adherence_report(world, pushed, django_capture_on_commit_callbacks):
    world.enrolment.doses_per_week = 7
    world.enrolment.save()
    today = timezone.localdate()
    for days in range(1, 6):
        DiaryEntry.objects.create(
            enrolment=world.enrolment,
            kind="dose",
            dose_status="taken",
            occurred_at=timezone.now() - dt.timedelta(days=days),
        )
    with django_capture_on_commit_callbacks(execute=True):
        reports = report_adherence_generate(actor=None, enrolment=world.enrolment, period_end=today)
    assert len(reports) == 1
    report = reports[0]
    assert (report.kind, report.recipient, report.author) == ("adherence", world.doctor.user, None)
    assert "5 of 28 expected" in report.body
    assert report_adherence_generate(actor=None, enrolment=world.enrolment, period_end=today) == []
    with pytest.raises(AccessDenied):
        report_adherence_generate(
            actor=world.patient_user, enrolment=world.enrolment, period_end=today
        )


def test_periodic_run_is_idempotent(world):
    today = timezone.localdate()
    from psp_crm.services.reports import report_adherence_generate_all

    first = report_adherence_generate_all(period_end=today)
    assert first >= 1
    assert Report.objects.filter(
        enrolment=world.enrolment, kind="adherence", period_end=today
    ).exists()
    assert report_adherence_generate_all(period_end=today) == 0
