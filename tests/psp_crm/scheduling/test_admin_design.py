"""Program design in the admin: step validation messages, clone actions, absences."""

from __future__ import annotations

from django import forms
from django.urls import reverse

from psp_crm.admin.catalog import StepFormSet
from psp_crm.models import Activity, CarePathwayStep, OperatorAbsence, Program
from psp_crm.scheduling.engine import local_day

OPS = "ops@curaplus.example"
STEP_FIELDS = [
    "module",
    "anchor",
    "anchor_step",
    "offset_days",
    "rrule",
    "window_start",
    "window_end",
]


def test_a_step_form_explains_a_bad_rrule_and_window(pw):
    form_class = forms.modelform_factory(CarePathwayStep, fields=STEP_FIELDS)
    form = form_class(
        data={
            "module": pw.call.module_id,
            "anchor": "enrolment_start",
            "offset_days": 0,
            "rrule": "FREQ=SOMETIMES",
            "window_start": "14:00",
            "window_end": "09:00",
        },
        instance=CarePathwayStep(program=pw.program),
    )
    assert not form.is_valid()
    assert "valid RFC 5545" in form.errors["rrule"][0]
    assert "end after it starts" in form.errors["window_end"][0]


def test_the_step_formset_refuses_an_anchor_cycle(pw):
    formset_class = forms.inlineformset_factory(
        Program, CarePathwayStep, formset=StepFormSet, fields=STEP_FIELDS, extra=0
    )
    steps = [pw.infusion, pw.pickup]
    data = {
        "pathway_steps-TOTAL_FORMS": "2",
        "pathway_steps-INITIAL_FORMS": "2",
    }
    anchors = {pw.infusion.pk: pw.pickup.pk, pw.pickup.pk: pw.infusion.pk}
    for i, step in enumerate(steps):
        data.update(
            {
                f"pathway_steps-{i}-id": step.pk,
                f"pathway_steps-{i}-program": pw.program.pk,
                f"pathway_steps-{i}-module": step.module_id,
                f"pathway_steps-{i}-anchor": "step",
                f"pathway_steps-{i}-anchor_step": anchors[step.pk],
                f"pathway_steps-{i}-offset_days": 1,
                f"pathway_steps-{i}-rrule": "",
            }
        )
    formset = formset_class(
        data, instance=pw.program, queryset=CarePathwayStep.objects.filter(pk__in=anchors)
    )
    assert not formset.is_valid()
    assert "cycle" in " ".join(formset.non_form_errors()) + str([f.errors for f in formset.forms])


def test_program_design_pages_load_and_replicate(client, demo_user):
    client.force_login(demo_user(OPS))
    program = Program.objects.get(code="MS-ADHERE")
    page = client.get(reverse("admin:psp_crm_program_change", args=[program.pk]))
    assert page.status_code == 200 and "reschedule_policy" in page.text
    response = client.post(
        reverse("admin:psp_crm_program_changelist"),
        {"action": "replicate_programs", "_selected_action": [program.pk]},
    )
    assert response.status_code == 302
    copy = Program.objects.get(code="MS-ADHERE-COPY")
    assert copy.status == "design"
    assert copy.pathway_steps.count() == program.pathway_steps.count()


def test_an_absence_recorded_in_the_admin_reassigns(client, demo_user):
    client.force_login(demo_user(OPS))
    verdi = demo_user("nurse.verdi@curaplus.example").operator_profile
    day = Activity.objects.filter(assignee=verdi, status__in=Activity.OPEN_STATUSES).latest(
        "scheduled_start"
    )
    when = local_day(day.scheduled_start)
    response = client.post(
        reverse("admin:psp_crm_operatorabsence_add"),
        {"operator": verdi.pk, "starts_on": when, "ends_on": when},
    )
    assert response.status_code == 302, response.text[:500]
    assert OperatorAbsence.objects.filter(operator=verdi).exists()
    day.refresh_from_db()
    assert day.assignee_id != verdi.pk
