"""Adverse events and the SLA clock that forwards them to the sponsor's pharmacovigilance."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .enrolments import Enrolment
from .people import User


class AdverseEvent(models.Model):
    """A suspected adverse drug reaction captured on any channel; immutable once forwarded."""

    class Seriousness(models.TextChoices):
        NON_SERIOUS = "non_serious", _("Non-serious")
        SERIOUS = "serious", _("Serious")

    class Status(models.TextChoices):
        CAPTURED = "captured", _("Captured")
        FORWARDED = "forwarded", _("Forwarded to sponsor")

    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.PROTECT, related_name="adverse_events"
    )
    reported_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=20)
    description = models.TextField(_("description"))
    seriousness = models.CharField(_("seriousness"), max_length=12, choices=Seriousness.choices)
    onset_date = models.DateField(_("onset date"), null=True, blank=True)
    aware_at = models.DateTimeField(_("provider aware at"), default=timezone.now)
    forward_due_at = models.DateTimeField(_("forward due at"))
    forwarded_at = models.DateTimeField(_("forwarded at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.CAPTURED
    )

    class Meta:
        ordering = ["-aware_at"]
        indexes = [models.Index(fields=["status", "forward_due_at"])]

    def __str__(self) -> str:
        return f"AE #{self.pk} {self.get_seriousness_display()} ({self.get_status_display()})"

    @property
    def is_overdue(self) -> bool:
        return self.forwarded_at is None and self.forward_due_at < timezone.now()
