"""Serializers of the apps' API: shapes only; the rules live in the services."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..messaging.policy import CONSENT_FOR_CHANNEL, SWITCHABLE_CHANNELS
from ..models import (
    Activity,
    DiaryEntry,
    Enrolment,
    Language,
    Message,
    Purpose,
    Report,
    ReportAttachment,
    User,
)
from ..services.appointments import ANSWERS, is_answerable
from ..services.interactions import SUMMARY_MAX


class PersonSerializer(serializers.ModelSerializer):
    """Who wrote something: a name to show, never contact data."""

    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "name"]

    def get_name(self, user: User) -> str:
        return user.get_full_name() or user.email


class DelegatedPatientSerializer(serializers.Serializer):
    code = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    relationship = serializers.CharField(allow_blank=True)
    can_log_diary = serializers.BooleanField()
    can_send_reports = serializers.BooleanField()


class OwnPatientSerializer(serializers.Serializer):
    code = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()


class MeSerializer(serializers.Serializer):
    """The signed-in user, the roles she plays, her patient record and her delegations."""

    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    patient = OwnPatientSerializer(allow_null=True)
    delegated_patients = DelegatedPatientSerializer(many=True)


class ProgramRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    pathology = serializers.CharField()


class EnrolmentSerializer(serializers.ModelSerializer):
    """One program participation, with the rights the user holds on it."""

    patient_code = serializers.CharField(source="patient.code")
    patient_name = serializers.CharField(source="patient.full_name")
    program = ProgramRefSerializer()
    product = serializers.CharField(source="product.name", allow_null=True, default=None)
    may_log_diary = serializers.BooleanField()
    may_send_reports = serializers.BooleanField()

    class Meta:
        model = Enrolment
        fields = [
            "id",
            "patient_code",
            "patient_name",
            "program",
            "status",
            "product",
            "dose",
            "frequency",
            "doses_per_week",
            "start_date",
            "may_log_diary",
            "may_send_reports",
        ]


class DiaryEntrySerializer(serializers.ModelSerializer):
    """A diary entry (one version); measurement values are in canonical units."""

    author = PersonSerializer(allow_null=True)
    is_current = serializers.BooleanField()
    summary = serializers.CharField()

    class Meta:
        model = DiaryEntry
        fields = [
            "id",
            "enrolment",
            "kind",
            "occurred_at",
            "recorded_at",
            "author",
            "source",
            "dose_status",
            "injection_site",
            "symptom",
            "severity",
            "measurement",
            "value",
            "value_secondary",
            "unit",
            "mood",
            "note",
            "supersedes",
            "correction_reason",
            "is_current",
            "summary",
        ]


class DiaryValuesSerializer(serializers.Serializer):
    """The values of an entry, in the unit the person used (converted by the service)."""

    dose_status = serializers.ChoiceField(
        choices=DiaryEntry.DoseStatus.choices, required=False, allow_blank=True
    )
    injection_site = serializers.CharField(required=False, allow_blank=True, max_length=50)
    symptom = serializers.CharField(required=False, allow_blank=True, max_length=60)
    severity = serializers.IntegerField(required=False, allow_null=True)
    measurement = serializers.ChoiceField(
        choices=DiaryEntry.Measurement.choices, required=False, allow_blank=True
    )
    value = serializers.DecimalField(
        max_digits=9, decimal_places=3, required=False, allow_null=True
    )
    value_secondary = serializers.DecimalField(
        max_digits=9, decimal_places=3, required=False, allow_null=True
    )
    unit = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=10,
        help_text="mmHg, kPa, mg/dL, mmol/L, kg, lb, °C, °F or bpm; empty: the canonical unit.",
    )
    mood = serializers.IntegerField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class DiaryEntryCreateSerializer(DiaryValuesSerializer):
    enrolment = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DiaryEntry.Kind.choices)
    occurred_at = serializers.DateTimeField()
    source = serializers.ChoiceField(
        choices=[("app", "App"), ("web", "Web")], default="app", required=False
    )


class DiaryEntryCorrectSerializer(DiaryValuesSerializer):
    occurred_at = serializers.DateTimeField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ActivitySerializer(serializers.ModelSerializer):
    module = serializers.CharField(source="module.name")
    program = serializers.CharField(source="enrolment.program.code")
    with_whom = serializers.SerializerMethodField()
    answerable = serializers.SerializerMethodField(
        help_text="She may still confirm it or ask to change it (POST …/answer/)."
    )

    class Meta:
        model = Activity
        fields = [
            "id",
            "enrolment",
            "program",
            "module",
            "status",
            "scheduled_start",
            "scheduled_end",
            "with_whom",
            "patient_answer",
            "patient_answered_at",
            "answerable",
        ]

    def get_answerable(self, activity: Activity) -> bool:
        return is_answerable(activity)

    def get_with_whom(self, activity: Activity) -> str | None:
        if activity.assignee_id:
            user = activity.assignee.user
            return user.get_full_name() or None
        return activity.partner.name if activity.partner_id else None


class AppointmentAnswerSerializer(serializers.Serializer):
    """Her answer to an appointment: ``confirmed`` or ``change_requested``, with a note."""

    answer = serializers.ChoiceField(choices=ANSWERS)
    note = serializers.CharField(required=False, allow_blank=True, max_length=SUMMARY_MAX)


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ReportAttachment
        fields = ["id", "original_name", "content_type", "size_bytes", "url"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, attachment: ReportAttachment) -> str:
        path = reverse(
            "api:report-attachment",
            kwargs={"pk": attachment.report_id, "attachment_id": attachment.pk},
        )
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class ReportSerializer(serializers.ModelSerializer):
    """A report with its attachments and read receipts (the recipient's, and mine)."""

    author = PersonSerializer(allow_null=True)
    recipient = PersonSerializer(allow_null=True)
    attachments = AttachmentSerializer(many=True)
    read_by_me = serializers.BooleanField()
    recipient_read_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        model = Report
        fields = [
            "id",
            "enrolment",
            "kind",
            "subject",
            "body",
            "author",
            "recipient",
            "in_reply_to",
            "created_at",
            "period_start",
            "period_end",
            "attachments",
            "read_by_me",
            "recipient_read_at",
        ]


class ReportCreateSerializer(serializers.Serializer):
    """A report to the doctor; send as multipart/form-data to attach files."""

    enrolment = serializers.IntegerField()
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=10_000)
    in_reply_to = serializers.IntegerField(required=False, allow_null=True)
    attachments = serializers.ListField(
        child=serializers.FileField(), required=False, help_text="PDF, PNG or JPEG files."
    )


class ReceiptSerializer(serializers.Serializer):
    report = serializers.IntegerField()
    read_at = serializers.DateTimeField(allow_null=True)


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


# --- the inbox and contact choices (api/contact.py) --------------------------------------------


class InboxMessageSerializer(serializers.ModelSerializer):
    """An in-app message: what it is about, its words, when it came, whether it was read."""

    patient = serializers.SerializerMethodField()
    program = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "patient", "program", "purpose", "subject", "body", "created_at", "read_at"]

    def get_patient(self, message: Message) -> str | None:
        return message.patient.code if message.patient_id else None

    def get_program(self, message: Message) -> str | None:
        return message.enrolment.program.code if message.enrolment_id else None


class ChannelConsentStateSerializer(serializers.Serializer):
    channel = serializers.CharField()
    label = serializers.CharField()
    given = serializers.BooleanField()
    given_at = serializers.DateTimeField(allow_null=True)
    document_version = serializers.CharField(allow_blank=True)
    withdrawn_at = serializers.DateTimeField(allow_null=True)


class PurposeChannelSerializer(serializers.Serializer):
    channel = serializers.CharField()
    wanted = serializers.BooleanField()
    consented = serializers.BooleanField()


class PurposeChoicesSerializer(serializers.Serializer):
    purpose = serializers.CharField()
    label = serializers.CharField()
    channels = PurposeChannelSerializer(many=True)


class ContactChoicesSerializer(serializers.Serializer):
    """A patient's contact choices: consents per channel, channels per purpose, settings."""

    patient = serializers.CharField()
    consents = ChannelConsentStateSerializer(many=True)
    purposes = PurposeChoicesSerializer(many=True)
    language = serializers.CharField()
    quiet_start = serializers.TimeField(allow_null=True)
    quiet_end = serializers.TimeField(allow_null=True)
    reminder_time = serializers.TimeField()


class ContactSettingsSerializer(serializers.Serializer):
    """Language, quiet hours (both bounds, or both null: none) and the dose-reminder time."""

    patient = serializers.CharField(required=False, help_text="A patient you act for (her code)")
    language = serializers.ChoiceField(choices=Language.choices)
    quiet_start = serializers.TimeField(allow_null=True)
    quiet_end = serializers.TimeField(allow_null=True)
    reminder_time = serializers.TimeField()


class ChannelConsentChangeSerializer(serializers.Serializer):
    patient = serializers.CharField(required=False, help_text="A patient you act for (her code)")
    channel = serializers.ChoiceField(choices=sorted(CONSENT_FOR_CHANNEL))
    given = serializers.BooleanField()


class ChannelPreferenceChangeSerializer(serializers.Serializer):
    patient = serializers.CharField(required=False, help_text="A patient you act for (her code)")
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    channel = serializers.ChoiceField(choices=list(SWITCHABLE_CHANNELS))
    enabled = serializers.BooleanField()


class CaregiverCopiesSerializer(serializers.Serializer):
    patient = serializers.CharField(help_text="The patient you act for (her code)")
    receives_copies = serializers.BooleanField()
