"""Activities: each scheduled piece of work for one stakeholder."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .enrolments import Enrolment
from .organizations import Organization
from .people import Operator
from .programs import CarePathwayStep, ServiceModule


class Activity(models.Model):
    """One scheduled visit, call, delivery or pickup for an enrolment."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        CONFIRMED = "confirmed", _("Confirmed")
        DONE = "done", _("Done")
        MISSED = "missed", _("Missed")
        CANCELLED = "cancelled", _("Cancelled")
        RESCHEDULED = "rescheduled", _("Rescheduled")

    OPEN_STATUSES = ("planned", "confirmed")

    class PatientAnswer(models.TextChoices):
        """What the patient said to the day-before message (``services.appointments``)."""

        NONE = "", _("No answer yet")
        CONFIRMED = "confirmed", _("She confirmed")
        CHANGE_REQUESTED = "change_requested", _("She asks to change it")

    class CancelCause(models.TextChoices):
        """Why the engine or a person closed an activity; re-planning acts on its own causes."""

        NONE = "", _("—")
        ENROLMENT = "enrolment", _("Enrolment suspended or withdrawn")
        THERAPY = "therapy", _("Therapy changed")
        LINKED = "linked", _("The activity it belongs to did not take place")
        MANUAL = "manual", _("Cancelled by staff or operator")

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="activities")
    step = models.ForeignKey(
        CarePathwayStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="activities"
    )
    module = models.ForeignKey(ServiceModule, on_delete=models.PROTECT, related_name="activities")
    occurrence = models.PositiveIntegerField(
        _("occurrence"),
        default=0,
        help_text=_("Index within the step's recurrence; 0 for ad-hoc work"),
    )
    cycle = models.PositiveSmallIntegerField(
        _("therapy cycle"),
        default=0,
        help_text=_("Bumped by a therapy change: occurrences are counted again from 1"),
    )
    attempt = models.PositiveSmallIntegerField(
        _("attempt"),
        default=0,
        help_text=_("0 for the planned occurrence, 1, 2… for its reschedules"),
    )
    rescheduled_from = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rescheduled_to",
        help_text=_("The missed, cancelled or moved activity this one replaces"),
    )
    cancel_cause = models.CharField(
        _("cancel cause"), max_length=12, choices=CancelCause.choices, blank=True
    )
    assignee = models.ForeignKey(
        Operator, on_delete=models.SET_NULL, null=True, blank=True, related_name="activities"
    )
    partner = models.ForeignKey(
        Organization, on_delete=models.SET_NULL, null=True, blank=True, related_name="activities"
    )
    linked_to = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="linked_activities",
        help_text=_("e.g. the infusion a waste pickup belongs to"),
    )
    scheduled_start = models.DateTimeField(_("window start"))
    scheduled_end = models.DateTimeField(_("window end"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PLANNED
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    outcome = models.JSONField(_("outcome"), default=dict, blank=True)
    outcome_notes = models.TextField(_("outcome notes"), blank=True)
    status_reason = models.CharField(_("reason"), max_length=200, blank=True)
    patient_answer = models.CharField(
        _("patient's answer"), max_length=20, choices=PatientAnswer.choices, blank=True
    )
    patient_answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    # Logistics details (deliveries and pickups); no clinical data here.
    items = models.JSONField(_("items"), default=list, blank=True)
    cold_chain = models.BooleanField(_("cold chain"), default=False)
    proof_of_delivery = models.CharField(_("proof of delivery"), max_length=200, blank=True)

    class Meta:
        ordering = ["scheduled_start"]
        verbose_name_plural = _("activities")
        constraints = [
            models.CheckConstraint(
                condition=Q(scheduled_end__gte=models.F("scheduled_start")),
                name="activity_window_ordered",
            ),
            # The scheduling engine may run twice or concurrently: one row per step occurrence.
            models.UniqueConstraint(
                fields=["enrolment", "step", "cycle", "occurrence", "attempt"],
                condition=Q(step__isnull=False),
                name="one_activity_per_step_occurrence",
            ),
        ]
        indexes = [
            models.Index(fields=["assignee", "scheduled_start"]),
            models.Index(fields=["enrolment", "scheduled_start"]),
            models.Index(fields=["status", "scheduled_start"]),
            # The control room's unassigned queue.
            models.Index(
                fields=["scheduled_start"],
                condition=Q(assignee__isnull=True, status__in=("planned", "confirmed")),
                name="activity_unassigned_open",
            ),
            # The call list's appointments to change: few rows among many.
            models.Index(
                fields=["scheduled_end"],
                condition=Q(patient_answer="change_requested", status__in=("planned", "confirmed")),
                name="activity_change_requested",
            ),
        ]

    def __str__(self) -> str:
        when = f"{self.scheduled_start:%Y-%m-%d %H:%M}"
        return f"{self.module.name} for {self.enrolment.patient.code} on {when}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES
