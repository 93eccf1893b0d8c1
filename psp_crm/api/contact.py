"""The apps' side of the omnichannel CRM: the in-app inbox and the patient's contact choices.

- ``/api/v1/messages/`` — the in-app messages the user may read (her own, and those of the
  patients she acts for; ``?patient=<code>`` for one of them, ``?unread=1``); ``…/<id>/read/``
  marks one read.
- ``/api/v1/contact-preferences/`` — GET the channel consents, the purpose × channel choices,
  language, quiet hours and reminder time; PATCH the last four; POST ``consents/`` to give or
  withdraw a channel consent, ``channels/`` to want a purpose on a channel or not; a caregiver
  POSTs ``copies/`` to get (or stop) e-mail copies of the patient's reminders and notices.

Whose choices: the patient's own, or — with ``patient=<code>`` (query or body) — those of a patient
who delegated to the caregiver. Everything goes through ``selectors.inbox``,
``selectors.contact_preferences`` and the services of ``services.contact_preferences`` and
``services.inbox``: the same rules, audit and live events as the portal.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..errors import NotFound
from ..models import Consent, Message, Patient, User
from ..selectors.contact_preferences import ContactChoices, contact_choices, copy_choices
from ..selectors.inbox import inbox_messages
from ..selectors.patients import patient_self, patients_for_caregiver
from ..services.contact_preferences import (
    channel_consent_set,
    channel_preference_set,
    contact_preferences_update,
)
from ..services.delegations import delegation_copies_set
from ..services.inbox import message_mark_read
from .pagination import AppPagination
from .serializers import (
    CaregiverCopiesSerializer,
    ChannelConsentChangeSerializer,
    ChannelPreferenceChangeSerializer,
    ContactChoicesSerializer,
    ContactSettingsSerializer,
    InboxMessageSerializer,
)

PATIENT_PARAM = OpenApiParameter(
    "patient", OpenApiTypes.STR, description="A patient you act for (her code); else your own"
)


def _patient(actor: User, code: object) -> Patient:
    """The patient whose messages or choices are meant: hers, or one who delegated to her."""
    if code in (None, ""):
        own = patient_self(actor=actor)
        if own is None:
            raise ApiValidationError({"patient": [_("Give the code of the patient you act for.")]})
        return own
    if not isinstance(code, str):
        raise ApiValidationError({"patient": [_("Give the patient's code as text.")]})
    own = patient_self(actor=actor)
    if own is not None and own.code == code:
        return own
    patient = patients_for_caregiver(actor=actor).filter(code=code).first()
    if patient is None:
        raise NotFound(_("No such patient."))
    return patient


def _choices_payload(choices: ContactChoices) -> dict[str, Any]:
    prefs = choices.preferences
    return {
        "patient": choices.patient.code,
        "consents": [
            {
                "channel": item.channel,
                "label": str(item.label),
                "given": item.given,
                "given_at": item.current.given_at if item.current else None,
                "document_version": item.current.document_version if item.current else "",
                "withdrawn_at": item.last_withdrawn.withdrawn_at if item.last_withdrawn else None,
            }
            for item in choices.consents
        ],
        "purposes": [
            {
                "purpose": row.purpose,
                "label": str(row.label),
                "channels": [
                    {"channel": c.channel, "wanted": c.wanted, "consented": c.consented}
                    for c in row.cells
                ],
            }
            for row in choices.grid
        ],
        "language": prefs.language,
        "quiet_start": prefs.quiet_start,
        "quiet_end": prefs.quiet_end,
        "reminder_time": prefs.reminder_time,
    }


def _choices_response(actor: User, patient: Patient) -> Response:
    choices = contact_choices(actor=actor, patient=patient)
    return Response(ContactChoicesSerializer(_choices_payload(choices)).data)


class ContactPreferencesView(APIView):
    """How the patient agreed to be contacted, and for what."""

    @extend_schema(parameters=[PATIENT_PARAM], responses=ContactChoicesSerializer)
    def get(self, request: Request) -> Response:
        patient = _patient(request.user, request.query_params.get("patient"))
        return _choices_response(request.user, patient)

    @extend_schema(request=ContactSettingsSerializer, responses=ContactChoicesSerializer)
    def patch(self, request: Request) -> Response:
        """Change language, quiet hours (both bounds, or both null) or reminder time."""
        incoming = ContactSettingsSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        patient = _patient(request.user, request.data.get("patient"))
        current = contact_choices(actor=request.user, patient=patient).preferences
        contact_preferences_update(
            actor=request.user,
            patient=patient,
            language=data.get("language", current.language),
            quiet_start=data.get("quiet_start", current.quiet_start),
            quiet_end=data.get("quiet_end", current.quiet_end),
            reminder_time=data.get("reminder_time", current.reminder_time),
        )
        return _choices_response(request.user, patient)


class ChannelConsentView(APIView):
    """Give or withdraw the consent to be contacted on a channel (withdrawal is immediate)."""

    @extend_schema(request=ChannelConsentChangeSerializer, responses=ContactChoicesSerializer)
    def post(self, request: Request) -> Response:
        incoming = ChannelConsentChangeSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        patient = _patient(request.user, data.get("patient"))
        channel_consent_set(
            actor=request.user,
            patient=patient,
            channel=data["channel"],
            given=data["given"],
            via=Consent.Via.APP,
        )
        return _choices_response(request.user, patient)


class ChannelPreferenceView(APIView):
    """Want the messages of one purpose on one channel, or not (in-app is always on)."""

    @extend_schema(request=ChannelPreferenceChangeSerializer, responses=ContactChoicesSerializer)
    def post(self, request: Request) -> Response:
        incoming = ChannelPreferenceChangeSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        patient = _patient(request.user, data.get("patient"))
        channel_preference_set(
            actor=request.user,
            patient=patient,
            purpose=data["purpose"],
            channel=data["channel"],
            enabled=data["enabled"],
        )
        return _choices_response(request.user, patient)


class CaregiverCopiesView(APIView):
    """The caregiver asks for (or stops) e-mail copies of a patient's reminders and notices."""

    @extend_schema(request=CaregiverCopiesSerializer, responses=CaregiverCopiesSerializer)
    def post(self, request: Request) -> Response:
        incoming = CaregiverCopiesSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        mine = copy_choices(
            actor=request.user, patient=_patient(request.user, data["patient"])
        ).mine
        if mine is None:
            raise NotFound(_("No such patient."))
        delegation = delegation_copies_set(
            actor=request.user, delegation=mine, enabled=data["receives_copies"]
        )
        return Response({"patient": data["patient"], "receives_copies": delegation.receives_copies})


class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The in-app inbox: reminders, confirmations and notices, newest first; mark one read."""

    serializer_class = InboxMessageSerializer
    pagination_class = AppPagination
    queryset = Message.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        patient = None
        if self.action == "list" and self.request.query_params.get("patient"):
            patient = _patient(self.request.user, self.request.query_params["patient"])
        messages = inbox_messages(self.request.user, patient=patient)
        if self.action == "list" and self.request.query_params.get("unread") in (
            "1",
            "true",
            "True",
        ):
            messages = messages.filter(read_at__isnull=True)
        return messages

    @extend_schema(
        parameters=[
            PATIENT_PARAM,
            OpenApiParameter("unread", OpenApiTypes.BOOL, description="Only unread messages"),
        ]
    )
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=InboxMessageSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        """Mark the message read (idempotent: the first reading stands)."""
        message = message_mark_read(actor=request.user, message=self.get_object())
        fresh = inbox_messages(request.user).get(pk=message.pk)
        return Response(InboxMessageSerializer(fresh).data)
