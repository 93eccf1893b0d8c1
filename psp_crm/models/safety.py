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

    class Reporter(models.TextChoices):
        PATIENT = "patient", _("The patient")
        CAREGIVER = "caregiver", _("A caregiver")
        NURSE = "nurse", _("A nurse")
        DOCTOR = "doctor", _("A doctor")
        COUNSELLOR = "counsellor", _("A counsellor")
        OTHER_OPERATOR = "operator", _("Another operator")

    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.PROTECT, related_name="adverse_events"
    )
    reported_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reporter_type = models.CharField(
        _("first reported by"), max_length=12, choices=Reporter.choices, blank=True
    )
    case = models.OneToOneField(
        "psp_crm.Case",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="adverse_event",
    )
    suspect_product = models.ForeignKey(
        "psp_crm.Product",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reaction = models.CharField(_("reaction"), max_length=200, blank=True)
    source_interaction = models.ForeignKey(
        "psp_crm.Interaction", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source_activity = models.ForeignKey(
        "psp_crm.Activity", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source_diary_entry = models.ForeignKey(
        "psp_crm.DiaryEntry", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
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
