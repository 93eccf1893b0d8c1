"""Admin of the catalog (organizations, products, modules, templates) and of programs."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ..models import (
    CarePathwayStep,
    EnrolmentSchedule,
    Operator,
    OperatorAbsence,
    Organization,
    Product,
    Program,
    ProgramTemplate,
    ServiceModule,
)
from ..scheduling.rules import pathway_cycles
from ..services.activities import absence_record
from ..services.pathways import program_clone, template_clone
from ..services.programs import program_create
from .base import (
    ReadOnlyAdminMixin,
    ScopedAdmin,
    ScopedTabularInline,
    adopt,
    staff_organization_id,
)


@admin.register(Organization)
class OrganizationAdmin(ScopedAdmin):
    scope = "catalog"
    list_display = ("name", "kind", "city", "country")
    list_filter = ("kind", "country")
    search_fields = ("name", "city", "vat_number")


@admin.register(Product)
class ProductAdmin(ScopedAdmin):
    scope = "catalog"
    list_display = ("name", "atc_code", "form", "manufacturer", "requires_cold_chain")
    list_filter = ("form", "requires_cold_chain")
    list_select_related = ("manufacturer",)
    search_fields = ("name", "atc_code")
    autocomplete_fields = ("manufacturer",)


@admin.register(ServiceModule)
class ServiceModuleAdmin(ScopedAdmin):
    scope = "catalog"
    list_display = ("code", "name", "channel", "performer_role", "default_duration_minutes")
    list_filter = ("channel", "performer_role", "is_clinical")
    search_fields = ("code", "name")


class StepFormSet(forms.BaseInlineFormSet):
    """Each step is validated by the model (RRULE, self-anchor, window); the formset adds the
    check that needs every row at once: anchors must not form a cycle."""

    def clean(self) -> None:
        super().clean()
        edges = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            instance = form.instance
            anchor = form.cleaned_data.get("anchor_step")
            key = instance.pk or id(form)
            edges.append((key, anchor.pk if anchor is not None else None))
        if pathway_cycles(edges):
            raise ValidationError(_("These anchors form a cycle: a step would wait for itself."))


class StepInline(ScopedTabularInline):
    model = CarePathwayStep
    formset = StepFormSet
    fields = (
        "position",
        "name",
        "module",
        "anchor",
        "anchor_step",
        "offset_days",
        "rrule",
        "occurrence_limit",
        "end_after_days",
        "risk_profiles",
        "performer_role",
        "partner",
        "required_skills",
        "window_start",
        "window_end",
        "duration_minutes",
        "reschedule_policy",
        "reschedule_after_days",
        "max_reschedules",
        "on_request",
    )
    raw_id_fields = ("anchor_step",)
    autocomplete_fields = ("module", "partner")


class TemplateStepInline(StepInline):
    fk_name = "template"


class ProgramStepInline(StepInline):
    fk_name = "program"


@admin.register(ProgramTemplate)
class ProgramTemplateAdmin(ScopedAdmin):
    scope = "catalog"
    list_display = ("name", "pathology")
    search_fields = ("name", "pathology")
    filter_horizontal = ("modules",)
    inlines = (TemplateStepInline,)
    actions = ("clone_templates",)

    @admin.action(description=_("Clone the selected templates (with their pathway)"))
    def clone_templates(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda t: template_clone(actor=request.user, template=t, name=f"{t.name} (copy)"),
            done_message=_("%(n)d template(s) cloned."),
        )


@admin.register(Program)
class ProgramAdmin(ScopedAdmin):
    scope = "program"
    scope_path = "pk"
    list_display = ("code", "name", "pathology", "sponsor", "provider", "status", "start_date")
    list_filter = ("status", "pathology")
    list_select_related = ("sponsor", "provider")
    search_fields = ("code", "name", "pathology")
    date_hierarchy = "start_date"
    autocomplete_fields = ("products", "template")
    inlines = (ProgramStepInline,)
    actions = ("replicate_programs",)
    fieldsets = (
        (None, {"fields": ("code", "name", "pathology", "status", "template", "products")}),
        ("Parties", {"fields": ("sponsor", "provider")}),
        (
            "Contract",
            {
                "fields": (
                    "start_date",
                    "end_date",
                    "annual_budget_eur",
                    "adverse_event_sla_hours",
                    "gamification_enabled",
                )
            },
        ),
    )

    @admin.action(description=_("Replicate the selected programs (a copy in design)"))
    def replicate_programs(self, request, queryset):
        def replicate(program: Program) -> Program:
            code, n = f"{program.code}-COPY"[:30], 2
            while Program.objects.filter(code=code).exists():
                code, n = f"{program.code}-COPY{n}"[:30], n + 1
            return program_clone(actor=request.user, program=program, code=code)

        self.run_service(
            request, queryset, replicate, done_message=_("%(n)d program(s) replicated.")
        )

    def get_readonly_fields(self, request, obj=None):
        # Grants hang off sponsor and provider: moving a program would leave them behind.
        return ("sponsor", "provider") if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "provider" and not request.user.is_superuser:
            kwargs["queryset"] = Organization.objects.filter(
                pk=staff_organization_id(request.user), kind=Organization.Kind.PROVIDER
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # A new program goes through the service so that staff and client groups get grants.
        data = form.cleaned_data
        extra = {
            name: data[name]
            for name in (
                "status",
                "template",
                "start_date",
                "end_date",
                "annual_budget_eur",
                "adverse_event_sla_hours",
                "gamification_enabled",
            )
            if name in data
        }
        program = program_create(
            actor=request.user,
            code=data["code"],
            name=data["name"],
            pathology=data["pathology"],
            sponsor=data["sponsor"],
            provider=data["provider"],
            **extra,
        )
        adopt(obj, program)


@admin.register(OperatorAbsence)
class OperatorAbsenceAdmin(ScopedAdmin):
    """Absences are recorded through the service, which reassigns the operator's activities."""

    scope = "custom"
    list_display = ("operator", "starts_on", "ends_on", "reason", "created_by")
    list_select_related = ("operator__user", "created_by")
    date_hierarchy = "starts_on"
    autocomplete_fields = ("operator",)
    fields = ("operator", "starts_on", "ends_on", "reason")

    def restrict(self, queryset, user):
        return queryset.filter(operator__organization_id=staff_organization_id(user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "operator" and not request.user.is_superuser:
            kwargs["queryset"] = Operator.objects.filter(
                organization_id=staff_organization_id(request.user)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        absence = absence_record(
            actor=request.user,
            operator=data["operator"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            reason=data.get("reason", ""),
        )
        adopt(obj, absence)


@admin.register(EnrolmentSchedule)
class EnrolmentScheduleAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    """The engine's memory per enrolment (therapy cycle, horizon reached): read only."""

    scope = "enrolment"
    list_display = ("enrolment", "therapy_cycle", "materialized_until")
    list_select_related = ("enrolment__patient", "enrolment__program")
    search_fields = ("enrolment__patient__code",)
