"""Serving report attachments, for every face that shows reports (portals and the API)."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest

from .models import ReportAttachment
from .services.audit import audit_patient_read


def attachment_response(
    request: HttpRequest,
    attachment: ReportAttachment,
    *,
    portal: str,
    as_attachment: bool | None = None,
) -> FileResponse:
    """The file under its original name (read audited), never sniffed or cached by the browser.

    The caller has already checked access (``selectors.reports.attachment_for``)."""
    audit_patient_read(
        actor=request.user,
        patient=attachment.report.enrolment.patient,
        portal=portal,
        obj=attachment,
        request=request,
    )
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=attachment.content_type == "application/pdf"
        if as_attachment is None
        else as_attachment,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response
