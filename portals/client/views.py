"""Client portal: the pharma sponsor's program aggregates (no patient, no per-patient row)."""

from __future__ import annotations

import csv
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from portals.common.views import PortalView
from psp_crm.analytics.charts import chart_svg
from psp_crm.selectors.programs import (
    ClientDashboard,
    Share,
    client_program_dashboard,
    client_program_detail,
    client_program_summaries,
)


class ClientView(PortalView):
    """Base of the client portal's pages."""

    portal = "client"
    portal_roles = ("client",)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["min_cell"] = settings.PSP_CLIENT_MIN_CELL
        context["suppressed_max"] = settings.PSP_CLIENT_MIN_CELL - 1
        context["sponsor"] = self.request.user.client_profile.organization
        return context


class HomeView(ClientView):
    """The programs the user's company sponsors, with enrolment counts."""

    template_name = "portals/client/home.html"
    page_title = _("Sponsored programs")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["summaries"] = client_program_summaries(actor=self.request.user)
        return context


def _dashboard_context(dashboard: ClientDashboard) -> dict[str, Any]:
    return {
        "dashboard": dashboard,
        "blocks": [(table, chart_svg(table)) for table in dashboard.tables],
        "min_cell": dashboard.min_cell,
        "suppressed_max": dashboard.min_cell - 1,
    }


class ProgramDetailView(ClientView):
    """One sponsored program's dashboard: funnel, adherence, services, safety, regions."""

    template_name = "portals/client/program_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        detail = client_program_detail(actor=self.request.user, code=self.kwargs["code"])
        dashboard = client_program_dashboard(actor=self.request.user, code=self.kwargs["code"])
        context = super().get_context_data(detail=detail, page_title=detail.program.code, **kwargs)
        context.update(_dashboard_context(dashboard))
        return context


class ProgramReportView(ClientView):
    """The printable report of one sponsored program (the same suppressed figures)."""

    template_name = "portals/client/program_report.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        dashboard = client_program_dashboard(actor=self.request.user, code=self.kwargs["code"])
        title = _("Program report — %(code)s") % {"code": dashboard.program.code}
        context = super().get_context_data(page_title=title, **kwargs)
        context.update(_dashboard_context(dashboard))
        return context


def _csv_value(cell: object) -> str:
    if isinstance(cell, Share):
        return "" if cell.value is None else f"{cell.value:.4f}"
    return str(cell)


class ProgramCsvView(ClientView):
    """Every dashboard table as CSV rows: table, row, column, value (suppressed as ``<k``)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        dashboard = client_program_dashboard(actor=request.user, code=kwargs["code"])
        code = dashboard.program.code
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{code}-kpis-{dashboard.today.isoformat()}.csv"'
        )
        writer = csv.writer(response)
        writer.writerow(["program", "table", "row", "column", "value"])
        for table in dashboard.tables:
            for label, cells in table.rows:
                for column, cell in zip(table.columns, cells, strict=False):
                    writer.writerow([code, table.key, str(label), str(column), _csv_value(cell)])
        return response
