"""Private notes a doctor keeps about a followed enrolment (only their author reads them)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .enrolments import Enrolment
from .people import User


class DoctorNote(models.Model):
    """A doctor's private note on one enrolment; never shown to anyone but its author."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="doctor_notes")
    author = models.ForeignKey(User, on_delete=models.CASCADE, related_name="doctor_notes")
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["author", "enrolment", "-created_at"])]

    def __str__(self) -> str:
        return f"note by {self.author_id} on enrolment {self.enrolment_id}"
