"""Operator portal: the operator's agenda and each activity with what the role needs to see."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portals.common.views import PortalView
from psp_crm.access import sees_clinical_data
from psp_crm.selectors.activities import (
    activity_clinical_context,
    group_by_local_day,
    operator_activity,
    operator_agenda,
)
from psp_crm.services.audit import audit_patient_read

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
    """One activity: logistics data for everyone, clinical context for clinical roles (audited)."""

    template_name = "portals/operator/activity.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        actor = self.request.user
        activity = operator_activity(actor=actor, activity_id=self.kwargs["activity_id"])
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
            **kwargs,
        )
