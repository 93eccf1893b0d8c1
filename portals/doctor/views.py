"""Doctor portal: the patients a doctor follows and each patient's record."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from portals.common.views import PortalView
from psp_crm.selectors.enrolments import doctor_patient_rows, enrolment_for, enrolment_record
from psp_crm.selectors.pagination import page_of
from psp_crm.selectors.programs import doctor_programs
from psp_crm.services.audit import audit_patient_read

from .forms import PatientSearchForm


class DoctorView(PortalView):
    """Base of the doctor portal's pages."""

    portal = "doctor"
    portal_roles = ("doctor",)


class HomeView(DoctorView):
    """The followed patients, searchable by name or code and filterable by program."""

    template_name = "portals/doctor/home.html"
    page_title = _("My patients")

    def get_template_names(self) -> list[str]:
        if getattr(self.request, "htmx", False):
            return ["portals/doctor/_patient_results.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        actor = self.request.user
        form = PatientSearchForm(self.request.GET or None, programs=doctor_programs(actor=actor))
        filters = form.cleaned_data if form.is_valid() else {}
        rows = doctor_patient_rows(
            actor=actor, q=filters.get("q") or None, program=filters.get("program") or None
        )
        context["form"] = form
        context["page_obj"] = page_of(rows, page=self.request.GET.get("page"))
        context["searching"] = bool(filters.get("q") or filters.get("program"))
        return context


class PatientView(DoctorView):
    """One followed patient: identity, therapy, diary, activities and reports (read audited)."""

    template_name = "portals/doctor/patient.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        actor = self.request.user
        enrolment = enrolment_for(
            actor=actor, role="doctor", enrolment_id=self.kwargs["enrolment_id"]
        )
        audit_patient_read(
            actor=actor,
            patient=enrolment.patient,
            portal="doctor",
            obj=enrolment,
            request=self.request,
        )
        record = enrolment_record(actor=actor, role="doctor", enrolment=enrolment)
        return super().get_context_data(
            record=record,
            enrolment=enrolment,
            patient=enrolment.patient,
            page_title=enrolment.patient.full_name,
            **kwargs,
        )
