"""Admin of messages and reminders: templates per program and language, every send with its
delivery history (failed sends are retried from here), contact preferences (staff change them
at the patient's request through the same services as her portal), inbound SMS and the contact
centre's call scripts.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..messaging.policy import SWITCHABLE_CHANNELS
from ..messaging.templates import VARIABLES, validate_template
from ..models import (
    CallScript,
    Channel,
    ChannelPreference,
    ContactPreferences,
    InboundSms,
    Message,
    MessageTemplate,
)
from ..services.contact_preferences import (
    channel_preference_set,
    contact_preferences_errors,
    contact_preferences_update,
)
from ..services.messaging import message_retry_now
from .base import ReadOnlyAdminMixin, ScopedAdmin, adopt, staff_programs


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


class ContactPreferencesAdminForm(forms.ModelForm):
    """Shows the service's refusals (quiet hours, reminder time) on their fields before saving."""

    class Meta:
        model = ContactPreferences
        fields = ("patient", "language", "quiet_start", "quiet_end", "reminder_time")

    def clean(self) -> dict:
        cleaned = super().clean()
        fields = ("language", "quiet_start", "quiet_end", "reminder_time")
        if not any(name in self.errors for name in fields):
            errors = contact_preferences_errors(**{name: cleaned.get(name) for name in fields})
            for field, message in errors.items():
                self.add_error(field, message)
        return cleaned


class NoDeleteMixin:
    """Contact choices are switched, never deleted: the history stays in the audit log."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ContactPreferences)
class ContactPreferencesAdmin(NoDeleteMixin, ScopedAdmin):
    """A patient asks staff (by phone, letter) to change her language, quiet hours or reminder
    time: staff of her programs do it here, through ``contact_preferences_update``."""

    scope = "patient"
    audit_patient_path = "patient"
    form = ContactPreferencesAdminForm
    list_display = ("patient", "language", "quiet_start", "quiet_end", "reminder_time")
    list_filter = ("language",)
    list_select_related = ("patient",)
    search_fields = ("=patient__code", "patient__last_name")
    autocomplete_fields = ("patient",)

    def get_fields(self, request, obj=None):
        fields = ("patient", "language", "quiet_start", "quiet_end", "reminder_time")
        return fields if obj is None else (*fields, "updated_at", "updated_by")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("patient", "updated_at", "updated_by")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        prefs = contact_preferences_update(
            actor=request.user,
            patient=obj.patient,
            language=data["language"],
            quiet_start=data.get("quiet_start"),
            quiet_end=data.get("quiet_end"),
            reminder_time=data["reminder_time"],
        )
        adopt(obj, prefs)


class ChannelPreferenceAdminForm(forms.ModelForm):
    """Only the channels a patient may switch (in-app messages are always on)."""

    channel = forms.ChoiceField(
        label=_("channel"),
        choices=[(c, Channel(c).label) for c in SWITCHABLE_CHANNELS],
        help_text=_(
            "In-app messages are always on. A wanted channel without the patient's consent is "
            "skipped at send time, and the skip is recorded."
        ),
    )

    class Meta:
        model = ChannelPreference
        fields = ("patient", "purpose", "channel", "enabled")


@admin.register(ChannelPreference)
class ChannelPreferenceAdmin(NoDeleteMixin, ScopedAdmin):
    """Which purposes the patient wants on which channel, switched through
    ``channel_preference_set`` (audited; the next send reads it)."""

    scope = "patient"
    audit_patient_path = "patient"
    form = ChannelPreferenceAdminForm
    list_display = ("patient", "purpose", "channel", "enabled", "updated_at", "updated_by")
    list_filter = ("purpose", "channel", "enabled")
    list_select_related = ("patient", "updated_by")
    search_fields = ("=patient__code", "patient__last_name")
    autocomplete_fields = ("patient",)

    def get_fields(self, request, obj=None):
        fields = ("patient", "purpose", "channel", "enabled")
        return fields if obj is None else (*fields, "updated_at", "updated_by")

    def get_readonly_fields(self, request, obj=None):
        # Once a row exists only "wanted" switches; another purpose or channel is another row.
        return () if obj is None else ("patient", "purpose", "channel", "updated_at", "updated_by")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            kwargs["form"] = forms.ModelForm  # the read-only channel needs no choice field
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request, obj, form, change):
        preference = channel_preference_set(
            actor=request.user,
            patient=obj.patient,
            purpose=obj.purpose,
            channel=obj.channel,
            enabled=form.cleaned_data["enabled"],
        )
        adopt(obj, preference)


@admin.register(InboundSms)
class InboundSmsAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    scope = "patient"
    audit_patient_path = "patient"
    list_display = (
        "received_at",
        "from_number",
        "patient",
        "status",
        "opt_out",
        "appointment_answer",
    )
    list_filter = ("status", "opt_out", "appointment_answer")
    search_fields = ("=from_number", "=patient__code", "=provider_ref")


@admin.register(CallScript)
class CallScriptAdmin(ScopedAdmin):
    scope = "catalog"
    list_display = ("title", "reason", "language", "program", "is_active")
    list_filter = ("reason", "language", "is_active")
    search_fields = ("title", "body", "program__code")
    autocomplete_fields = ("program",)
