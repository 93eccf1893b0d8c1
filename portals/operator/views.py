"""Operator portal: the operator's agenda and each activity with what the role needs to see."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from portals.common.views import PortalView
from psp_crm.access import sees_clinical_data
from psp_crm.errors import DomainError
from psp_crm.models import Activity
from psp_crm.selectors.activities import (
    activity_clinical_context,
    group_by_local_day,
    operator_activity,
    operator_agenda,
)
from psp_crm.services import activities as services
from psp_crm.services.audit import audit_patient_read

from .forms import CancelForm, NoShowForm, RescheduleForm, outcome_form_class

WEEK_DAYS = 7


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class OperatorView(PortalView):
    """Base of the operator portal's pages."""

    portal = "operator"
    portal_roles = ("operator",)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["operator"] = self.request.user.operator_profile
        context["clinical"] = sees_clinical_data(self.request.user, "operator")
        return context


class HomeView(OperatorView):
    """Today's activities and the rest of the week, grouped by day, in the user's time zone."""

    template_name = "portals/operator/home.html"
    page_title = _("My agenda")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        today = timezone.localdate()
        tomorrow = today + dt.timedelta(days=1)
        week_end = today + dt.timedelta(days=WEEK_DAYS)
        activities = operator_agenda(
            actor=self.request.user,
            day_start=_local_midnight(today),
            day_end=_local_midnight(week_end),
        )
        days = group_by_local_day(activities)
        context["today"] = today
        context["week_end"] = week_end - dt.timedelta(days=1)
        context["today_activities"] = [a for day, group in days if day <= today for a in group]
        context["week_days"] = [(day, group) for day, group in days if day >= tomorrow]
        return context


class ActivityView(OperatorView):
    """One activity: logistics data for everyone, clinical context for clinical roles (audited),
    and, while it is open, the outcome form of its module, reschedule, cancel and no-show."""

    template_name = "portals/operator/activity.html"

    def forms_for(self, activity: Activity, bound: dict[str, Any] | None = None) -> dict[str, Any]:
        bound = bound or {}
        if not activity.is_open:
            return {}
        outcome_class = outcome_form_class(activity)
        local = timezone.localtime(activity.scheduled_start)
        return {
            "outcome_form": bound.get("complete")
            or outcome_class(activity=activity, prefix="complete"),
            "reschedule_form": bound.get("reschedule")
            or RescheduleForm(
                prefix="reschedule",
                initial={
                    "date": local.date() + dt.timedelta(days=1),
                    "start": local.time(),
                    "end": timezone.localtime(activity.scheduled_end).time(),
                },
            ),
            "cancel_form": bound.get("cancel") or CancelForm(prefix="cancel"),
            "no_show_form": bound.get("no-show") or NoShowForm(prefix="no-show"),
            "can_complete": timezone.localtime(activity.scheduled_start).date()
            <= timezone.localdate(),
            "can_no_show": activity.scheduled_start <= timezone.now(),
        }

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        actor = self.request.user
        activity = kwargs.pop("activity", None) or operator_activity(
            actor=actor, activity_id=self.kwargs["activity_id"]
        )
        audit_patient_read(
            actor=actor,
            patient=activity.enrolment.patient,
            portal="operator",
            obj=activity,
            request=self.request,
        )
        return super().get_context_data(
            activity=activity,
            patient=activity.enrolment.patient,
            clinical_context=activity_clinical_context(actor=actor, activity=activity),
            page_title=activity.module.name,
            **self.forms_for(activity, kwargs.pop("bound", None)),
            **kwargs,
        )


class ActivityActionView(ActivityView):
    """POST an outcome, a reschedule, a cancellation or a no-show for one's own activity.

    Another operator's activity is the same 404 as a missing one (the selector only returns the
    operator's own work); a refused change re-renders the page with the errors (400).
    """

    action = ""
    http_method_names = ["post"]
    template_name = None  # a POST endpoint, not a page: errors re-render the activity page

    def get_template_names(self) -> list[str]:
        return [ActivityView.template_name]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        activity = operator_activity(actor=request.user, activity_id=kwargs["activity_id"])
        form = self.bind(activity)
        refused: list[str] = []
        if form.is_valid():
            try:
                message = self.perform(activity, form)
            except DomainError as exc:
                for field, errors in _error_items(exc):
                    form.add_error(field if field in form.fields else None, errors)
                    refused += errors
            else:
                messages.success(request, message)
                return redirect("operator:activity", activity_id=activity.pk)
        activity.refresh_from_db()
        context = self.get_context_data(
            activity=activity, bound={self.action: form}, action_errors=refused
        )
        return self.render_to_response(context, status=400)

    def bind(self, activity: Activity):
        raise NotImplementedError

    def perform(self, activity: Activity, form) -> str:
        raise NotImplementedError


def _error_items(exc: DomainError) -> list[tuple[str | None, list[str]]]:
    if hasattr(exc, "error_dict"):
        return [
            (field, [str(m) for e in errs for m in e.messages])
            for field, errs in exc.error_dict.items()
        ]
    return [(None, [str(m) for m in exc.messages])]


class CompleteView(ActivityActionView):
    action = "complete"

    def bind(self, activity: Activity):
        return outcome_form_class(activity)(self.request.POST, activity=activity, prefix="complete")

    def perform(self, activity: Activity, form) -> str:
        services.activity_complete(
            actor=self.request.user,
            activity=activity,
            outcome=form.outcome(),
            notes=form.cleaned_data.get("notes", ""),
            proof_of_delivery=form.proof(),
        )
        return _t("Done: the activity is recorded as completed.")


class RescheduleView(ActivityActionView):
    action = "reschedule"

    def bind(self, activity: Activity):
        return RescheduleForm(self.request.POST, prefix="reschedule")

    def perform(self, activity: Activity, form) -> str:
        start, end = form.window()
        services.activity_reschedule(
            actor=self.request.user,
            activity=activity,
            start=start,
            end=end,
            reason=form.cleaned_data["reason"],
        )
        return _t("Rescheduled.")


class CancelView(ActivityActionView):
    action = "cancel"

    def bind(self, activity: Activity):
        return CancelForm(self.request.POST, prefix="cancel")

    def perform(self, activity: Activity, form) -> str:
        new = services.activity_cancel(
            actor=self.request.user, activity=activity, reason=form.cleaned_data["reason"]
        )
        return _t("Cancelled; a new attempt is planned.") if new else _t("Cancelled.")


class NoShowView(ActivityActionView):
    action = "no-show"

    def bind(self, activity: Activity):
        return NoShowForm(self.request.POST, prefix="no-show")

    def perform(self, activity: Activity, form) -> str:
        new = services.activity_no_show(
            actor=self.request.user, activity=activity, reason=form.cleaned_data["reason"]
        )
        return _t("No-show recorded; a new attempt is planned.") if new else _t("No-show recorded.")
