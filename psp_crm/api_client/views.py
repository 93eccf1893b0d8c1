"""Client API views: session-authenticated, read-only, the same suppressed figures as the portal.

A suppressed count is ``null``; every response carries ``min_cell`` so a consumer knows what
``null`` stands for.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from .. import access
from ..errors import NotFound
from ..selectors.programs import (
    SUMMARY_COLUMNS,
    client_program_dashboard,
    client_program_summaries,
)


def _client_only(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """401 for anonymous callers, 403 for users who are not client users; 404 for NotFound."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"detail": _("Authentication required.")}, status=401)
        if not access.has_role(request.user, "client"):
            return JsonResponse({"detail": _("Client users only.")}, status=403)
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            return JsonResponse({"detail": _("Not found.")}, status=404)

    return wrapper


@require_GET
@_client_only
def programs(request: HttpRequest) -> JsonResponse:
    """The sponsored programs with their enrolment counts (``null``: suppressed)."""
    summaries = client_program_summaries(actor=request.user)
    return JsonResponse(
        {
            "programs": [
                {
                    "code": s.program.code,
                    "name": s.program.name,
                    "pathology": s.program.pathology,
                    "status": s.program.status,
                    "counts": {column: s.cells[column].value for column in SUMMARY_COLUMNS},
                }
                for s in summaries
            ]
        }
    )


@require_GET
@_client_only
def program_kpis(request: HttpRequest, code: str) -> JsonResponse:
    """One sponsored program's dashboard tables (``null``: suppressed or not shown)."""
    dashboard = client_program_dashboard(actor=request.user, code=code)
    window = dashboard.pdc_window
    return JsonResponse(
        {
            "program": {
                "code": dashboard.program.code,
                "name": dashboard.program.name,
                "pathology": dashboard.program.pathology,
            },
            "as_of": dashboard.today.isoformat(),
            "min_cell": dashboard.min_cell,
            "pdc_window": [day.isoformat() for day in window] if window else None,
            "pdc_share_at_least_80": dashboard.pdc_share.value,
            "tables": [table.as_dict() for table in dashboard.tables],
        }
    )
