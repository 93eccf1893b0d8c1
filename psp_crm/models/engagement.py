"""The points and badges that motivate patients."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .enrolments import Enrolment


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
