"""Analytics in the provider admin: program analytics settings, risk models, adherence snapshots,
and the adherence watch list (patient-level, provider staff only — never the client's faces).
"""

from __future__ import annotations

import datetime

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..analytics.adherence import PDC_THRESHOLD, coverage_for_enrolments
from ..analytics.charts import chart_svg
from ..analytics.kpis import month_end, month_starts, program_kpis
from ..models import (
    AdherenceSnapshot,
    Enrolment,
    Program,
    ProgramAnalyticsSettings,
    RiskModelVersion,
)
from ..selectors.programs import dashboard_from_kpis
from .base import ScopedAdmin, staff_enrolments, staff_programs

DROP = 0.2  # a fall of 20 PDC points from one month to the next is "adherence dropping"


@admin.register(ProgramAnalyticsSettings)
class ProgramAnalyticsSettingsAdmin(ScopedAdmin):
    scope = "program"
    list_display = ("program", "min_cell", "allowed_gap_days", "days_per_delivery")
    autocomplete_fields = ("program",)
    search_fields = ("program__code", "program__name")

    def get_urls(self):
        watch = path(
            "watch-list/",
            self.admin_site.admin_view(self.watch_list_view),
            name="psp_crm_adherence_watch_list",
        )
        dashboard = path(
            "dashboard/<slug:code>/",
            self.admin_site.admin_view(self.dashboard_view),
            name="psp_crm_program_dashboard",
        )
        return [watch, dashboard, *super().get_urls()]

    def dashboard_view(self, request: HttpRequest, code: str) -> HttpResponse:
        """The client's dashboard for provider staff: the same tables, counts not suppressed."""
        programs = Program.objects.all() if request.user.is_superuser else None
        if programs is None:
            programs = staff_programs(request.user)
        program = programs.filter(code=code).first()
        if program is None:
            raise Http404(_("No such program."))
        dashboard = dashboard_from_kpis(program_kpis(program), min_cell=1)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Dashboard — %(code)s") % {"code": program.code},
            "dashboard": dashboard,
            "blocks": [(table, chart_svg(table)) for table in dashboard.tables],
            "min_cell": 1,
            "suppressed_max": 0,
            "staff_view": True,
        }
        return TemplateResponse(request, "admin/psp_crm/program_dashboard.html", context)

    def watch_list_view(self, request: HttpRequest) -> HttpResponse:
        """Patients with PDC < 80% in both of the last two full months, or dropping sharply."""
        today = timezone.localdate()
        months = month_starts(today.replace(day=1) - datetime.timedelta(days=1), 2)
        scope = (
            Enrolment.objects.all() if request.user.is_superuser else staff_enrolments(request.user)
        )
        scope = scope.filter(status__in=("active", "suspended")).select_related(
            "patient", "program"
        )
        by_id = {e.pk: e for e in scope[:5000]}
        ids = list(by_id)
        pdcs = [coverage_for_enrolments(ids, start=first, end=month_end(first)) for first in months]
        rows = []
        for eid, enrolment in by_id.items():
            earlier, later = (pdcs[0][eid].pdc, pdcs[1][eid].pdc)
            if earlier is None or later is None:
                continue
            low = earlier < PDC_THRESHOLD and later < PDC_THRESHOLD
            dropping = earlier - later >= DROP
            if low or dropping:
                rows.append((enrolment, earlier, later, low, dropping))
        rows.sort(key=lambda row: (row[2], row[0].pk))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Adherence watch list"),
            "months": months,
            "rows": rows,
            "threshold": PDC_THRESHOLD,
        }
        return TemplateResponse(request, "admin/psp_crm/adherence_watch_list.html", context)


@admin.register(RiskModelVersion)
class RiskModelVersionAdmin(ScopedAdmin):
    scope = "program"
    list_display = ("__str__", "program", "version", "trained_at", "n_samples", "is_active")
    list_filter = ("is_active",)
    readonly_fields = ("program", "version", "trained_at", "n_samples", "features", "profiles_text")
    exclude = ("parameters", "profiles")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions are written by the retraining task

    @admin.display(description=_("cluster profiles"))
    def profiles_text(self, obj: RiskModelVersion) -> str:
        return "\n".join(
            f"Cluster {p['cluster']} ({p.get('suggested_segment') or '—'}): {p['words']}"
            for p in obj.profiles
        )


@admin.register(AdherenceSnapshot)
class AdherenceSnapshotAdmin(ScopedAdmin):
    scope = "enrolment"
    list_display = ("enrolment", "period_start", "pdc", "mpr", "dose_adherence", "computed_at")
    list_filter = ("period_start",)
    list_select_related = ("enrolment__patient", "enrolment__program")
    search_fields = ("enrolment__patient__code",)
    raw_id_fields = ("enrolment",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # computed by the tasks
