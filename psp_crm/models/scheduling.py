"""Scheduling state: operator absences and each enrolment's therapy cycle."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .enrolments import Enrolment
from .people import Operator, User


class OperatorAbsence(models.Model):
    """Days an operator cannot work (holiday, sickness): the engine reassigns their activities."""

    operator = models.ForeignKey(Operator, on_delete=models.CASCADE, related_name="absences")
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until (included)"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-starts_on"]
        indexes = [models.Index(fields=["operator", "starts_on"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="absence_dates_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"{self.operator} absent {self.starts_on}–{self.ends_on}"


class EnrolmentSchedule(models.Model):
    """The engine's memory of one enrolment: the current therapy cycle and the horizon reached."""

    enrolment = models.OneToOneField(
        Enrolment, on_delete=models.CASCADE, primary_key=True, related_name="schedule"
    )
    therapy_cycle = models.PositiveSmallIntegerField(_("therapy cycle"), default=0)
    materialized_until = models.DateField(_("materialized until"), null=True, blank=True)

    def __str__(self) -> str:
        return f"schedule of enrolment {self.enrolment_id} (cycle {self.therapy_cycle})"
