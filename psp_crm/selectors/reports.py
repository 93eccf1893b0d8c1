"""Report reads: inboxes with read receipts, one report with its thread, and attachments."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from .. import access
from ..access import Role
from ..errors import NotFound
from ..models import Enrolment, Patient, Report, ReportAttachment, ReportReceipt, User


def _with_receipts(reports: QuerySet[Report], actor: User) -> QuerySet[Report]:
    """Annotate ``read_by_me`` and ``recipient_read_at`` (the receipt the author sees)."""
    mine = ReportReceipt.objects.filter(report=OuterRef("pk"), reader=actor)
    recipient = ReportReceipt.objects.filter(
        report=OuterRef("pk"), reader=OuterRef("recipient")
    ).values("read_at")[:1]
    return reports.annotate(read_by_me=Exists(mine), recipient_read_at=Subquery(recipient))


def reports_inbox(
    *,
    actor: User,
    role: Role | None,
    patient: Patient | None = None,
    enrolment: Enrolment | None = None,
) -> QuerySet[Report]:
    """Reports the actor may read, newest first, with receipts and attachments."""
    reports = access.reports_for(actor, role=role)
    if patient is not None:
        reports = reports.filter(enrolment__patient=patient)
    if enrolment is not None:
        reports = reports.filter(enrolment=enrolment)
    return (
        _with_receipts(reports, actor)
        .select_related("author", "recipient", "enrolment__program", "in_reply_to")
        .prefetch_related(Prefetch("attachments", queryset=ReportAttachment.objects.order_by("pk")))
        .order_by("-created_at", "-pk")
    )


def report_for(*, actor: User, role: Role | None, report_id: int) -> Report:
    """One report the actor may read; absent and not visible are the same 404."""
    report = (
        reports_inbox(actor=actor, role=role)
        .select_related("enrolment__patient")
        .filter(pk=report_id)
        .first()
    )
    if report is None:
        raise NotFound(_("No such report."))
    return report


def report_thread(*, actor: User, role: Role | None, report: Report) -> list[Report]:
    """The report's replies the actor may read, oldest first."""
    return list(
        reports_inbox(actor=actor, role=role).filter(in_reply_to=report).order_by("created_at")
    )


def receipts_of(report: Report) -> list[ReportReceipt]:
    return list(report.receipts.select_related("reader").order_by("read_at"))


def attachment_for(*, actor: User, role: Role | None, attachment_id: int) -> ReportAttachment:
    """An attachment of a report the actor may read; otherwise the same 404."""
    attachment = (
        ReportAttachment.objects.filter(
            pk=attachment_id, report__in=access.reports_for(actor, role=role)
        )
        .select_related("report__enrolment__patient")
        .first()
    )
    if attachment is None:
        raise NotFound(_("No such attachment."))
    return attachment


def app_reports(*, actor: User) -> QuerySet[Report]:
    """Reports of the actor's own and delegated enrolments, with receipts and attachments."""
    scope = access.reports_for(actor, role="patient") | access.reports_for(actor, role="caregiver")
    return (
        _with_receipts(scope, actor)
        .select_related("author", "recipient", "enrolment__program")
        .prefetch_related(Prefetch("attachments", queryset=ReportAttachment.objects.order_by("pk")))
        .order_by("-created_at", "-pk")
    )
