"""Interactions on every channel (the omnichannel timeline) and contact-centre cases."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .enrolments import Enrolment
from .people import Patient, User


class Case(models.Model):
    """A contact-centre request followed until it is resolved."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WAITING = "waiting", _("Waiting for patient")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="cases")
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases"
    )
    subject = models.CharField(_("subject"), max_length=200)
    category = models.CharField(_("category"), max_length=50, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    opened_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_to = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_cases"
    )
    description = models.TextField(_("description"), blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(
        _("answer due by"), null=True, blank=True, help_text=_("The SLA clock's deadline.")
    )
    sla_paused_at = models.DateTimeField(
        _("SLA clock paused at"),
        null=True,
        blank=True,
        help_text=_("While the case waits for the patient the clock stops."),
    )
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [
            models.Index(fields=["status", "priority"]),
            models.Index(fields=["status", "due_at"]),
        ]

    def __str__(self) -> str:
        return f"Case #{self.pk}: {self.subject} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.WAITING)

    @property
    def is_overdue(self) -> bool:
        return (
            self.is_open
            and self.sla_paused_at is None
            and self.due_at is not None
            and self.due_at < timezone.now()
        )


class Interaction(models.Model):
    """One touchpoint with a patient on any channel."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        SMS = "sms", _("SMS")
        EMAIL = "email", _("E-mail")
        APP = "app", _("App")
        WEB = "web", _("Web")
        VISIT = "visit", _("Visit")
        DEVICE = "device", _("Device")
        CHAT = "chat", _("Chat")
        LETTER = "letter", _("Letter")

    class Direction(models.TextChoices):
        INBOUND = "in", _("Inbound")
        OUTBOUND = "out", _("Outbound")

    class Reason(models.TextChoices):
        ADHERENCE_CHECK = "adherence_check", _("Adherence check")
        MISSED_DOSES = "missed_doses", _("Missed doses")
        MISSED_DELIVERY = "missed_delivery", _("Missed delivery")
        APPOINTMENT = "appointment", _("Appointment")
        THERAPY_QUESTION = "therapy_question", _("Question about the therapy")
        SIDE_EFFECT = "side_effect", _("Side effect")
        LOGISTICS = "logistics", _("Delivery or pickup")
        COMPLAINT = "complaint", _("Complaint")
        INFORMATION = "information", _("Information")
        OTHER = "other", _("Other")

    class Outcome(models.TextChoices):
        RESOLVED = "resolved", _("Resolved during the contact")
        CASE_OPENED = "case_opened", _("Case opened")
        CALLBACK = "callback", _("Call back requested")
        TRANSFERRED = "transferred", _("Transferred")
        NO_ANSWER = "no_answer", _("No answer")
        VOICEMAIL = "voicemail", _("Voicemail left")
        INFORMED = "informed", _("Information given")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="interactions")
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.SET_NULL, null=True, blank=True, related_name="interactions"
    )
    case = models.ForeignKey(
        Case, on_delete=models.SET_NULL, null=True, blank=True, related_name="interactions"
    )
    activity = models.ForeignKey(
        "psp_crm.Activity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interactions",
        help_text=_("The appointment this contact was about (her answer to it, a call back)"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    handled_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=30, choices=Reason.choices, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    summary = models.TextField(_("summary"), blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["patient", "-occurred_at"]),
            models.Index(fields=["reason", "-occurred_at"]),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_channel_display()} {self.get_direction_display()} with {self.patient.code}"
        )


class CallScript(models.Model):
    """What a counsellor says and asks on a call of one reason, per program and language."""

    program = models.ForeignKey(
        "psp_crm.Program",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="call_scripts",
        help_text=_("Leave empty for the script every program uses unless it has its own."),
    )
    reason = models.CharField(_("reason"), max_length=30, choices=Interaction.Reason.choices)
    language = models.CharField(_("language"), max_length=8, default="it")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("script"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["reason", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "reason", "language"], name="one_script_per_program_reason"
            ),
            models.UniqueConstraint(
                fields=["reason", "language"],
                condition=models.Q(program__isnull=True),
                name="one_default_script_per_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.title
