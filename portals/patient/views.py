"""Patient portal: a patient's own therapy, or the patients a caregiver acts for."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from portals.common.views import PortalView
from psp_crm.selectors.patients import (
    delegated_patient,
    patient_dashboard,
    patient_self,
    patients_for_caregiver,
)
from psp_crm.services.audit import audit_patient_read


class PatientPortalView(PortalView):
    """Base of the patient portal's pages (patients and caregivers)."""

    portal = "patient"
    portal_roles = ("patient", "caregiver")


class HomeView(PatientPortalView):
    """A patient's next activities and diary; a caregiver's list of delegated patients."""

    template_name = "portals/patient/home.html"

    def get_page_title(self) -> str:
        if "patient" in self.roles:
            return str(_("My therapy"))
        return str(_("People I care for"))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        actor = self.request.user
        if "patient" in self.roles:
            me = patient_self(actor=actor)
            if me is not None:
                context["dashboard"] = patient_dashboard(actor=actor, patient=me, role="patient")
        if "caregiver" in self.roles:
            context["delegated"] = list(patients_for_caregiver(actor=actor))
        return context


class DelegatedPatientView(PatientPortalView):
    """A caregiver's page for one delegated patient (read audited)."""

    template_name = "portals/patient/delegated_patient.html"
    portal_roles = ("caregiver",)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        actor = self.request.user
        patient = delegated_patient(actor=actor, code=self.kwargs["code"])
        audit_patient_read(actor=actor, patient=patient, portal="patient", request=self.request)
        return super().get_context_data(
            dashboard=patient_dashboard(actor=actor, patient=patient, role="caregiver"),
            delegated=list(patients_for_caregiver(actor=actor)),
            current=patient,
            page_title=patient.full_name,
            **kwargs,
        )
