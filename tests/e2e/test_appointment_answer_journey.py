"""Appointment journey: nurse Verdi's home visit to Anna Conti is tomorrow. Anna cannot be there:
from her overview she asks to change it, with a note. Nurse Verdi's agenda shows it at once;
counsellor Neri finds Anna under *Appointments to change* on her call list, calls her from it
and logs the call; Anna leaves the list. On a second visit Neri records, on the call, that Anna
confirms."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from psp_crm.models import Activity, Enrolment, Interaction, Operator, Patient, ServiceModule

pytestmark = pytest.mark.browser

NOTE = "My son's wedding is that day: any afternoon next week."


def _visit(anna: Patient, days: int) -> Activity:
    enrolment = Enrolment.objects.filter(patient=anna, program__code="MS-ADHERE").latest("pk")
    start = timezone.now() + dt.timedelta(days=days)
    return Activity.objects.create(
        enrolment=enrolment,
        module=ServiceModule.objects.filter(channel="home_visit").order_by("pk").first(),
        assignee=Operator.objects.get(user__email="nurse.verdi@curaplus.example"),
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(hours=2),
    )


def test_anna_asks_to_change_a_visit_and_the_contact_centre_calls_her(sign_in, second_page):
    anna = Patient.objects.get(user__email="anna.conti@example.com")
    visit = _visit(anna, days=1)
    verdi = second_page("nurse.verdi@curaplus.example")
    expect(verdi.get_by_test_id("agenda-week")).to_be_visible()

    page = sign_in("anna.conti@example.com")
    item = page.get_by_test_id("next-activities").locator("li", has_text=visit.module.name).first
    item.get_by_role("link", name="I need to change it").click()
    expect(page).to_have_url(re.compile(rf"/patient/appointments/{visit.pk}/$"))
    page.get_by_label("A note for the team (optional)").fill(NOTE)
    page.get_by_role("button", name="I need to change it").click()
    expect(page.locator(".alert-success")).to_contain_text("the team will call you")
    expect(page.get_by_test_id("patient-answer")).to_have_text("asks to change it")
    visit.refresh_from_db()
    assert visit.patient_answer == Activity.PatientAnswer.CHANGE_REQUESTED

    # The nurse's agenda hears it live (no reload).
    expect(verdi.get_by_test_id("agenda-week").get_by_test_id("patient-answer")).to_have_text(
        "asks to change it"
    )

    neri = second_page("counsellor.neri@curaplus.example")
    neri.get_by_test_id("outbound-link").click()
    tab = neri.get_by_test_id("call-kinds").locator('a[data-kind="appointment_change"]')
    expect(tab.get_by_test_id("kind-count")).to_have_text("1")
    tab.click()
    row = neri.locator(f'tr[data-patient="{anna.code}"][data-kind="appointment_change"]')
    expect(row).to_contain_text(f"Asks to change {visit.module.name}")
    row.get_by_test_id("call-button").click()
    expect(neri).to_have_url(re.compile(rf"/operator/patients/{anna.code}/timeline/\?reason="))
    timeline = neri.get_by_test_id("timeline")
    expect(timeline).to_contain_text(NOTE)
    form = neri.get_by_test_id("interaction-form")
    expect(form.get_by_label("Reason")).to_have_value("appointment")
    form.get_by_label("Outcome").select_option(label="Resolved during the contact")
    form.get_by_label("Notes").fill("Agreed Tuesday afternoon; nurse Verdi will move the visit.")
    form.get_by_role("button", name="Log the contact").click()
    expect(neri.locator(".alert-success")).to_be_visible()
    call = Interaction.objects.filter(patient=anna, direction="out").latest("pk")
    assert call.reason == "appointment"

    neri.get_by_role("link", name="Outbound calls").click()
    expect(
        neri.locator(f'tr[data-patient="{anna.code}"][data-kind="appointment_change"]')
    ).to_have_count(0)

    # Another visit: on the same call Anna confirms it, and Neri records her answer.
    later = _visit(anna, days=3)
    neri.goto(neri.url.split("/operator/")[0] + f"/operator/patients/{anna.code}/timeline/")
    panel = neri.get_by_test_id("appointments").locator(f'li[data-activity="{later.pk}"]')
    panel.get_by_role("button", name="She confirms").click()
    expect(neri.locator(".alert-success")).to_contain_text("She confirmed")
    later.refresh_from_db()
    assert later.status == Activity.Status.CONFIRMED
    assert Interaction.objects.get(activity=later).channel == "phone"
