"""Admin of messages and reminders: templates per program and language, every send with its
delivery history (failed sends are retried from here), contact preferences, inbound SMS and the
contact centre's call scripts.
"""

from __future__ import annotations

from django.contrib import admin

from ..models import (
    CallScript,
    ChannelPreference,
    ContactPreferences,
    InboundSms,
    Message,
    MessageTemplate,
)
from .base import ReadOnlyAdminMixin, ScopedAdmin


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ScopedAdmin):
    scope = "catalog"
    list_display = ("purpose", "channel", "language", "program", "is_active", "updated_at")
    list_filter = ("purpose", "channel", "language", "is_active")
    search_fields = ("subject", "body", "program__code")
    autocomplete_fields = ("program",)


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
    )
    list_filter = ("status", "channel", "purpose")
    list_select_related = ("patient",)
    search_fields = ("=patient__code", "patient__last_name", "to_address", "=provider_ref")
    date_hierarchy = "created_at"
    autocomplete_fields = ("patient", "recipient", "enrolment", "activity", "case", "created_by")
    ordering = ("-pk",)


@admin.register(ContactPreferences)
class ContactPreferencesAdmin(ScopedAdmin):
    scope = "patient"
    audit_patient_path = "patient"
    list_display = ("patient", "language", "quiet_start", "quiet_end", "reminder_time")
    search_fields = ("=patient__code", "patient__last_name")
    autocomplete_fields = ("patient", "updated_by")


@admin.register(ChannelPreference)
class ChannelPreferenceAdmin(ScopedAdmin):
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
    list_display = ("received_at", "from_number", "patient", "status")
    list_filter = ("status",)
    search_fields = ("=from_number", "=patient__code", "=provider_ref")


@admin.register(CallScript)
class CallScriptAdmin(ScopedAdmin):
    scope = "catalog"
    list_display = ("title", "reason", "language", "program", "is_active")
    list_filter = ("reason", "language", "is_active")
    search_fields = ("title", "body", "program__code")
    autocomplete_fields = ("program",)
