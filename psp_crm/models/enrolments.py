"""Enrolments (patient × program) with their status machine, and consents."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from .organizations import Product
from .people import Doctor, Operator, Patient, User
from .programs import Program


class Enrolment(models.Model):
    """A patient's participation in one program, from referral to completion."""

    class Status(models.TextChoices):
        REFERRED = "referred", _("Referred")
        CONSENTED = "consented", _("Consented")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        COMPLETED = "completed", _("Completed")

    # The status machine: from → allowed targets.
    TRANSITIONS: dict[str, frozenset[str]] = {
        "referred": frozenset({"consented", "withdrawn"}),
        "consented": frozenset({"active", "withdrawn"}),
        "active": frozenset({"suspended", "withdrawn", "completed"}),
        "suspended": frozenset({"active", "withdrawn", "completed"}),
        "withdrawn": frozenset(),
        "completed": frozenset(),
    }
    OPEN_STATUSES = ("referred", "consented", "active", "suspended")

    class RiskProfile(models.TextChoices):
        UNASSESSED = "unassessed", _("Not assessed")
        LOW = "low", _("Low risk")
        MEDIUM = "medium", _("Medium risk")
        HIGH = "high", _("High risk")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="enrolments")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="enrolments")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.REFERRED
    )
    referring_doctor = models.ForeignKey(
        Doctor, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals"
    )
    doctors = models.ManyToManyField(
        Doctor, blank=True, related_name="followed_enrolments", verbose_name=_("following doctors")
    )
    operators = models.ManyToManyField(
        Operator,
        blank=True,
        related_name="assigned_enrolments",
        verbose_name=_("assigned operators"),
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="enrolments"
    )
    dose = models.CharField(_("dose"), max_length=100, blank=True)
    frequency = models.CharField(_("frequency"), max_length=100, blank=True)
    doses_per_week = models.DecimalField(
        _("expected doses per week"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    risk_profile = models.CharField(
        _("risk profile"),
        max_length=12,
        choices=RiskProfile.choices,
        default=RiskProfile.UNASSESSED,
    )
    referred_at = models.DateTimeField(_("referred at"), default=timezone.now)
    start_date = models.DateField(_("enrolment start"), null=True, blank=True)
    therapy_start_date = models.DateField(_("therapy start"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    status_reason = models.CharField(_("reason of last status change"), max_length=200, blank=True)

    class Meta:
        ordering = ["-referred_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "program"],
                condition=Q(status__in=["referred", "consented", "active", "suspended"]),
                name="one_open_enrolment_per_patient_program",
            )
        ]
        indexes = [
            models.Index(fields=["program", "status"]),
            models.Index(fields=["patient", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.patient.code} in {self.program.code} ({self.get_status_display()})"

    def can_transition_to(self, target: str) -> bool:
        return target in self.TRANSITIONS.get(self.status, frozenset())


class EnrolmentUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key guardian permission of a user on one enrolment (a covering doctor)."""

    content_object = models.ForeignKey(Enrolment, on_delete=models.CASCADE)


class EnrolmentGroupObjectPermission(GroupObjectPermissionBase):
    """Direct foreign-key guardian permission of a group on one enrolment."""

    content_object = models.ForeignKey(Enrolment, on_delete=models.CASCADE)


class Consent(models.Model):
    """A versioned, withdrawable consent a patient gave (participation, channels, research)."""

    class Kind(models.TextChoices):
        PARTICIPATION = "participation", _("Program participation")
        DATA_PROCESSING = "data_processing", _("Health data processing")
        CHANNEL_SMS = "channel_sms", _("Contact by SMS")
        CHANNEL_EMAIL = "channel_email", _("Contact by e-mail")
        CHANNEL_PHONE = "channel_phone", _("Contact by phone")
        CHANNEL_PUSH = "channel_push", _("Push notifications on the app")
        RESEARCH = "research", _("Data sharing for research")

    class Via(models.TextChoices):
        """Where a consent was given or withdrawn (the timeline's channel of that change)."""

        PORTAL = "portal", _("Patient portal")
        APP = "app", _("Patient app")
        STAFF = "staff", _("Provider staff")
        CONTACT_CENTRE = "contact_centre", _("Contact centre call")
        SMS = "sms", _("SMS reply")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents")
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.CASCADE, null=True, blank=True, related_name="consents"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    document_version = models.CharField(_("document version"), max_length=20)
    given_at = models.DateTimeField(_("given at"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    given_via = models.CharField(_("given via"), max_length=20, choices=Via.choices, blank=True)
    withdrawn_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    withdrawn_via = models.CharField(
        _("withdrawn via"), max_length=20, choices=Via.choices, blank=True
    )

    class Meta:
        ordering = ["-given_at"]
        indexes = [models.Index(fields=["patient", "kind"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gte=models.F("given_at")),
                name="consent_withdrawn_after_given",
            )
        ]

    def __str__(self) -> str:
        state = "withdrawn" if self.withdrawn_at else "given"
        return f"{self.patient.code}: {self.get_kind_display()} v{self.document_version} ({state})"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None
