"""The therapy diary: doses, symptoms, measurements, mood and notes."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .enrolments import Enrolment
from .people import User

# Symptom types a patient picks from, per pathology (``Program.pathology``); "other" always exists.
SYMPTOMS_BY_PATHOLOGY: dict[str, tuple[str, ...]] = {
    "multiple sclerosis": (
        "fatigue",
        "tingling",
        "numbness",
        "blurred vision",
        "muscle spasms",
        "dizziness",
        "headache",
    ),
    "psoriasis": ("itching", "skin plaques", "scaling", "joint pain", "injection-site redness"),
    "rheumatoid arthritis": (
        "joint pain",
        "morning stiffness",
        "swollen joints",
        "fatigue",
        "nausea",
    ),
}
GENERIC_SYMPTOMS: tuple[str, ...] = ("fatigue", "headache", "nausea", "pain", "fever")


def symptoms_for_pathology(pathology: str) -> tuple[str, ...]:
    """The symptom list of a pathology (a generic list for others), always ending with "other"."""
    return (*SYMPTOMS_BY_PATHOLOGY.get(pathology.strip().lower(), GENERIC_SYMPTOMS), "other")


class DiaryEntry(models.Model):
    """One diary record written by the patient, a caregiver, a nurse or a device."""

    class Kind(models.TextChoices):
        DOSE = "dose", _("Dose")
        SYMPTOM = "symptom", _("Symptom")
        MEASUREMENT = "measurement", _("Measurement")
        MOOD = "mood", _("Mood")
        NOTE = "note", _("Note")

    class DoseStatus(models.TextChoices):
        TAKEN = "taken", _("Taken")
        LATE = "late", _("Taken late")
        MISSED = "missed", _("Missed")

    class Measurement(models.TextChoices):
        BLOOD_PRESSURE = "blood_pressure", _("Blood pressure")
        GLUCOSE = "glucose", _("Glucose")
        WEIGHT = "weight", _("Weight")
        TEMPERATURE = "temperature", _("Temperature")
        HEART_RATE = "heart_rate", _("Heart rate")

    # Canonical storage units per measurement.
    CANONICAL_UNITS = {
        "blood_pressure": "mmHg",
        "glucose": "mg/dL",
        "weight": "kg",
        "temperature": "°C",
        "heart_rate": "bpm",
    }

    class Source(models.TextChoices):
        WEB = "web", _("Web")
        APP = "app", _("App")
        DEVICE = "device", _("Device")
        NURSE = "nurse", _("Nurse")

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="diary_entries")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("when it happened"))
    recorded_at = models.DateTimeField(_("when it was recorded"), default=timezone.now)
    author = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="diary_entries"
    )
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.WEB)
    dose_status = models.CharField(
        _("dose status"), max_length=8, choices=DoseStatus.choices, blank=True
    )
    injection_site = models.CharField(_("injection site"), max_length=50, blank=True)
    symptom = models.CharField(_("symptom"), max_length=60, blank=True)
    severity = models.PositiveSmallIntegerField(_("severity (0–10)"), null=True, blank=True)
    measurement = models.CharField(
        _("measurement"), max_length=20, choices=Measurement.choices, blank=True
    )
    value = models.DecimalField(_("value"), max_digits=7, decimal_places=2, null=True, blank=True)
    value_secondary = models.DecimalField(
        _("second value (e.g. diastolic)"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    unit = models.CharField(_("unit"), max_length=10, blank=True)
    mood = models.PositiveSmallIntegerField(_("mood (1–5)"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        help_text=_("The earlier version this entry corrects"),
    )
    correction_reason = models.CharField(_("reason of the correction"), max_length=200, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name_plural = _("diary entries")
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__isnull=True) | Q(severity__lte=10), name="diary_severity_0_10"
            ),
            models.CheckConstraint(
                condition=Q(mood__isnull=True) | (Q(mood__gte=1) & Q(mood__lte=5)),
                name="diary_mood_1_5",
            ),
            models.CheckConstraint(
                condition=~Q(kind="dose") | ~Q(dose_status=""), name="diary_dose_has_status"
            ),
        ]
        indexes = [models.Index(fields=["enrolment", "-occurred_at"])]

    def __str__(self) -> str:
        when = f"{self.occurred_at:%Y-%m-%d %H:%M}"
        return f"{self.get_kind_display()} of {self.enrolment.patient.code} at {when}"

    @property
    def summary(self) -> str:
        """A short human description of the entry."""
        if self.kind == self.Kind.DOSE:
            return str(self.get_dose_status_display())
        if self.kind == self.Kind.SYMPTOM:
            return f"{self.symptom} ({self.severity}/10)"
        if self.kind == self.Kind.MEASUREMENT:
            if self.measurement == self.Measurement.BLOOD_PRESSURE:
                return f"{self.value:.0f}/{self.value_secondary:.0f} {self.unit}"
            return f"{self.get_measurement_display()}: {self.value.normalize():f} {self.unit}"
        if self.kind == self.Kind.MOOD:
            return f"{self.mood}/5"
        return self.note[:80]
