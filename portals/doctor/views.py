"""Doctor portal: the patients a doctor follows, each patient's record, reports and referrals."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portals.common.forms import TimelineFilterForm
from portals.common.views import PortalView
from psp_crm.attachments import attachment_response
from psp_crm.errors import DomainError, NotFound
from psp_crm.selectors.call_list import program_products, symptom_entry_for
from psp_crm.selectors.diary import diary_page, measurement_series
from psp_crm.selectors.enrolments import (
    doctor_notes,
    doctor_patient_rows,
    enrolment_for,
    enrolment_record,
    with_adherence,
)
from psp_crm.selectors.pagination import page_of
from psp_crm.selectors.programs import doctor_programs
from psp_crm.selectors.reports import (
    attachment_for,
    receipts_of,
    report_for,
    report_thread,
    reports_inbox,
)
from psp_crm.selectors.timeline import patient_timeline, timeline_programs
from psp_crm.services.audit import audit_patient_read
from psp_crm.services.enrolments import enrolment_refer
from psp_crm.services.notes import note_add
from psp_crm.services.patients import patient_register
from psp_crm.services.reports import report_mark_read, report_reply

from .charts import series_svg
from .forms import AdverseEventForm, NoteForm, PatientSearchForm, ReferralForm, ReplyForm


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            for message in errors:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


class DoctorView(PortalView):
    """Base of the doctor portal's pages."""

    portal = "doctor"
    portal_roles = ("doctor",)


class HomeView(DoctorView):
    """The followed patients with a 30-day adherence indicator, last entry and unread reports."""

    template_name = "portals/doctor/home.html"
    page_title = gettext_lazy("My patients")

    def get_template_names(self) -> list[str]:
        if getattr(self.request, "htmx", False):
            return ["portals/doctor/_patient_results.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        actor = self.request.user
        form = PatientSearchForm(self.request.GET or None, programs=doctor_programs(actor=actor))
        valid = form.is_valid()
        filters = form.cleaned_data if valid else {}
        rows = doctor_patient_rows(
            actor=actor,
            q=filters.get("q") or None,
            program=filters.get("program") or None,
            below=form.threshold() if valid else None,
            unread=bool(filters.get("unread")),
        )
        context["form"] = form
        page = page_of(rows, page=self.request.GET.get("page"))
        page.object_list = with_adherence(list(page.object_list))
        context["page_obj"] = page
        context["searching"] = any(filters.get(k) for k in ("q", "program", "below", "unread"))
        return context


class PatientMixin:
    """Resolve the followed enrolment of the URL (absent or not followed: the same 404)."""

    def get_enrolment(self):
        return enrolment_for(
            actor=self.request.user, role="doctor", enrolment_id=self.kwargs["enrolment_id"]
        )


class PatientView(PatientMixin, DoctorView):
    """One followed patient: identity, therapy, diary, charts, activities, reports, notes."""

    template_name = "portals/doctor/patient.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        actor = self.request.user
        enrolment = self.get_enrolment()
        with_adherence([enrolment])
        audit_patient_read(
            actor=actor,
            patient=enrolment.patient,
            portal="doctor",
            obj=enrolment,
            request=self.request,
        )
        record = enrolment_record(actor=actor, role="doctor", enrolment=enrolment)
        series = measurement_series(actor=actor, role="doctor", enrolment=enrolment)
        reports = reports_inbox(actor=actor, role="doctor", enrolment=enrolment)
        kwargs.setdefault("note_form", NoteForm())
        diary = diary_page(
            actor=actor,
            role="doctor",
            enrolment=enrolment,
            page=self.request.GET.get("page"),
            per_page=20,
        )
        return super().get_context_data(
            record=record,
            enrolment=enrolment,
            patient=enrolment.patient,
            timeline=diary,
            symptom_entries=[e for e in diary.object_list if e.kind == "symptom"],
            charts=[(s, series_svg(s)) for s in series],
            reports=list(reports[:20]),
            notes=doctor_notes(actor=actor, enrolment=enrolment),
            page_title=enrolment.patient.full_name,
            **kwargs,
        )


class TimelineView(PatientMixin, DoctorView):
    """The followed patient's timeline across every channel, filterable by channel and program."""

    template_name = "portals/doctor/timeline.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        actor = self.request.user
        enrolment = self.get_enrolment()
        patient = enrolment.patient
        audit_patient_read(
            actor=actor, patient=patient, portal="doctor", obj=enrolment, request=self.request
        )
        programs = timeline_programs(actor=actor, role="doctor", patient=patient)
        filter_form = TimelineFilterForm(self.request.GET or None, programs=programs)
        timeline = patient_timeline(
            actor=actor,
            role="doctor",
            patient=patient,
            page=self.request.GET.get("page") or 1,
            **filter_form.filters(),
        )
        query = self.request.GET.copy()
        query.pop("page", None)
        return super().get_context_data(
            enrolment=enrolment,
            patient=patient,
            timeline=timeline,
            filter_form=filter_form,
            filter_query=f"{query.urlencode()}&" if query else "",
            page_title=patient.full_name,
            **kwargs,
        )


class NotesView(PatientMixin, DoctorView):
    """Add a private note (POST only; the page shows them)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        enrolment = self.get_enrolment()
        form = NoteForm(request.POST)
        if form.is_valid():
            try:
                note_add(actor=request.user, enrolment=enrolment, body=form.cleaned_data["body"])
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _("Note saved. Only you can read it."))
        else:
            messages.error(request, _("Write the note first."))
        return HttpResponseRedirect(reverse("doctor:patient", args=[enrolment.pk]) + "#notes")


class ReportView(PatientMixin, DoctorView):
    """One report of a followed patient: opening it marks it read; the doctor replies here."""

    template_name = "portals/doctor/report.html"
    page_title = gettext_lazy("Report")

    def get_report(self, enrolment):
        report = report_for(actor=self.request.user, role="doctor", report_id=self.kwargs["pk"])
        if report.enrolment_id != enrolment.pk:
            raise NotFound(_("No such report."))
        return report

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        actor = self.request.user
        enrolment = self.get_enrolment()
        report = self.get_report(enrolment)
        report_mark_read(actor=actor, report=report)
        kwargs.setdefault("form", ReplyForm())
        return super().get_context_data(
            enrolment=enrolment,
            patient=enrolment.patient,
            report=report,
            thread=report_thread(actor=actor, role="doctor", report=report),
            receipts=receipts_of(report),
            can_reply=report.kind in ("patient_to_doctor", "visit", "adherence"),
            **kwargs,
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        enrolment = self.get_enrolment()
        report = self.get_report(enrolment)
        form = ReplyForm(request.POST)
        if form.is_valid():
            try:
                report_reply(actor=request.user, report=report, body=form.cleaned_data["body"])
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, _("Your reply was sent."))
                return HttpResponseRedirect(
                    reverse("doctor:report", args=[enrolment.pk, report.pk])
                )
        return self.render_to_response(self.get_context_data(form=form), status=400)


class AttachmentView(DoctorView):
    """Serve a report attachment of a followed patient after the permission check."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        attachment = attachment_for(actor=request.user, role="doctor", attachment_id=kwargs["pk"])
        return attachment_response(request, attachment, portal="doctor")


class ReferView(DoctorView):
    """Refer a new patient to a program; the enrolment waits for the consent staff record."""

    template_name = "portals/doctor/refer.html"
    page_title = gettext_lazy("Refer a patient")

    def get_form(self, data=None) -> ReferralForm:
        self.programs = list(doctor_programs(actor=self.request.user).filter(status="active"))
        return ReferralForm(data, programs=self.programs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("form", self.get_form())
        return super().get_context_data(**kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.get_form(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            program = next(p for p in self.programs if p.code == data["program"])
            fields = {
                k: data[k] for k in ("birth_date", "sex", "phone", "email", "city") if data.get(k)
            }
            try:
                with transaction.atomic():
                    patient = patient_register(
                        actor=request.user,
                        first_name=data["first_name"],
                        last_name=data["last_name"],
                        **fields,
                    )
                    enrolment = enrolment_refer(
                        actor=request.user,
                        patient=patient,
                        program=program,
                        dose=data["dose"],
                        frequency=data["frequency"],
                    )
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(
                    request,
                    _(
                        "%(name)s was referred to %(program)s. The program's team will collect "
                        "the consent before the enrolment becomes active."
                    )
                    % {"name": patient.full_name, "program": program.name},
                )
                return HttpResponseRedirect(reverse("doctor:patient", args=[enrolment.pk]))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class AdverseEventView(PatientMixin, DoctorView):
    """Flag a suspected adverse event of a followed patient.

    Opened with ``?diary=<entry id>`` next to a symptom of the diary, the form is prefilled with
    the symptom and its date, and the patient counts as the first reporter (``source_diary_entry``).
    """

    template_name = "portals/doctor/adverse_event.html"
    page_title = gettext_lazy("Flag a suspected adverse event")

    def get_entry(self, enrolment):
        entry_id = self.request.POST.get("diary") or self.request.GET.get("diary")
        if not entry_id:
            return None
        entry = symptom_entry_for(
            actor=self.request.user, role="doctor", enrolment=enrolment, entry_id=entry_id
        )
        if entry is None:
            raise NotFound(_("No such diary entry."))
        return entry

    def get_form(self, enrolment, entry, data=None) -> AdverseEventForm:
        initial = {}
        if entry is not None:
            initial = {
                "reaction": entry.symptom,
                "onset_date": timezone.localtime(entry.occurred_at).date(),
                "reporter_type": "patient",
                "description": " ".join(
                    part
                    for part in (
                        _("Severity %(severity)s/10.") % {"severity": entry.severity}
                        if entry.severity is not None
                        else "",
                        entry.note,
                    )
                    if part
                ),
            }
        return AdverseEventForm(
            data, products=program_products([enrolment.program]), initial=initial
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        enrolment = kwargs.pop("enrolment", None) or self.get_enrolment()
        entry = kwargs.pop("entry", None)
        if entry is None and "form" not in kwargs:
            entry = self.get_entry(enrolment)
        kwargs.setdefault("form", self.get_form(enrolment, entry))
        return super().get_context_data(
            enrolment=enrolment, patient=enrolment.patient, entry=entry, **kwargs
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        enrolment = self.get_enrolment()
        entry = self.get_entry(enrolment)
        form = self.get_form(enrolment, entry, request.POST)
        if form.is_valid():
            try:
                event = form.capture(
                    actor=request.user,
                    patient=enrolment.patient,
                    enrolment=enrolment,
                    channel="diary" if entry is not None else "doctor",
                    source_diary_entry=entry,
                )
            except DomainError as error:
                _apply_errors(form, error)
            else:
                messages.success(
                    request,
                    _(
                        "Suspected adverse event recorded (case #%(id)s): the program's team "
                        "forwards it to pharmacovigilance."
                    )
                    % {"id": event.case_id},
                )
                return HttpResponseRedirect(reverse("doctor:patient", args=[enrolment.pk]))
        context = self.get_context_data(enrolment=enrolment, entry=entry, form=form)
        return self.render_to_response(context, status=400)
