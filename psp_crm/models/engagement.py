"""Notifications, reminders and the points and badges that motivate patients."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .enrolments import Enrolment
from .people import User


class Notification(models.Model):
    """A message or reminder to a user on one channel, with its delivery status."""

    class Channel(models.TextChoices):
        IN_APP = "in_app", _("In app")
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")
        PUSH = "push", _("Push")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    template = models.CharField(_("template"), max_length=60)
    context = models.JSONField(default=dict, blank=True)
    due_at = models.DateTimeField(_("due at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-due_at"]
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["recipient", "-due_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.template} → {self.recipient} ({self.get_status_display()})"


class PointsAward(models.Model):
    """Points an enrolment earned, e.g. for logging a dose on time."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="points")
    points = models.SmallIntegerField()
    reason = models.CharField(max_length=100)
    awarded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-awarded_at"]

    def __str__(self) -> str:
        return f"{self.points:+d} for {self.reason}"


class BadgeAward(models.Model):
    """A badge an enrolment earned (first week complete, 30-day streak...)."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="badges")
    code = models.SlugField(max_length=40)
    awarded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["enrolment", "code"], name="one_badge_each")]

    def __str__(self) -> str:
        return f"badge {self.code} for enrolment {self.enrolment_id}"
