"""Admin of the catalog (organizations, products, modules, templates) and of programs."""

from __future__ import annotations

from django.contrib import admin

from ..models import (
    CarePathwayStep,
    Organization,
    Product,
    Program,
    ProgramTemplate,
    ServiceModule,
)
from ..services.programs import program_create
from .base import ScopedAdmin, ScopedTabularInline, adopt, staff_organization_id


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


class StepInline(ScopedTabularInline):
    model = CarePathwayStep
    fields = (
        "position",
        "name",
        "module",
        "anchor",
        "anchor_step",
        "offset_days",
        "rrule",
        "occurrence_limit",
        "performer_role",
        "partner",
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
