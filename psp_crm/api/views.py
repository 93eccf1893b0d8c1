"""API views: read through the selectors (scoped by the access policy), write through services.

Every object outside the user's own and delegated data answers 404, exactly like one that does
not exist; a visible object the user may not change answers 403; a refused value answers 400
with per-field messages (see ``errors.exception_handler``).
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import authenticate
from django.http import FileResponse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import access
from ..attachments import attachment_response
from ..errors import NotFound
from ..models import Activity, DiaryEntry, Enrolment, Interaction, Report
from ..selectors.diary import app_diary_entries
from ..selectors.enrolments import app_activities, app_enrolments
from ..selectors.patients import patient_self, patients_for_caregiver
from ..selectors.reports import app_reports
from ..services.api_tokens import api_token_issue, api_token_revoke
from ..services.appointments import appointment_answer
from ..services.diary import diary_correct, diary_record
from ..services.reports import report_mark_read, report_send
from .pagination import AppPagination
from .serializers import (
    ActivitySerializer,
    AppointmentAnswerSerializer,
    DiaryEntryCorrectSerializer,
    DiaryEntryCreateSerializer,
    DiaryEntrySerializer,
    EnrolmentSerializer,
    MeSerializer,
    ReceiptSerializer,
    ReportCreateSerializer,
    ReportSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)


def _datetime_param(request: Request, name: str) -> dt.datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None:
        raise ApiValidationError({name: [_("Use an ISO 8601 date-time.")]})
    return value


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError as error:
        raise ApiValidationError({name: [_("Use a number.")]}) from error


def _app_enrolment(request: Request, enrolment_id: int) -> Enrolment:
    enrolment = app_enrolments(actor=request.user).filter(pk=enrolment_id).first()
    if enrolment is None:
        raise NotFound(_("No such enrolment."))
    return enrolment


ENROLMENT_PARAM = OpenApiParameter("enrolment", OpenApiTypes.INT, description="Only this enrolment")


class TokenView(APIView):
    """Exchange an e-mail and password for an API token (native apps); DELETE signs out."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=TokenRequestSerializer, responses=TokenSerializer, auth=[])
    def post(self, request: Request) -> Response:
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            email=data.validated_data["email"],
            password=data.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise AuthenticationFailed(_("The e-mail or the password is not correct."))
        return Response({"token": api_token_issue(actor=user).key})


class TokenDeleteView(APIView):
    """Revoke the token of the current user (sign the app out)."""

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        api_token_revoke(actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """The signed-in user, her roles, her own patient record and the patients she cares for."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        user = request.user
        me = patient_self(actor=user)
        delegated = [
            {
                "code": p.code,
                "first_name": p.first_name,
                "last_name": p.last_name,
                "relationship": p.relationship or "",
                "can_log_diary": bool(p.can_log_diary),
                "can_send_reports": bool(p.can_send_reports),
            }
            for p in patients_for_caregiver(actor=user)
        ]
        payload = {
            "id": user.pk,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "roles": sorted(access.roles_of(user)),
            "patient": (
                {"code": me.code, "first_name": me.first_name, "last_name": me.last_name}
                if me
                else None
            ),
            "delegated_patients": delegated,
        }
        return Response(MeSerializer(payload).data)


@extend_schema(
    parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=Enrolment.Status.values)]
)
class EnrolmentViewSet(viewsets.ReadOnlyModelViewSet):
    """The user's own enrolments and those of the patients who delegated to her."""

    serializer_class = EnrolmentSerializer
    pagination_class = AppPagination
    queryset = Enrolment.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        enrolments = app_enrolments(actor=self.request.user)
        wanted = self.request.query_params.get("status")
        if wanted:
            enrolments = enrolments.filter(status=wanted)
        return enrolments


DIARY_FILTERS = [
    ENROLMENT_PARAM,
    OpenApiParameter("kind", OpenApiTypes.STR, enum=DiaryEntry.Kind.values),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="occurred_at ≥ since"),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="occurred_at < until"),
    OpenApiParameter(
        "include_history", OpenApiTypes.BOOL, description="Also list superseded versions"
    ),
]


class DiaryEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Diary entries: list, read, create, correct (a correction supersedes, never overwrites)."""

    serializer_class = DiaryEntrySerializer
    pagination_class = AppPagination
    queryset = DiaryEntry.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        entries = app_diary_entries(actor=self.request.user)
        if self.action != "list":
            return entries
        params = self.request.query_params
        if params.get("include_history") not in ("1", "true", "True"):
            entries = entries.filter(is_current=True)
        enrolment = _int_param(self.request, "enrolment")
        if enrolment is not None:
            entries = entries.filter(enrolment_id=enrolment)
        if params.get("kind"):
            entries = entries.filter(kind=params["kind"])
        since, until = (
            _datetime_param(self.request, "since"),
            _datetime_param(self.request, "until"),
        )
        if since:
            entries = entries.filter(occurred_at__gte=since)
        if until:
            entries = entries.filter(occurred_at__lt=until)
        return entries.order_by("-occurred_at", "-pk")

    @extend_schema(parameters=DIARY_FILTERS)
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    def _respond(self, entry: DiaryEntry, code: int) -> Response:
        fresh = app_diary_entries(actor=self.request.user).get(pk=entry.pk)
        return Response(DiaryEntrySerializer(fresh).data, status=code)

    @extend_schema(request=DiaryEntryCreateSerializer, responses={201: DiaryEntrySerializer})
    def create(self, request: Request) -> Response:
        incoming = DiaryEntryCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        enrolment = _app_enrolment(request, data.pop("enrolment"))
        entry = diary_record(
            actor=request.user,
            enrolment=enrolment,
            kind=data.pop("kind"),
            occurred_at=data.pop("occurred_at"),
            source=data.pop("source", "app"),
            **data,
        )
        return self._respond(entry, status.HTTP_201_CREATED)

    @extend_schema(request=DiaryEntryCorrectSerializer, responses={201: DiaryEntrySerializer})
    @action(detail=True, methods=["post"])
    def correct(self, request: Request, pk: str | None = None) -> Response:
        """Correct an entry: the answer is the new version; the old one stays in the history."""
        entry = self.get_object()
        incoming = DiaryEntryCorrectSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        version = diary_correct(
            actor=request.user,
            entry=entry,
            reason=data.pop("reason", ""),
            source="app",
            **data,
        )
        return self._respond(version, status.HTTP_201_CREATED)

    @extend_schema(responses=DiaryEntrySerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str | None = None) -> Response:
        """Every version of the entry, newest first."""
        from ..selectors.diary import entry_history

        entry = self.get_object()
        ids = [v.pk for v in entry_history(entry)]
        versions = {v.pk: v for v in app_diary_entries(actor=request.user).filter(pk__in=ids)}
        return Response(DiaryEntrySerializer([versions[i] for i in ids], many=True).data)


@extend_schema(
    parameters=[
        ENROLMENT_PARAM,
        OpenApiParameter("from", OpenApiTypes.DATETIME, description="scheduled_end ≥ from"),
        OpenApiParameter("to", OpenApiTypes.DATETIME, description="scheduled_start < to"),
    ]
)
class ActivityViewSet(viewsets.ReadOnlyModelViewSet):
    """Visits, deliveries and calls of the user's own and delegated enrolments (read only)."""

    serializer_class = ActivitySerializer
    pagination_class = AppPagination
    queryset = Activity.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        activities = app_activities(actor=self.request.user)
        enrolment = _int_param(self.request, "enrolment")
        if enrolment is not None:
            activities = activities.filter(enrolment_id=enrolment)
        start, end = _datetime_param(self.request, "from"), _datetime_param(self.request, "to")
        if start:
            activities = activities.filter(scheduled_end__gte=start)
        if end:
            activities = activities.filter(scheduled_start__lt=end)
        return activities.order_by("scheduled_start", "pk")

    @extend_schema(request=AppointmentAnswerSerializer, responses={200: ActivitySerializer})
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk: str | None = None) -> Response:
        """She confirms the appointment or asks to change it (recorded as an app answer)."""
        activity = self.get_object()
        incoming = AppointmentAnswerSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        activity = appointment_answer(
            actor=request.user,
            activity=activity,
            answer=incoming.validated_data["answer"],
            channel=Interaction.Channel.APP,
            note=incoming.validated_data.get("note", ""),
        )
        return Response(self.get_serializer(activity).data)


class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reports with the doctor: list, read, send (with attachments), mark read, download."""

    serializer_class = ReportSerializer
    pagination_class = AppPagination
    queryset = Report.objects.none()  # for the schema; requests use get_queryset
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        reports = app_reports(actor=self.request.user)
        if self.action == "list":
            enrolment = _int_param(self.request, "enrolment")
            if enrolment is not None:
                reports = reports.filter(enrolment_id=enrolment)
            if self.request.query_params.get("unread") in ("1", "true", "True"):
                reports = reports.filter(read_by_me=False).exclude(author=self.request.user)
        return reports

    @extend_schema(
        parameters=[
            ENROLMENT_PARAM,
            OpenApiParameter(
                "unread", OpenApiTypes.BOOL, description="Only reports I have not read"
            ),
        ]
    )
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request={
            "multipart/form-data": ReportCreateSerializer,
            "application/json": ReportCreateSerializer,
        },
        responses={201: ReportSerializer},
    )
    def create(self, request: Request) -> Response:
        incoming = ReportCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        enrolment = _app_enrolment(request, data["enrolment"])
        in_reply_to = None
        if data.get("in_reply_to"):
            in_reply_to = app_reports(actor=request.user).filter(pk=data["in_reply_to"]).first()
            if in_reply_to is None:
                raise NotFound(_("No such report."))
        report = report_send(
            actor=request.user,
            enrolment=enrolment,
            subject=data["subject"],
            body=data["body"],
            attachments=data.get("attachments") or [],
            in_reply_to=in_reply_to,
        )
        fresh = app_reports(actor=request.user).get(pk=report.pk)
        return Response(
            ReportSerializer(fresh, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses=ReceiptSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        """Mark the report read (idempotent; the author's own reports get no receipt)."""
        report = self.get_object()
        receipt = report_mark_read(actor=request.user, report=report)
        return Response({"report": report.pk, "read_at": receipt.read_at if receipt else None})

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>\d+)",
        url_name="attachment",
    )
    def attachment(
        self, request: Request, pk: str | None = None, attachment_id: str = ""
    ) -> FileResponse:
        """Download one attachment of a report the user may read."""
        report = self.get_object()
        attachment = report.attachments.filter(pk=int(attachment_id)).first()
        if attachment is None:
            raise NotFound(_("No such attachment."))
        return attachment_response(request, attachment, portal="api", as_attachment=True)
