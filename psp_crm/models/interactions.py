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
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["status", "priority"])]

    def __str__(self) -> str:
        return f"Case #{self.pk}: {self.subject} ({self.get_status_display()})"


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

    class Direction(models.TextChoices):
        INBOUND = "in", _("Inbound")
        OUTBOUND = "out", _("Outbound")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="interactions")
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.SET_NULL, null=True, blank=True, related_name="interactions"
    )
    case = models.ForeignKey(
        Case, on_delete=models.SET_NULL, null=True, blank=True, related_name="interactions"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    handled_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    summary = models.TextField(_("summary"))

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["patient", "-occurred_at"])]

    def __str__(self) -> str:
        return (
            f"{self.get_channel_display()} {self.get_direction_display()} with {self.patient.code}"
        )
