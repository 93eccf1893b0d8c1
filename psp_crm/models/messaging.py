"""Messages and reminders on every channel, their templates, and the patient's contact choices.

A ``Message`` is one send on one channel (in-app, e-mail, SMS, push) with its whole delivery
history: queued, deferred by quiet hours, sent, retried with backoff, given up, or skipped because
the patient did not consent. The in-app message *is* the in-app notification.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .activities import Activity
from .enrolments import Enrolment
from .interactions import Case
from .people import Patient, User
from .programs import Program


class Channel(models.TextChoices):
    """The channels a message travels on."""

    IN_APP = "in_app", _("In app")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    PUSH = "push", _("Push")


class Purpose(models.TextChoices):
    """What a message is for: preferences and templates are chosen per purpose."""

    DOSE_REMINDER = "dose_reminder", _("Dose reminders")
    ACTIVITY_CONFIRMATION = "activity_confirmation", _("Appointment confirmations")
    ACTIVITY_RESCHEDULED = "activity_rescheduled", _("Appointment changes")
    REPORT_NOTIFICATION = "report_notification", _("Reports and replies")
    CASE_UPDATE = "case_update", _("Requests to the contact centre")
    GENERAL = "general", _("Messages from the program team")


class Language(models.TextChoices):
    ITALIAN = "it", _("Italian")
    ENGLISH = "en", _("English")


class MessageTemplate(models.Model):
    """The words of one purpose on one channel in one language; per program or provider-wide.

    ``body`` and ``subject`` use ``{name}`` placeholders; the variables each purpose offers are
    listed in ``psp_crm.messaging.templates.VARIABLES``.
    """

    program = models.ForeignKey(
        Program,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="message_templates",
        help_text=_("Leave empty for the provider-wide default."),
    )
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.ITALIAN
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"))
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["purpose", "channel", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "purpose", "channel", "language"],
                name="one_template_per_program_purpose_channel_language",
            ),
            models.UniqueConstraint(
                fields=["purpose", "channel", "language"],
                condition=Q(program__isnull=True),
                name="one_default_template_per_purpose_channel_language",
            ),
        ]

    def __str__(self) -> str:
        scope = self.program.code if self.program_id else "default"
        return f"{self.purpose}/{self.channel}/{self.language} ({scope})"


class Message(models.Model):
    """One send on one channel, with its delivery status and history."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        DEFERRED = "deferred", _("Deferred (quiet hours)")
        RETRYING = "retrying", _("Failed, will retry")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed (gave up)")
        SKIPPED = "skipped", _("Skipped")

    # Statuses the delivery task still has to act on.
    PENDING = (Status.QUEUED, Status.DEFERRED, Status.RETRYING)

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    recipient = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        help_text=_("The login that reads it in the app (in-app and push)."),
    )
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    activity = models.ForeignKey(
        Activity, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    case = models.ForeignKey(
        Case, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=8, default=Language.ITALIAN)
    template = models.ForeignKey(
        MessageTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_address = models.CharField(_("to"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"), blank=True)
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    skip_reason = models.CharField(_("why it was skipped"), max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    due_at = models.DateTimeField(_("due at"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    failed_at = models.DateTimeField(_("gave up at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    provider_ref = models.CharField(_("provider reference"), max_length=100, blank=True)
    # A caregiver's copy of the patient's message: sent while the delegation wants copies.
    copy_for = models.ForeignKey(
        "psp_crm.Delegation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="copies",
        verbose_name=_("copy for the caregiver of"),
    )
    dedupe_key = models.CharField(max_length=150, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["patient", "-created_at"]),
            models.Index(fields=["recipient", "channel", "-created_at"]),
            models.Index(fields=["provider_ref"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(patient__isnull=False) | Q(recipient__isnull=False),
                name="message_has_a_recipient",
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} by {self.channel} ({self.get_status_display()})"


class ContactPreferences(models.Model):
    """A patient's language, quiet hours and reminder time (one row per patient)."""

    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, related_name="contact_preferences"
    )
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.ITALIAN
    )
    quiet_start = models.TimeField(
        _("quiet hours from"), null=True, blank=True, default=dt.time(21, 0)
    )
    quiet_end = models.TimeField(_("quiet hours until"), null=True, blank=True, default=dt.time(8))
    reminder_time = models.TimeField(_("dose reminder at"), default=dt.time(9, 0))
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Rome")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Contact preferences of {self.patient.code}"


class ChannelPreference(models.Model):
    """Whether the patient wants messages of one purpose on one channel (no row: the default)."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="channel_preferences"
    )
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    enabled = models.BooleanField(_("wanted"), default=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "purpose", "channel"], name="one_preference_per_purpose_channel"
            )
        ]

    def __str__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"{self.patient.code}: {self.purpose} by {self.channel} {state}"


class InboundSms(models.Model):
    """An SMS a patient sent to the program's number, received through the signed webhook."""

    class Status(models.TextChoices):
        MATCHED = "matched", _("On the patient's timeline")
        UNMATCHED = "unmatched", _("Unknown sender")

    provider_ref = models.CharField(_("provider message id"), max_length=100, unique=True)
    from_number = models.CharField(_("from"), max_length=32)
    body = models.TextField(_("text"))
    received_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(_("sent at (provider)"), null=True, blank=True)
    patient = models.ForeignKey(
        Patient, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_sms"
    )
    in_reply_to = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    # The text was a stop word: SMS consent was withdrawn for every patient with this number.
    opt_out = models.BooleanField(_("STOP (SMS consent withdrawn)"), default=False)
    # A YES or NO to the appointment the SMS replied to (``services.appointments``).
    appointment_answer = models.CharField(_("answer to the appointment"), max_length=20, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("inbound SMS")
        verbose_name_plural = _("inbound SMS")

    def __str__(self) -> str:
        return f"SMS from {self.from_number} ({self.get_status_display()})"
