"""Reports exchanged between patient, doctor and program, with attachments and receipts."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .enrolments import Enrolment
from .people import User


class Report(models.Model):
    """A message-like report: patient → doctor, doctor reply, visit report or adherence report."""

    class Kind(models.TextChoices):
        PATIENT_TO_DOCTOR = "patient_to_doctor", _("Patient report")
        DOCTOR_REPLY = "doctor_reply", _("Doctor reply")
        VISIT = "visit", _("Visit report")
        ADHERENCE = "adherence", _("Periodic adherence report")

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    author = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports_written"
    )
    recipient = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports_received"
    )
    in_reply_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["enrolment", "-created_at"]),
            models.Index(fields=["recipient", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"


def report_attachment_path(instance: ReportAttachment, filename: str) -> str:
    # Never reuse the uploaded name in the path: it may carry identifying text.
    folder = f"reports/{instance.report.enrolment_id}/{timezone.now():%Y%m}"
    return f"{folder}/{instance.report_id}-{filename[-40:]}"


class ReportAttachment(models.Model):
    """A file attached to a report, served only through a permission-checked view."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=report_attachment_path)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size_bytes = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.original_name} ({self.size_bytes} bytes)"


class ReportReceipt(models.Model):
    """When a user read a report."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="receipts")
    reader = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "reader"], name="one_receipt_per_reader")
        ]

    def __str__(self) -> str:
        return f"{self.reader} read {self.report_id} at {self.read_at:%Y-%m-%d %H:%M}"
