"""Analytics: per-program analytics settings, adherence snapshots and versioned risk models."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .enrolments import Enrolment
from .programs import Program


def _default_min_cell() -> int:
    return settings.PSP_CLIENT_MIN_CELL


class ProgramAnalyticsSettings(models.Model):
    """A program's analytics contract: small-cell k, adherence parameters, contracted volumes."""

    program = models.OneToOneField(
        Program, on_delete=models.CASCADE, related_name="analytics_settings"
    )
    min_cell = models.PositiveSmallIntegerField(
        _("smallest count shown to the client (k)"),
        default=_default_min_cell,
        validators=[MinValueValidator(2)],
    )
    pseudonymous_rows_enabled = models.BooleanField(
        _("contract enables pseudonymous patient-level rows"), default=False
    )
    allowed_gap_days = models.PositiveSmallIntegerField(
        _("allowed supply gap before discontinuation (days)"), default=60
    )
    days_per_delivery = models.PositiveSmallIntegerField(
        _("days of therapy per delivery when not recorded"), default=28
    )
    contract_volumes = models.JSONField(
        _("contracted yearly volumes by service"),
        default=dict,
        blank=True,
        help_text=_('e.g. {"visits": 400, "infusions": 120, "deliveries": 300}'),
    )
    risk_segments = models.JSONField(
        _("risk cluster → risk profile"),
        default=dict,
        blank=True,
        help_text=_('Cluster number to risk profile, e.g. {"0": "low", "1": "high"}'),
    )

    class Meta:
        verbose_name = _("program analytics settings")
        verbose_name_plural = _("program analytics settings")

    def __str__(self) -> str:
        return f"{self.program.code}: k={self.min_cell}"


class AdherenceSnapshot(models.Model):
    """Adherence measures of one enrolment over one calendar month (recomputed nightly)."""

    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.CASCADE, related_name="adherence_snapshots"
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    days_observed = models.PositiveSmallIntegerField(_("days observed"), default=0)
    pdc = models.FloatField(_("PDC"), null=True, blank=True)
    mpr = models.FloatField(_("MPR"), null=True, blank=True)
    dose_adherence = models.FloatField(_("dose adherence"), null=True, blank=True)
    doses_expected = models.FloatField(_("doses expected"), null=True, blank=True)
    doses_on_time = models.PositiveIntegerField(_("doses on time"), default=0)
    doses_late = models.PositiveIntegerField(_("doses late"), default=0)
    doses_missed = models.PositiveIntegerField(_("doses missed"), default=0)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        ordering = ["enrolment", "-period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "period_start"], name="one_adherence_snapshot_per_period"
            )
        ]
        indexes = [models.Index(fields=["period_start", "pdc"])]

    def __str__(self) -> str:
        return f"{self.enrolment_id} {self.period_start:%Y-%m}: PDC {self.pdc}"


class RiskModelVersion(models.Model):
    """One trained risk-clustering model: features, scaling, centroids and plain-words profiles."""

    program = models.ForeignKey(
        Program, on_delete=models.CASCADE, null=True, blank=True, related_name="risk_models"
    )
    version = models.PositiveIntegerField(_("version"))
    trained_at = models.DateTimeField(_("trained at"), default=timezone.now)
    n_samples = models.PositiveIntegerField(_("enrolments used"), default=0)
    features = models.JSONField(_("feature names"), default=list)
    parameters = models.JSONField(
        _("model parameters"), default=dict, help_text=_("Scaling and centroids")
    )
    profiles = models.JSONField(
        _("cluster profiles"), default=list, help_text=_("Per cluster: size, means, plain words")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-trained_at"]
        constraints = [
            models.UniqueConstraint(fields=["program", "version"], name="one_risk_model_version")
        ]

    def __str__(self) -> str:
        scope = self.program.code if self.program_id else "all programs"
        return f"Risk model v{self.version} ({scope})"
