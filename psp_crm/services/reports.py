"""Report writes: patient (or caregiver) → doctor reports with attachments, replies, read
receipts, and the program's periodic adherence reports for the doctor.

Attachments are checked on their content (not the name or the browser's claim), limited in size
and number, stored under ``MEDIA_ROOT`` with a random name, and served only through the
permission-checked views of the portals and the API.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from .. import access
from ..errors import AccessDenied, DomainError
from ..events import enrolment_group, send_event_on_commit
from ..models import DiaryEntry, Enrolment, Report, ReportAttachment, ReportReceipt, User
from .audit import audit_write
from .messaging import notify_report_reply

SUBJECT_MAX = 200
BODY_MAX = 10_000


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str
    magic: bytes


# Accepted attachment types, recognized by their first bytes.
FILE_TYPES: tuple[FileType, ...] = (
    FileType("application/pdf", "pdf", b"%PDF-"),
    FileType("image/png", "png", b"\x89PNG\r\n\x1a\n"),
    FileType("image/jpeg", "jpg", b"\xff\xd8\xff"),
)
ACCEPTED_TYPES_TEXT = "PDF, PNG or JPEG"


def _sniff(head: bytes) -> FileType | None:
    return next((t for t in FILE_TYPES if head.startswith(t.magic)), None)


def _read_upload(upload) -> bytes:
    if hasattr(upload, "seek"):
        upload.seek(0)
    return upload.read()


def clean_attachments(uploads: Iterable) -> list[tuple[str, FileType, bytes]]:
    """Check type, size and number; return ``(original name, type, content)`` triples."""
    uploads = [u for u in uploads if u is not None]
    limit = settings.PSP_REPORT_ATTACHMENT_MAX_FILES
    max_bytes = settings.PSP_REPORT_ATTACHMENT_MAX_BYTES
    if len(uploads) > limit:
        raise DomainError({"attachments": f"Attach at most {limit} files."})
    cleaned = []
    for upload in uploads:
        name = str(getattr(upload, "name", "") or "attachment").rsplit("/", 1)[-1][-200:]
        size = getattr(upload, "size", None)
        if size is not None and size > max_bytes:
            raise DomainError(
                {"attachments": f"{name} is too large (at most {max_bytes // (1024 * 1024)} MB)."}
            )
        content = _read_upload(upload)
        if len(content) > max_bytes:
            raise DomainError(
                {"attachments": f"{name} is too large (at most {max_bytes // (1024 * 1024)} MB)."}
            )
        if not content:
            raise DomainError({"attachments": f"{name} is empty."})
        file_type = _sniff(content[:16])
        if file_type is None:
            raise DomainError(
                {"attachments": f"{name} is not a {ACCEPTED_TYPES_TEXT} file and was refused."}
            )
        cleaned.append((name, file_type, content))
    return cleaned


def _store_attachments(report: Report, files: list[tuple[str, FileType, bytes]]) -> None:
    for name, file_type, content in files:
        attachment = ReportAttachment(
            report=report,
            original_name=name,
            content_type=file_type.content_type,
            size_bytes=len(content),
        )
        # A random name on disk: the uploaded one may carry identifying text.
        attachment.file.save(
            f"{uuid.uuid4().hex}.{file_type.extension}", ContentFile(content), save=False
        )
        attachment.save()


def _clean_text(subject: str, body: str) -> tuple[str, str]:
    subject, body = (subject or "").strip(), (body or "").strip()
    errors = {}
    if not subject:
        errors["subject"] = "Give the report a subject."
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = f"Keep the subject under {SUBJECT_MAX} characters."
    if not body:
        errors["body"] = "Write the report."
    elif len(body) > BODY_MAX:
        errors["body"] = f"Keep the report under {BODY_MAX} characters."
    if errors:
        raise DomainError(errors)
    return subject, body


def _emit(verb: str, report: Report) -> None:
    send_event_on_commit(
        verb,
        groups=[enrolment_group(report.enrolment_id)],
        enrolment=report.enrolment_id,
        report=report.pk,
    )


def _doctor_of(enrolment: Enrolment) -> User | None:
    """The referring doctor if he still follows the patient, else the first following doctor."""
    doctors = list(enrolment.doctors.select_related("user").order_by("pk"))
    for doctor in doctors:
        if doctor.pk == enrolment.referring_doctor_id:
            return doctor.user
    return doctors[0].user if doctors else None


@transaction.atomic
def report_send(
    *,
    actor: User,
    enrolment: Enrolment,
    subject: str,
    body: str,
    attachments: Iterable = (),
    in_reply_to: Report | None = None,
) -> Report:
    """A patient (or a caregiver allowed to) sends a report to the doctor who follows her."""
    if not access.can_act_for_patient(actor, enrolment.patient, "can_send_reports") or not (
        access.enrolments_for(actor).filter(pk=enrolment.pk).exists()
    ):
        raise AccessDenied("You may not send reports for this patient.")
    subject, body = _clean_text(subject, body)
    files = clean_attachments(attachments)
    if in_reply_to is not None and in_reply_to.enrolment_id != enrolment.pk:
        raise DomainError({"in_reply_to": "That report belongs to another program."})
    recipient = _doctor_of(enrolment)
    if recipient is None:
        raise DomainError({"enrolment": "No doctor follows this program participation yet."})
    report = Report.objects.create(
        enrolment=enrolment,
        kind=Report.Kind.PATIENT_TO_DOCTOR,
        author=actor,
        recipient=recipient,
        in_reply_to=in_reply_to,
        subject=subject,
        body=body,
    )
    _store_attachments(report, files)
    audit_write(
        actor=actor,
        action="create",
        verb="report.send",
        obj=report,
        patient=enrolment.patient,
        detail={"attachments": len(files)},
    )
    _emit("report.sent", report)
    return report


@transaction.atomic
def report_reply(
    *, actor: User, report: Report, body: str, subject: str = "", attachments: Iterable = ()
) -> Report:
    """A following doctor answers a report; the original counts as read by him."""
    enrolment = report.enrolment
    if not access.has_role(actor, "doctor") or not (
        access.enrolments_for(actor, role="doctor").filter(pk=enrolment.pk).exists()
    ):
        raise AccessDenied("Only a doctor who follows this patient may reply.")
    if report.kind not in (Report.Kind.PATIENT_TO_DOCTOR, Report.Kind.VISIT, Report.Kind.ADHERENCE):
        raise DomainError("Replies go to patient, visit or adherence reports.")
    subject = subject.strip() or f"Re: {report.subject}"[:SUBJECT_MAX]
    subject, body = _clean_text(subject, body)
    files = clean_attachments(attachments)
    author_is_patient_side = report.kind == Report.Kind.PATIENT_TO_DOCTOR and report.author_id
    recipient = report.author if author_is_patient_side else enrolment.patient.user
    reply = Report.objects.create(
        enrolment=enrolment,
        kind=Report.Kind.DOCTOR_REPLY,
        author=actor,
        recipient=recipient,
        in_reply_to=report,
        subject=subject,
        body=body,
    )
    _store_attachments(reply, files)
    ReportReceipt.objects.get_or_create(report=report, reader=actor)
    audit_write(
        actor=actor,
        action="create",
        verb="report.reply",
        obj=reply,
        patient=enrolment.patient,
        detail={"in_reply_to": report.pk, "attachments": len(files)},
    )
    _emit("report.replied", reply)
    notify_report_reply(reply=reply)
    return reply


@transaction.atomic
def report_mark_read(*, actor: User, report: Report) -> ReportReceipt | None:
    """Record that the actor read a report he may see (idempotent; authors get no receipt)."""
    if not access.reports_for(actor).filter(pk=report.pk).exists():
        raise AccessDenied("You may not read this report.")
    if report.author_id == actor.pk:
        return None
    receipt, created = ReportReceipt.objects.get_or_create(report=report, reader=actor)
    if created:
        audit_write(
            actor=actor,
            action="update",
            verb="report.read",
            obj=report,
            patient=report.enrolment.patient,
        )
        _emit("report.read", report)
    return receipt


# --- the program's periodic adherence reports -------------------------------------------------


def adherence_summary(enrolment: Enrolment, *, start: dt.date, end: dt.date) -> dict[str, int]:
    """Counts of the period ``[start, end]`` (local dates) from the current diary entries."""
    begin = timezone.make_aware(dt.datetime.combine(start, dt.time()))
    finish = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    entries = DiaryEntry.objects.filter(
        enrolment=enrolment,
        occurred_at__gte=begin,
        occurred_at__lt=finish,
        superseded_by__isnull=True,
    )
    counts = entries.aggregate(
        taken=Count("pk", filter=Q(kind="dose", dose_status="taken")),
        late=Count("pk", filter=Q(kind="dose", dose_status="late")),
        missed=Count("pk", filter=Q(kind="dose", dose_status="missed")),
        symptoms=Count("pk", filter=Q(kind="symptom")),
        measurements=Count("pk", filter=Q(kind="measurement")),
    )
    days = (end - start).days + 1
    expected = round(float(enrolment.doses_per_week or 0) * days / 7)
    return {**counts, "expected": expected, "days": days}


@transaction.atomic
def report_adherence_generate(
    *, actor: User | None, enrolment: Enrolment, period_end: dt.date, days: int = 28
) -> list[Report]:
    """Write the period's adherence summary to every following doctor's inbox.

    ``actor`` is provider staff of the program, or ``None`` when the program's scheduled task
    generates it.
    """
    if actor is not None and not access.can_manage_enrolment(actor, enrolment):
        raise AccessDenied("Only provider staff of this program may generate its reports.")
    start = period_end - dt.timedelta(days=days - 1)
    if Report.objects.filter(
        enrolment=enrolment, kind=Report.Kind.ADHERENCE, period_end=period_end
    ).exists():
        return []  # idempotent: the task may run twice
    s = adherence_summary(enrolment, start=start, end=period_end)
    logged = s["taken"] + s["late"]
    lines = [
        f"Doses logged as taken: {logged}"
        + (f" of {s['expected']} expected" if s["expected"] else "")
        + f" ({s['late']} late).",
        f"Doses logged as missed: {s['missed']}.",
        f"Symptoms logged: {s['symptoms']}. Measurements logged: {s['measurements']}.",
    ]
    reports = []
    for doctor in enrolment.doctors.select_related("user").order_by("pk"):
        report = Report.objects.create(
            enrolment=enrolment,
            kind=Report.Kind.ADHERENCE,
            author=None,
            recipient=doctor.user,
            subject=f"Adherence report {start:%d/%m} – {period_end:%d/%m}",
            body="\n".join(lines),
            period_start=start,
            period_end=period_end,
        )
        audit_write(
            actor=actor,
            action="create",
            verb="report.adherence",
            obj=report,
            patient=enrolment.patient,
            detail=s,
        )
        _emit("report.sent", report)
        reports.append(report)
    return reports


def report_adherence_generate_all(*, period_end: dt.date, days: int = 28) -> int:
    """The program's periodic run (call it from the scheduled task): one adherence report per
    active enrolment and following doctor for the period ending ``period_end``; idempotent."""
    written = 0
    enrolments = (
        Enrolment.objects.filter(status="active", doctors__isnull=False)
        .distinct()
        .select_related("patient", "program")
        .order_by("pk")
    )
    for enrolment in enrolments.iterator(chunk_size=500):
        written += len(
            report_adherence_generate(
                actor=None, enrolment=enrolment, period_end=period_end, days=days
            )
        )
    return written
