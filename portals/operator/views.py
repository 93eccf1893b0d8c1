"""Operator portal: the operator's agenda and each activity with what the role needs to see."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from portals.common.forms import (
    AppointmentAnswerForm,
    ContactPreferencesForm,
    TimelineFilterForm,
)
from portals.common.views import PortalView
from psp_crm.access import sees_clinical_data
from psp_crm.errors import AccessDenied, DomainError, NotFound
from psp_crm.models import Activity, Case, Interaction, Message, Patient
from psp_crm.selectors.activities import (
    activity_clinical_context,
    group_by_local_day,
    operator_activity,
    operator_agenda,
)
from psp_crm.selectors.appointments import appointment_for, upcoming_appointments
from psp_crm.selectors.call_list import (
    CALL_KINDS,
    call_list_page,
    call_list_programs,
    case_owner_choices,
    program_products,
    recent_interactions,
    script_for,
)
from psp_crm.selectors.contact_preferences import CONSENT_CHANNELS, contact_on_call
from psp_crm.selectors.timeline import (
    case_for,
    clinical_patient,
    find_patients,
    looks_like_phone,
    open_cases,
    patient_enrolment,
    patient_timeline,
    timeline_programs,
)
from psp_crm.services import activities as services
from psp_crm.services.appointments import appointment_answer
from psp_crm.services.audit import audit_patient_read
from psp_crm.services.contact_preferences import (
    channel_consent_withdraw_on_call,
    contact_preferences_update,
)
from psp_crm.services.interactions import (
    case_assign,
    case_open,
    case_update_status,
    interaction_log,
)
from psp_crm.services.messaging import message_send

from .forms import (
    AdverseEventForm,
    CallerSearchForm,
    CallListFilterForm,
    CancelForm,
    CaseForm,
    InteractionForm,
    MessageForm,
    NoShowForm,
    RescheduleForm,
    outcome_form_class,
)

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
        clinical_context = activity_clinical_context(actor=actor, activity=activity)
        if clinical_context is not None:
            kwargs.setdefault("ae_form", activity_ae_form(activity))
        return super().get_context_data(
            activity=activity,
            patient=activity.enrolment.patient,
            clinical_context=clinical_context,
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


# --- the contact centre: a patient's timeline and the inbound-call screen ---------------------


def _filter_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    return f"{encoded}&" if encoded else ""


def _script_language(request: HttpRequest) -> str:
    return (getattr(request, "LANGUAGE_CODE", "") or "it")[:2]


def _apply_domain_errors(form, exc: DomainError) -> None:
    for field, errors in _error_items(exc):
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


class ClinicalOperatorView(OperatorView):
    """Contact-centre pages: for counsellors and clinical operators, never logistics (403)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not sees_clinical_data(request.user, "operator"):
            raise AccessDenied(_t("The contact centre is for clinical and counselling staff."))
        return super().get(request, *args, **kwargs)


# The timeline page's forms, by the ``action`` their POST carries.
FORM_OF_ACTION = {
    "log": "interaction_form",
    "case": "case_form",
    "message": "message_form",
    "ae": "ae_form",
}


class TimelineView(OperatorView):
    """A patient's timeline across every channel, with forms to log a contact, open a case, send
    her a message and flag a suspected adverse event.

    A counsellor sees every patient of the programs she staffs, other clinical operators their
    own patients; logistics operators never (the same 404 as an unknown patient). Opened with
    ``?reason=…&direction=out&call_program=…`` (from the outbound call list) the log form is
    prefilled and the call script of that reason is shown; the timeline itself stays unfiltered
    (its own filter is ``channel`` and ``program``).
    """

    template_name = "portals/operator/timeline.html"

    def get_patient(self) -> Patient:
        return clinical_patient(
            actor=self.request.user, role="operator", patient_code=self.kwargs["code"]
        )

    def log_initial(self) -> dict[str, Any]:
        query = self.request.GET
        initial: dict[str, Any] = {}
        if query.get("reason") in Interaction.Reason.values:
            initial["reason"] = query["reason"]
        if query.get("direction") in Interaction.Direction.values:
            initial["direction"] = query["direction"]
        if query.get("call_program"):
            initial["program"] = query["call_program"]
        return initial

    def forms(self, patient: Patient, programs, data=None, action: str = "") -> dict[str, Any]:
        actor = self.request.user
        owners = case_owner_choices(actor=actor, patient=patient)
        interactions = recent_interactions(actor=actor, role="operator", patient=patient)
        logged = self.request.GET.get("logged")
        ae_initial = {}
        if logged and logged.isdigit() and int(logged) in {i.pk for i in interactions}:
            ae_initial["source_interaction"] = int(logged)
        return {
            "interaction_form": InteractionForm(
                data if action == "log" else None,
                prefix="log",
                programs=programs,
                initial=self.log_initial(),
            ),
            "case_form": CaseForm(
                data if action == "case" else None,
                prefix="case",
                programs=programs,
                owners=owners,
                initial={"assigned_to": actor.pk},
            ),
            "message_form": MessageForm(
                data if action == "message" else None, prefix="msg", programs=programs
            ),
            "ae_form": AdverseEventForm(
                data if action == "ae" else None,
                prefix="ae",
                programs=programs,
                products=program_products(programs),
                interactions=interactions,
                initial=ae_initial,
            ),
        }

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        actor = self.request.user
        patient = kwargs.pop("patient", None) or self.get_patient()
        audit_patient_read(actor=actor, patient=patient, portal="operator", request=self.request)
        programs = kwargs.pop("programs", None)
        if programs is None:
            programs = timeline_programs(actor=actor, role="operator", patient=patient)
        filter_form = TimelineFilterForm(self.request.GET or None, programs=programs)
        timeline = patient_timeline(
            actor=actor,
            role="operator",
            patient=patient,
            page=self.request.GET.get("page") or 1,
            **filter_form.filters(),
        )
        for name, form in self.forms(patient, programs).items():
            kwargs.setdefault(name, form)
        on_call = contact_on_call(actor=actor, patient=patient)
        kwargs.setdefault("contact_form", ContactPreferencesForm.for_preferences(on_call.settings))
        reason = self.request.GET.get("reason", "")
        script = None
        if reason in Interaction.Reason.values:
            program = next(
                (p for p in programs if p.code == self.request.GET.get("call_program")),
                programs[0] if len(programs) == 1 else None,
            )
            script = script_for(program, reason, language=_script_language(self.request))
        return super().get_context_data(
            patient=patient,
            timeline=timeline,
            filter_form=filter_form,
            filter_query=_filter_query(self.request),
            open_cases=open_cases(actor=actor, role="operator", patient=patient),
            case_statuses=Case.Status.choices,
            script=script,
            script_reason=reason if script is not None else "",
            channel_consents=on_call.consents,
            contact_settings=on_call.settings,
            appointments=upcoming_appointments(actor=actor, role="operator", patient=patient),
            page_title=patient.full_name,
            **kwargs,
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        patient = self.get_patient()
        programs = timeline_programs(actor=request.user, role="operator", patient=patient)
        action = request.POST.get("action", "")
        if action not in FORM_OF_ACTION:
            messages.error(request, _t("Choose to log a contact, open a case or flag an event."))
            context = self.get_context_data(patient=patient, programs=programs)
            return self.render_to_response(context, status=400)
        forms = self.forms(patient, programs, request.POST, action)
        form = forms[FORM_OF_ACTION[action]]
        if form.is_valid():
            data = form.cleaned_data
            enrolment = patient_enrolment(
                actor=request.user, role="operator", patient=patient, program_code=data["program"]
            )
            try:
                if action == "log":
                    interaction = interaction_log(
                        actor=request.user,
                        patient=patient,
                        channel=data["channel"],
                        direction=data["direction"],
                        reason=data["reason"],
                        outcome=data["outcome"],
                        duration_seconds=data["duration"],
                        summary=data["summary"],
                        enrolment=enrolment,
                    )
                    messages.success(request, _t("The contact is on the patient's timeline."))
                    url = reverse("operator:timeline", args=[patient.code])
                    return redirect(f"{url}?logged={interaction.pk}#adverse-event")
                if action == "case":
                    case = case_open(
                        actor=request.user,
                        patient=patient,
                        subject=data["subject"],
                        category=data["category"],
                        priority=data["priority"],
                        description=data["description"],
                        assigned_to=form.owner(),
                        enrolment=enrolment,
                    )
                    message = _t("Case #%(id)s opened.") % {"id": case.pk}
                elif action == "message":
                    sent = message_send(
                        actor=request.user,
                        patient=patient,
                        channel=data["channel"],
                        text=data["text"],
                        enrolment=enrolment,
                    )
                    if sent.status == Message.Status.SKIPPED:
                        messages.warning(
                            request,
                            _t("Not sent: %(why)s. The attempt is on the timeline.")
                            % {"why": sent.skip_reason},
                        )
                        return redirect("operator:timeline", code=patient.code)
                    message = _t("Message %(status)s: its delivery shows on the timeline.") % {
                        "status": sent.get_status_display().lower()
                    }
                else:
                    if enrolment is None:
                        raise DomainError({"program": _t("Choose the program of the therapy.")})
                    source = form.interaction()
                    event = form.capture(
                        actor=request.user,
                        patient=patient,
                        enrolment=enrolment,
                        channel=source.channel if source else Interaction.Channel.PHONE,
                        source_interaction=source,
                    )
                    message = _t(
                        "Suspected adverse event recorded: case #%(id)s is open for "
                        "pharmacovigilance."
                    ) % {"id": event.case_id}
            except DomainError as exc:
                _apply_domain_errors(form, exc)
            else:
                messages.success(request, message)
                return redirect("operator:timeline", code=patient.code)
        context = self.get_context_data(
            patient=patient, programs=programs, **{k: v for k, v in forms.items() if v is form}
        )
        return self.render_to_response(context, status=400)


class ConsentWithdrawView(OperatorView):
    """POST: the patient asked on the call to stop being contacted on a channel (from her timeline).

    The same 404 as the timeline for a patient the operator may not open.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        patient = clinical_patient(
            actor=request.user, role="operator", patient_code=self.kwargs["code"]
        )
        channel = request.POST.get("channel", "")
        try:
            withdrawn = channel_consent_withdraw_on_call(
                actor=request.user, patient=patient, channel=channel
            )
        except DomainError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("operator:timeline", code=patient.code)
        label = dict(CONSENT_CHANNELS)[channel]
        if withdrawn:
            messages.success(
                request,
                _t("Consent to %(channel)s withdrawn: nothing more goes out on it.")
                % {"channel": label},
            )
        else:
            messages.info(request, _t("She had no consent to %(channel)s.") % {"channel": label})
        return redirect("operator:timeline", code=patient.code)


class ContactSettingsOnCallView(TimelineView):
    """POST: on the call she asks to be contacted in another language, at other hours or to have
    her dose reminders at another time. Errors show on the timeline's form (400); the same 404 as
    the timeline for a patient the operator may not open."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        patient = self.get_patient()
        form = ContactPreferencesForm(request.POST, prefix="contact")
        if form.is_valid():
            try:
                contact_preferences_update(actor=request.user, patient=patient, **form.cleaned_data)
            except DomainError as exc:
                _apply_domain_errors(form, exc)
            else:
                messages.success(
                    request, _t("Her language, quiet hours and reminder time were saved.")
                )
                return redirect("operator:timeline", code=patient.code)
        context = self.get_context_data(patient=patient, contact_form=form)
        return self.render_to_response(context, status=400)


class AppointmentAnswerOnCallView(TimelineView):
    """POST: on the call she confirms an appointment or asks to change it (``answer``, ``note``).

    Recorded as her answer by phone (``services.appointments``); errors show above the timeline
    (400). The same 404 as the timeline for a patient or an appointment the operator may not see.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        patient = self.get_patient()
        activity = appointment_for(
            actor=request.user,
            role="operator",
            patient=patient,
            activity_id=self.kwargs["activity_id"],
        )
        form = AppointmentAnswerForm(request.POST)
        if form.is_valid():
            try:
                appointment_answer(
                    actor=request.user,
                    activity=activity,
                    answer=form.cleaned_data["answer"],
                    channel=Interaction.Channel.PHONE,
                    note=form.cleaned_data["note"],
                )
            except DomainError as exc:
                _apply_domain_errors(form, exc)
            else:
                if form.cleaned_data["answer"] == Activity.PatientAnswer.CONFIRMED:
                    done = _t("She confirmed %(activity)s.")
                else:
                    done = _t("Her request to change %(activity)s is on the call list.")
                messages.success(request, done % {"activity": activity.module.name})
                return redirect("operator:timeline", code=patient.code)
        context = self.get_context_data(
            patient=patient, answer_form=form, answer_activity=activity.pk
        )
        return self.render_to_response(context, status=400)


class CaseStatusView(OperatorView):
    """POST a case's new status (from the patient's timeline page)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        case = case_for(actor=request.user, role="operator", case_id=kwargs["case_id"])
        try:
            case_update_status(actor=request.user, case=case, status=request.POST.get("status", ""))
        except DomainError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _t("Case #%(id)s updated.") % {"id": case.pk})
        return redirect("operator:timeline", code=case.patient.code)


class CaseAssignView(OperatorView):
    """POST "assign to me" for a case (from the patient's timeline page)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        case = case_for(actor=request.user, role="operator", case_id=kwargs["case_id"])
        try:
            case_assign(actor=request.user, case=case, owner=request.user)
        except DomainError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _t("Case #%(id)s is yours now.") % {"id": case.pk})
        return redirect("operator:timeline", code=case.patient.code)


class ActivityAdverseEventView(ActivityView):
    """POST a suspected adverse event noticed during a visit (``source_activity``)."""

    http_method_names = ["post"]
    template_name = None

    def get_template_names(self) -> list[str]:
        return [ActivityView.template_name]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        activity = operator_activity(actor=request.user, activity_id=kwargs["activity_id"])
        if not sees_clinical_data(request.user, "operator"):
            raise NotFound(_t("No such activity."))
        enrolment = activity.enrolment
        form = activity_ae_form(activity, request.POST)
        if form.is_valid():
            try:
                event = form.capture(
                    actor=request.user,
                    patient=enrolment.patient,
                    enrolment=enrolment,
                    channel=activity.module.channel,
                    source_activity=activity,
                )
            except DomainError as exc:
                _apply_domain_errors(form, exc)
            else:
                messages.success(
                    request,
                    _t("Suspected adverse event recorded: case #%(id)s is open.")
                    % {"id": event.case_id},
                )
                return redirect("operator:activity", activity_id=activity.pk)
        context = self.get_context_data(activity=activity, ae_form=form)
        return self.render_to_response(context, status=400)


def activity_ae_form(activity: Activity, data=None) -> AdverseEventForm:
    program = activity.enrolment.program
    return AdverseEventForm(
        data,
        prefix="ae",
        programs=[program],
        products=program_products([program]),
        initial={"reporter_type": "nurse", "program": program.code},
    )


class CallsView(ClinicalOperatorView):
    """The inbound-call screen: find the caller among the patients one may see."""

    template_name = "portals/operator/calls.html"
    page_title = _("Inbound call")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form = CallerSearchForm(self.request.GET or None)
        matches = None
        if form.is_valid():
            query = form.cleaned_data["q"]
            matches = find_patients(actor=self.request.user, role="operator", query=query)
            context["searched_phone"] = looks_like_phone(query)
            context["query"] = query
        context["form"] = form
        context["matches"] = matches
        return context


class OutboundCallsView(ClinicalOperatorView):
    """The outbound call list: due calls and the calls the rules ask for, soonest first."""

    template_name = "portals/operator/outbound.html"
    page_title = _("Outbound calls")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        actor = self.request.user
        programs = call_list_programs(actor)
        query = self.request.GET
        form = CallListFilterForm(
            query if ("kind" in query or "program" in query) else None, programs=programs
        )
        filters = form.filters() if form.is_bound else {"kind": "", "program": None}
        calls = call_list_page(actor, page=query.get("page") or 1, **filters)
        context.update(
            calls=calls,
            items=calls.items,
            filter_form=form,
            kinds=[(code, label, calls.counts.get(code, 0)) for code, label in CALL_KINDS],
            active_kind=filters["kind"],
            program_query=f"program={filters['program'].code}&" if filters["program"] else "",
            filter_query=_filter_query(self.request),
        )
        return context
