"""The control room: every activity of the staff member's programs, the unassigned queue with an
assign action, and the overdue / at-risk counts."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from portals.common.views import PortalView
from psp_crm.errors import DomainError
from psp_crm.selectors.activities import (
    control_activities,
    control_activity,
    control_counts,
    control_operators,
    control_programs,
    control_unassigned,
)
from psp_crm.selectors.contact_centre import contact_centre_counts
from psp_crm.selectors.pagination import page_of
from psp_crm.services.activities import activity_assign

from .forms import AssignForm, FilterForm


class ControlView(PortalView):
    portal = "control"
    portal_roles = ("provider_staff",)


def _candidates(activity, operators) -> list:
    role = (activity.step.performer_role if activity.step else "") or activity.module.performer_role
    return [
        o
        for o in operators
        if activity.enrolment.program_id in o.program_ids
        and (not role or o.role == role)
        and (not activity.partner_id or o.organization_id == activity.partner_id)
    ]


class HomeView(ControlView):
    """Counts, the unassigned queue and the filtered list of activities."""

    template_name = "portals/control/home.html"
    page_title = _("Control room")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        actor = self.request.user
        programs = list(control_programs(actor=actor))
        operators = control_operators(actor=actor)
        form = FilterForm(self.request.GET or None, programs=programs, operators=operators)
        filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
        program = filters.get("program")
        activities = control_activities(
            actor=actor,
            program=program,
            status=filters.get("status") or None,
            date_from=filters.get("date_from"),
            date_to=filters.get("date_to"),
            operator=filters.get("operator"),
            overdue=bool(filters.get("overdue")),
            at_risk=bool(filters.get("at_risk")),
        )
        queue = control_unassigned(actor=actor, program=program)
        for activity in queue:
            activity.candidates = _candidates(activity, operators)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            form=form,
            programs=programs,
            counts=control_counts(actor=actor, program=program),
            contact=contact_centre_counts(actor=actor, program=program),
            page=page_of(activities, page=self.request.GET.get("page"), per_page=50),
            queue=queue,
            query=query.urlencode(),
        )
        return context

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        if context["form"].is_bound and context["form"].errors:
            kwargs.setdefault("status", 400)
        return super().render_to_response(context, **kwargs)


class AssignView(ControlView):
    """POST: give a queued (or any open) activity to an operator; refusals come back as messages."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        activity = control_activity(actor=request.user, activity_id=kwargs["activity_id"])
        operators = _candidates(activity, control_operators(actor=request.user))
        form = AssignForm(request.POST, operators=operators)
        if not form.is_valid():
            messages.error(request, _t("Choose one of the operators offered."))
            return redirect("control:home")
        chosen = next((o for o in operators if o.pk == form.cleaned_data["operator"]), None)
        try:
            activity_assign(actor=request.user, activity=activity, operator=chosen)
        except DomainError as exc:
            messages.error(request, " ".join(str(m) for m in exc.messages))
        else:
            who = chosen.user.get_full_name() if chosen else _t("the unassigned queue")
            messages.success(
                request,
                _t("%(module)s assigned to %(who)s.")
                % {"module": activity.module.name, "who": who},
            )
        back = request.POST.get("next", "")
        return redirect(back if back.startswith("/control/") else "control:home")
