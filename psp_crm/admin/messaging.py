"""Admin of messages and reminders: templates per program and language, every send with its
delivery history (failed sends are retried from here), contact preferences (read-only: they change
through the patient portal and its services), inbound SMS and the
contact centre's call scripts.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..messaging.templates import VARIABLES, validate_template
from ..models import (
    CallScript,
    ChannelPreference,
    ContactPreferences,
    InboundSms,
    Message,
    MessageTemplate,
)
from ..services.messaging import message_retry_now
from .base import ReadOnlyAdminMixin, ScopedAdmin, staff_programs


class MessageTemplateForm(forms.ModelForm):
    """Refuses placeholders the purpose does not offer, on the field that has them."""

    class Meta:
        model = MessageTemplate
        fields = ("program", "purpose", "channel", "language", "subject", "body", "is_active")

    def clean(self) -> dict:
        cleaned = super().clean()
        purpose = cleaned.get("purpose")
        if purpose:
            # DomainError is a ValidationError keyed by field: subject/body get the message.
            validate_template(cleaned.get("subject") or "", cleaned.get("body") or "", purpose)
        return cleaned


def _variables_help() -> str:
    return "; ".join(
        f"{purpose}: " + ", ".join(f"{{{name}}}" for name in sorted(names))
        for purpose, names in VARIABLES.items()
    )


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ScopedAdmin):
    # Provider-wide defaults are shared; a program's own templates are its staff's alone.
    scope = "custom"
    form = MessageTemplateForm
    list_display = ("purpose", "channel", "language", "program", "is_active", "updated_at")
    list_filter = ("purpose", "channel", "language", "is_active")
    search_fields = ("subject", "body", "program__code")
    autocomplete_fields = ("program",)

    def restrict(self, queryset, user):
        return queryset.filter(Q(program__isnull=True) | Q(program__in=staff_programs(user)))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "body" in form.base_fields:
            form.base_fields["body"].help_text = _("Variables per purpose — %(list)s.") % {
                "list": _variables_help()
            }
        return form


@admin.register(Message)
class MessageAdmin(ScopedAdmin):
    scope = "patient"
    audit_patient_path = "patient"
    list_display = (
        "created_at",
        "patient",
        "purpose",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "short_error",
    )
    list_filter = ("status", "channel", "purpose")
    list_select_related = ("patient",)
    search_fields = ("=patient__code", "patient__last_name", "to_address", "=provider_ref")
    date_hierarchy = "created_at"
    autocomplete_fields = ("patient", "recipient", "enrolment", "activity", "case", "created_by")
    ordering = ("-pk",)
    actions = ("retry_now",)

    # Messages are written by the services (messaging, reminders, delivery_reports) only: the
    # admin shows them and retries.
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # The list may run "Retry now"; a message's own page is read-only (a save from there
        # could overwrite a status the delivery task has just written).
        return obj is None and super().has_change_permission(request, obj)

    @admin.display(description=_("last error"), ordering="last_error")
    def short_error(self, obj: Message) -> str:
        return obj.last_error[:80] + ("…" if len(obj.last_error) > 80 else "")

    @admin.action(description=_("Retry the selected messages now"), permissions=["change"])
    def retry_now(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda message: message_retry_now(actor=request.user, message=message),
            done_message=_("%(n)d message(s) queued again."),
        )


@admin.register(ContactPreferences)
class ContactPreferencesAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    scope = "patient"
    audit_patient_path = "patient"
    list_display = ("patient", "language", "quiet_start", "quiet_end", "reminder_time")
    search_fields = ("=patient__code", "patient__last_name")
    autocomplete_fields = ("patient", "updated_by")


@admin.register(ChannelPreference)
class ChannelPreferenceAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    scope = "patient"
    audit_patient_path = "patient"
    list_display = ("patient", "purpose", "channel", "enabled", "updated_at")
    list_filter = ("purpose", "channel", "enabled")
    search_fields = ("=patient__code", "patient__last_name")
    autocomplete_fields = ("patient", "updated_by")


@admin.register(InboundSms)
class InboundSmsAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    scope = "patient"
    audit_patient_path = "patient"
    list_display = ("received_at", "from_number", "patient", "status", "opt_out")
    list_filter = ("status", "opt_out")
    search_fields = ("=from_number", "=patient__code", "=provider_ref")


@admin.register(CallScript)
class CallScriptAdmin(ScopedAdmin):
    scope = "catalog"
    list_display = ("title", "reason", "language", "program", "is_active")
    list_filter = ("reason", "language", "is_active")
    search_fields = ("title", "body", "program__code")
    autocomplete_fields = ("program",)
