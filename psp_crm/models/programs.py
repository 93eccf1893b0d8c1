"""Programs (PSPs), their templates, the service-module catalog and care-pathway steps."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from .organizations import Organization, Product
from .people import Operator


class ServiceModule(models.Model):
    """A service the provider sells (home infusion, delivery, counselling call...)."""

    class Channel(models.TextChoices):
        HOME_VISIT = "home_visit", _("Home visit")
        PHONE = "phone", _("Phone")
        VIDEO = "video", _("Video call")
        LOGISTICS = "logistics", _("Logistics")
        HOSPITAL = "hospital", _("Hospital")
        DIGITAL = "digital", _("Digital (app/SMS/e-mail)")

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=150)
    performer_role = models.CharField(
        _("performer role"), max_length=20, choices=Operator.Role.choices, blank=True
    )
    default_duration_minutes = models.PositiveSmallIntegerField(
        _("default duration (minutes)"), default=60
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    is_clinical = models.BooleanField(
        _("clinical"), default=True, help_text=_("Logistics modules carry no clinical data")
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProgramTemplate(models.Model):
    """The modular base a program is built from, per pathology."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    pathology = models.CharField(_("pathology"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    modules = models.ManyToManyField(ServiceModule, blank=True, related_name="templates")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} [{self.pathology}]"


class Program(models.Model):
    """One Patient Support Program: sponsor, provider, pathology, products and pathway."""

    class Status(models.TextChoices):
        DESIGN = "design", _("In design")
        ACTIVE = "active", _("Active")
        CLOSED = "closed", _("Closed")

    code = models.SlugField(_("code"), max_length=30, unique=True, allow_unicode=False)
    name = models.CharField(_("name"), max_length=200)
    pathology = models.CharField(_("pathology"), max_length=100)
    sponsor = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="sponsored_programs",
        limit_choices_to={"kind": Organization.Kind.PHARMA},
    )
    provider = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="provided_programs",
        limit_choices_to={"kind": Organization.Kind.PROVIDER},
    )
    products = models.ManyToManyField(Product, blank=True, related_name="programs")
    template = models.ForeignKey(
        ProgramTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="programs"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DESIGN
    )
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    annual_budget_eur = models.DecimalField(
        _("annual budget (EUR)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    adverse_event_sla_hours = models.PositiveSmallIntegerField(
        _("adverse-event forwarding SLA (hours)"), default=24
    )
    gamification_enabled = models.BooleanField(_("gamification enabled"), default=True)

    class Meta:
        ordering = ["code"]
        permissions = [
            ("view_program_kpis", "Can view the program's aggregate KPIs"),
            ("manage_program", "Can manage the program (provider staff)"),
            ("staff_program", "Works in the program as an operator"),
            ("follow_program", "Follows patients in the program as a doctor"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="program_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class ProgramUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key guardian permission of a user on a program."""

    content_object = models.ForeignKey(Program, on_delete=models.CASCADE)


class ProgramGroupObjectPermission(GroupObjectPermissionBase):
    """Direct foreign-key guardian permission of a group on a program."""

    content_object = models.ForeignKey(Program, on_delete=models.CASCADE)


class CarePathwayStep(models.Model):
    """When, for whom and by whom a service module happens within a program (or template)."""

    class Anchor(models.TextChoices):
        ENROLMENT_START = "enrolment_start", _("Enrolment start")
        THERAPY_START = "therapy_start", _("Therapy start")
        STEP = "step", _("Another step")

    class ReschedulePolicy(models.TextChoices):
        NONE = "none", _("Do not reschedule")
        NEXT_DAY = "next_day", _("Next working day, same time")
        AFTER_DAYS = "after_days", _("After N days, same time")

    program = models.ForeignKey(
        Program, on_delete=models.CASCADE, null=True, blank=True, related_name="pathway_steps"
    )
    template = models.ForeignKey(
        ProgramTemplate,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="pathway_steps",
    )
    module = models.ForeignKey(ServiceModule, on_delete=models.PROTECT, related_name="steps")
    name = models.CharField(_("name"), max_length=150, blank=True)
    anchor = models.CharField(
        _("anchor"), max_length=20, choices=Anchor.choices, default=Anchor.ENROLMENT_START
    )
    anchor_step = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="dependent_steps"
    )
    offset_days = models.IntegerField(_("offset (days)"), default=0)
    rrule = models.CharField(
        _("recurrence (RFC 5545 RRULE)"),
        max_length=300,
        blank=True,
        help_text=_("e.g. FREQ=MONTHLY;INTERVAL=1"),
    )
    occurrence_limit = models.PositiveIntegerField(
        _("end after N occurrences"), null=True, blank=True
    )
    end_after_days = models.PositiveIntegerField(_("end after N days"), null=True, blank=True)
    risk_profiles = models.JSONField(
        _("eligible risk profiles"),
        default=list,
        blank=True,
        help_text=_("Empty means every patient"),
    )
    performer_role = models.CharField(
        _("performer role"), max_length=20, choices=Operator.Role.choices, blank=True
    )
    partner = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="pathway_steps"
    )
    window_start = models.TimeField(_("window start"), null=True, blank=True)
    window_end = models.TimeField(_("window end"), null=True, blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), null=True, blank=True
    )
    on_request = models.BooleanField(_("on request only"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    required_skills = models.JSONField(
        _("required skills"),
        default=list,
        blank=True,
        help_text=_("The performer must have every one of these skills"),
    )
    reschedule_policy = models.CharField(
        _("when missed or cancelled"),
        max_length=12,
        choices=ReschedulePolicy.choices,
        default=ReschedulePolicy.NONE,
    )
    reschedule_after_days = models.PositiveSmallIntegerField(
        _("reschedule after (days)"), default=1
    )
    max_reschedules = models.PositiveSmallIntegerField(_("at most N reschedules"), default=2)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(program__isnull=False) & Q(template__isnull=True))
                | (Q(program__isnull=True) & Q(template__isnull=False)),
                name="step_belongs_to_program_xor_template",
            ),
            models.CheckConstraint(
                condition=~Q(anchor="step") | Q(anchor_step__isnull=False),
                name="step_anchor_needs_anchor_step",
            ),
            models.CheckConstraint(
                condition=Q(window_start__isnull=True)
                | Q(window_end__isnull=True)
                | Q(window_end__gt=models.F("window_start")),
                name="step_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        owner = self.program.code if self.program_id else f"template {self.template_id}"
        return f"{owner}: {self.name or self.module.name}"

    def clean(self) -> None:
        # The rules live with the scheduling engine (RRULE parsing, anchors, windows).
        from ..scheduling.rules import step_errors

        errors = step_errors(self)
        if errors:
            raise ValidationError(errors)
