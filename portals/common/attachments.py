"""Serving report attachments, shared by the portals that show reports."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest

from psp_crm.models import ReportAttachment
from psp_crm.services.audit import audit_patient_read


def attachment_response(
    request: HttpRequest, attachment: ReportAttachment, *, portal: str
) -> FileResponse:
    """The file, downloaded under its original name, never sniffed or cached by the browser."""
    audit_patient_read(
        actor=request.user,
        patient=attachment.report.enrolment.patient,
        portal=portal,
        obj=attachment,
        request=request,
    )
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=attachment.content_type == "application/pdf",
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response
