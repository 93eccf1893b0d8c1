"""Admin of the care records: enrolments, consents, activities, diary, reports, timeline, safety,
devices, engagement and the audit log. Status changes go through the services, never around them.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ActionForm
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ..models import (
    Activity,
    AdverseEvent,
    AuditEvent,
    BadgeAward,
    Case,
    Consent,
    Device,
    DeviceEvent,
    DiaryEntry,
    Enrolment,
    Interaction,
    PointsAward,
    Report,
    ReportAttachment,
    ReportReceipt,
    User,
)
from ..services.audit import audit_write
from ..services.consents import consent_record, consent_withdraw
from ..services.enrolments import (
    enrolment_add_doctor,
    enrolment_assign_operator,
    enrolment_refer,
    enrolment_transition,
)
from .base import (
    ReadOnlyAdminMixin,
    ScopedAdmin,
    ScopedTabularInline,
    adopt,
    program_filter,
    staff_enrolments,
    staff_patients,
    staff_programs,
)


@admin.display(description=_("patient"), ordering="enrolment__patient__code")
def enrolment_patient_code(obj) -> str:
    return obj.enrolment.patient.code


@admin.display(description=_("program"), ordering="enrolment__program__code")
def enrolment_program_code(obj) -> str:
    return obj.enrolment.program.code


# --- enrolments -------------------------------------------------------------------------------


class EnrolmentActionForm(ActionForm):
    """The changelist action bar, with the reason a suspension or withdrawal needs."""

    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=200,
        help_text=_("Required to suspend or withdraw."),
    )


REFERRAL_FIELDS = (
    "patient",
    "program",
    "referring_doctor",
    "product",
    "dose",
    "frequency",
    "doses_per_week",
)
TEAM_FIELDS = ("doctors", "operators")


@admin.register(Enrolment)
class EnrolmentAdmin(ScopedAdmin):
    scope = "program"
    audit_patient_path = "patient"
    list_display = (
        "patient",
        "program_code",
        "status",
        "risk_profile",
        "referring_doctor",
        "referred_at",
        "start_date",
    )
    list_filter = ("status", "risk_profile", program_filter("program"))
    list_select_related = ("patient", "program", "referring_doctor__user")
    search_fields = ("=patient__code", "patient__last_name", "=program__code")
    date_hierarchy = "referred_at"
    autocomplete_fields = ("patient", "referring_doctor", "product", "doctors", "operators")
    action_form = EnrolmentActionForm
    actions = ("activate", "suspend", "withdraw", "complete")
    status_fields = ("status", "status_changed_at", "status_reason", "referred_at", "end_date")
    fieldsets = (
        (None, {"fields": ("patient", "program", "referring_doctor")}),
        (_("Status"), {"fields": status_fields}),
        (_("Therapy"), {"fields": ("product", "dose", "frequency", "doses_per_week")}),
        (_("Care"), {"fields": ("risk_profile", "start_date", "therapy_start_date", *TEAM_FIELDS)}),
    )

    @admin.display(description=_("program"), ordering="program__code")
    def program_code(self, obj: Enrolment) -> str:
        return obj.program.code

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": (*REFERRAL_FIELDS, *TEAM_FIELDS)}),)
        return self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        # The status moves only through the actions below (the service owns the machine).
        if obj is None:
            return ()
        return ("patient", "program", *self.status_fields)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "program":
            kwargs["queryset"] = staff_programs(request.user).filter(status="active")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        enrolment = enrolment_refer(
            actor=request.user,
            patient=data["patient"],
            program=data["program"],
            referring_doctor=data.get("referring_doctor"),
            product=data.get("product"),
            dose=data.get("dose", ""),
            frequency=data.get("frequency", ""),
            doses_per_week=data.get("doses_per_week"),
        )
        adopt(obj, enrolment)

    def save_related(self, request, form, formsets, change):
        # The care team changes through the services, which check the program's grants.
        doctors = form.cleaned_data.pop("doctors", None)
        operators = form.cleaned_data.pop("operators", None)
        super().save_related(request, form, formsets, change)
        enrolment: Enrolment = form.instance
        if doctors is not None:
            current = set(enrolment.doctors.all())
            for doctor in set(doctors) - current:
                enrolment_add_doctor(actor=request.user, enrolment=enrolment, doctor=doctor)
            if change:
                self._remove_from_team(request, enrolment, "doctors", current - set(doctors))
        if operators is not None:
            current = set(enrolment.operators.all())
            for operator in set(operators) - current:
                enrolment_assign_operator(
                    actor=request.user, enrolment=enrolment, operator=operator
                )
            if change:
                self._remove_from_team(request, enrolment, "operators", current - set(operators))

    def _remove_from_team(self, request, enrolment: Enrolment, relation: str, removed) -> None:
        if not removed:
            return
        getattr(enrolment, relation).remove(*removed)
        audit_write(
            actor=request.user,
            action="revoke",
            verb=f"enrolment.remove_{relation[:-1]}",
            obj=enrolment,
            patient=enrolment.patient,
            detail={relation: sorted(member.pk for member in removed)},
        )

    def _transition(self, request, queryset: QuerySet, to_status: str, reason: str = "") -> None:
        self.run_service(
            request,
            queryset.select_related("patient", "program"),
            lambda e: enrolment_transition(
                actor=request.user, enrolment=e, to_status=to_status, reason=reason
            ),
            done_message=_("%%(n)d enrolment(s) changed to %(status)s.") % {"status": to_status},
        )

    def _reason(self, request) -> str:
        return (request.POST.get("reason") or "").strip()[:200]

    @admin.action(description=_("Activate the selected enrolments"), permissions=["change"])
    def activate(self, request, queryset):
        self._transition(request, queryset, "active")

    @admin.action(
        description=_("Suspend the selected enrolments (give a reason)"), permissions=["change"]
    )
    def suspend(self, request, queryset):
        self._transition(request, queryset, "suspended", self._reason(request))

    @admin.action(
        description=_("Withdraw the selected enrolments (give a reason)"), permissions=["change"]
    )
    def withdraw(self, request, queryset):
        self._transition(request, queryset, "withdrawn", self._reason(request))

    @admin.action(description=_("Complete the selected enrolments"), permissions=["change"])
    def complete(self, request, queryset):
        self._transition(request, queryset, "completed", self._reason(request))


@admin.register(Consent)
class ConsentAdmin(ScopedAdmin):
    """Consents are legal records: recorded and withdrawn through the service, never edited."""

    scope = "patient"
    audit_patient_path = "patient"
    list_display = (
        "patient",
        "kind",
        "document_version",
        "given_at",
        "withdrawn_at",
        "withdrawn_via",
    )
    list_filter = ("kind", ("withdrawn_at", admin.EmptyFieldListFilter), "withdrawn_via")
    list_select_related = ("patient",)
    search_fields = ("=patient__code", "patient__last_name")
    autocomplete_fields = ("patient", "enrolment")
    actions = ("withdraw",)
    add_fields = ("patient", "enrolment", "kind", "document_version")
    view_fields = (
        *add_fields,
        "given_at",
        "given_via",
        "recorded_by",
        "withdrawn_at",
        "withdrawn_via",
        "withdrawn_by",
    )

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.view_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.view_fields

    def has_change_permission(self, request, obj=None):
        # The list may run the withdraw action; a saved consent's page is read-only.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        consent = consent_record(
            actor=request.user,
            patient=data["patient"],
            kind=data["kind"],
            document_version=data["document_version"],
            enrolment=data.get("enrolment"),
        )
        adopt(obj, consent)

    @admin.action(description=_("Withdraw the selected consents"), permissions=["change"])
    def withdraw(self, request, queryset):
        self.run_service(
            request,
            queryset.select_related("patient"),
            lambda c: consent_withdraw(actor=request.user, consent=c),
            done_message=_("%(n)d consent(s) withdrawn."),
        )


# --- activities and the diary -----------------------------------------------------------------


@admin.register(Activity)
class ActivityAdmin(ScopedAdmin):
    scope = "enrolment"
    audit_patient_path = "enrolment__patient"
    list_display = (
        "scheduled_start",
        "module",
        enrolment_patient_code,
        enrolment_program_code,
        "assignee",
        "status",
        "patient_answer",
    )
    list_filter = (
        "status",
        "patient_answer",
        program_filter("enrolment__program"),
        ("scheduled_start", admin.DateFieldListFilter),
        "cold_chain",
    )
    # Her answer comes from her (portal, app, SMS) or a call: ``services.appointments``.
    readonly_fields = ("patient_answer", "patient_answered_at")
    list_select_related = ("module", "enrolment__patient", "enrolment__program", "assignee__user")
    search_fields = ("=enrolment__patient__code",)
    autocomplete_fields = ("enrolment", "assignee", "partner", "module")
    ordering = ("-pk",)  # newest first, served by the primary-key index
    raw_id_fields = ("step", "linked_to")


@admin.register(DiaryEntry)
class DiaryEntryAdmin(ScopedAdmin):
    """The diary is the patient's own record: read here, corrected by a superseding entry."""

    scope = "enrolment"
    audit_patient_path = "enrolment__patient"
    list_display = (
        "occurred_at",
        enrolment_patient_code,
        enrolment_program_code,
        "kind",
        "summary",
        "source",
        "author",
    )
    list_filter = (
        "kind",
        "source",
        program_filter("enrolment__program"),
        ("occurred_at", admin.DateFieldListFilter),
    )
    list_select_related = ("enrolment__patient", "enrolment__program", "author")
    search_fields = ("=enrolment__patient__code",)
    raw_id_fields = ("enrolment", "author", "supersedes")
    ordering = ("-pk",)  # newest first, served by the primary-key index

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- reports ----------------------------------------------------------------------------------


class ReportAttachmentInline(ScopedTabularInline):
    model = ReportAttachment
    fields = ("file", "original_name", "content_type", "size_bytes")


@admin.register(Report)
class ReportAdmin(ScopedAdmin):
    scope = "enrolment"
    audit_patient_path = "enrolment__patient"
    list_display = (
        "created_at",
        "kind",
        "subject",
        enrolment_patient_code,
        enrolment_program_code,
        "author",
        "recipient",
    )
    list_filter = ("kind", program_filter("enrolment__program"))
    list_select_related = ("enrolment__patient", "enrolment__program", "author", "recipient")
    search_fields = ("=enrolment__patient__code", "subject")
    date_hierarchy = "created_at"
    autocomplete_fields = ("enrolment", "author", "recipient")
    raw_id_fields = ("in_reply_to",)
    inlines = (ReportAttachmentInline,)


@admin.register(ReportReceipt)
class ReportReceiptAdmin(ScopedAdmin):
    scope = "enrolment"
    scope_path = "report__enrolment"
    list_display = ("report", "reader", "read_at")
    list_select_related = ("report", "reader")
    search_fields = ("=report__enrolment__patient__code", "reader__email")
    raw_id_fields = ("report",)
    autocomplete_fields = ("reader",)


# --- timeline and contact centre --------------------------------------------------------------


@admin.register(Interaction)
class InteractionAdmin(ScopedAdmin):
    scope = "patient"
    audit_patient_path = "patient"
    list_display = ("occurred_at", "patient", "channel", "direction", "handled_by", "case")
    list_filter = ("channel", "direction", ("occurred_at", admin.DateFieldListFilter))
    list_select_related = ("patient", "handled_by", "case")
    search_fields = ("=patient__code", "patient__last_name")
    autocomplete_fields = ("patient", "enrolment", "case", "handled_by")
    ordering = ("-pk",)  # newest first, served by the primary-key index


@admin.register(Case)
class CaseAdmin(ScopedAdmin):
    scope = "patient"
    audit_patient_path = "patient"
    list_display = ("__str__", "patient", "status", "priority", "assigned_to", "opened_at")
    list_filter = ("status", "priority", "category")
    list_select_related = ("patient", "assigned_to")
    search_fields = ("=id", "=patient__code", "patient__last_name", "subject")
    date_hierarchy = "opened_at"
    autocomplete_fields = ("patient", "enrolment", "opened_by", "assigned_to")


# --- safety -----------------------------------------------------------------------------------


@admin.register(AdverseEvent)
class AdverseEventAdmin(ScopedAdmin):
    scope = "enrolment"
    audit_patient_path = "enrolment__patient"
    list_display = (
        "__str__",
        enrolment_patient_code,
        enrolment_program_code,
        "seriousness",
        "status",
        "aware_at",
        "forward_due_at",
        "forwarded_at",
    )
    list_filter = ("seriousness", "status", program_filter("enrolment__program"))
    list_select_related = ("enrolment__patient", "enrolment__program")
    search_fields = ("=id", "=enrolment__patient__code")
    date_hierarchy = "aware_at"
    autocomplete_fields = ("enrolment", "reported_by")

    def has_change_permission(self, request, obj=None):
        # Immutable once forwarded to the sponsor's pharmacovigilance.
        if obj is not None and obj.status == AdverseEvent.Status.FORWARDED:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status == AdverseEvent.Status.FORWARDED:
            return False
        return super().has_delete_permission(request, obj)


# --- devices ----------------------------------------------------------------------------------


@admin.register(Device)
class DeviceAdmin(ScopedAdmin):
    scope = "custom"
    list_display = ("serial", "kind", "patient_code", "is_active", "last_seen_at")
    list_filter = ("kind", "is_active")
    list_select_related = ("enrolment__patient",)
    search_fields = ("=serial", "=enrolment__patient__code")
    autocomplete_fields = ("enrolment",)

    @admin.display(description=_("patient"), ordering="enrolment__patient__code")
    def patient_code(self, obj: Device) -> str:
        return obj.enrolment.patient.code if obj.enrolment_id else "—"

    def restrict(self, queryset: QuerySet, user: User) -> QuerySet:
        # Devices in stock belong to no patient and may be handed to any enrolment.
        return queryset.filter(Q(enrolment__in=staff_enrolments(user)) | Q(enrolment__isnull=True))


@admin.register(DeviceEvent)
class DeviceEventAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    scope = "enrolment"
    scope_path = "device__enrolment"
    list_display = ("device", "seq", "kind", "occurred_at", "received_at")
    list_filter = (("occurred_at", admin.DateFieldListFilter),)
    list_select_related = ("device",)
    search_fields = ("=device__serial",)
    ordering = ("-pk",)  # newest first, served by the primary-key index


# --- engagement -------------------------------------------------------------------------------


@admin.register(PointsAward)
class PointsAwardAdmin(ScopedAdmin):
    scope = "enrolment"
    list_display = ("awarded_at", enrolment_patient_code, "points", "reason")
    list_select_related = ("enrolment__patient", "enrolment__program")
    search_fields = ("=enrolment__patient__code", "reason")
    autocomplete_fields = ("enrolment",)


@admin.register(BadgeAward)
class BadgeAwardAdmin(ScopedAdmin):
    scope = "enrolment"
    list_display = ("awarded_at", enrolment_patient_code, "code")
    list_filter = ("code",)
    list_select_related = ("enrolment__patient", "enrolment__program")
    search_fields = ("=enrolment__patient__code", "code")
    autocomplete_fields = ("enrolment",)


# --- audit ------------------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    """The append-only audit trail; staff see the records of their patients and programs."""

    scope = "custom"
    list_display = (
        "at",
        "actor",
        "action",
        "verb",
        "object_type",
        "object_id",
        "patient",
        "portal",
        "ip_address",
    )
    list_filter = ("action", "portal", ("at", admin.DateFieldListFilter))
    list_select_related = ("actor", "patient")
    search_fields = ("=patient__code", "=object_id", "verb", "actor__email")

    def restrict(self, queryset: QuerySet, user: User) -> QuerySet:
        program_ids = [str(pk) for pk in staff_programs(user).values_list("pk", flat=True)]
        return queryset.filter(
            Q(patient__in=staff_patients(user))
            | Q(object_type="psp_crm.program", object_id__in=program_ids)
            | Q(actor=user)
        )
