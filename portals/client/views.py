"""Client portal: the pharma sponsor's program aggregates (no patient, no per-patient row)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from portals.common.views import PortalView
from psp_crm.selectors.programs import client_program_detail, client_program_summaries


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


class ProgramDetailView(ClientView):
    """One sponsored program: status breakdown, service volumes by module, safety counts."""

    template_name = "portals/client/program_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        detail = client_program_detail(actor=self.request.user, code=self.kwargs["code"])
        context = super().get_context_data(detail=detail, page_title=detail.program.code, **kwargs)
        return context
