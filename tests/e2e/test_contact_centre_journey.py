"""Contact-centre journey: counsellor Neri takes an inbound call from Anna Conti's number, logs it
and opens a case; nurse Verdi and Dr. Rossi find the call and the case on Anna's timeline."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from psp_crm.models import Case, Interaction, Patient

pytestmark = pytest.mark.browser

ANNAS_CALLER_ID = "+393334127788"  # the demo world's "+39 333 412 7788", as the phone shows it
NOTES = "Courier rang while she was at work; asks for morning deliveries."
SUBJECT = "Move Anna's deliveries to the morning"


def test_counsellor_logs_an_inbound_call_and_a_case_that_nurse_and_doctor_see(sign_in, second_page):
    neri = sign_in("counsellor.neri@curaplus.example")
    neri.get_by_test_id("calls-link").click()
    neri.get_by_label("Phone number, name or patient code").fill(ANNAS_CALLER_ID)
    neri.get_by_role("button", name="Find the patient").click()
    matches = neri.get_by_test_id("caller-matches")
    expect(matches).to_contain_text("Anna Conti")
    matches.locator("li").filter(has_text="Anna Conti").get_by_role(
        "link", name="Open the timeline"
    ).click()
    expect(neri).to_have_url(re.compile(r"/operator/patients/PT-[A-Z0-9-]+/timeline/$"))

    call = neri.get_by_test_id("interaction-form")
    expect(call.get_by_label("Channel")).to_have_value("phone")
    expect(call.get_by_label("Direction")).to_have_value("in")
    call.get_by_label("Reason").select_option(label="Delivery or pickup")
    call.get_by_label("Outcome").select_option(label="Case opened")
    call.get_by_label("Duration").fill("6:45")
    call.get_by_label("Notes").fill(NOTES)
    call.get_by_role("button", name="Log the contact").click()
    timeline = neri.get_by_test_id("timeline")
    first_row = timeline.locator("tbody tr").first
    expect(first_row).to_contain_text("Delivery or pickup")
    expect(first_row).to_contain_text("6 min 45 s")

    case = neri.get_by_test_id("case-form")
    case.get_by_label("Subject").fill(SUBJECT)
    case.get_by_label("Category").select_option(label="Logistics problem")
    case.get_by_label("Priority").select_option(label="High")
    case.get_by_role("button", name="Open the case").click()
    expect(neri.get_by_test_id("open-cases")).to_contain_text(SUBJECT)
    expect(neri.get_by_test_id("timeline")).to_contain_text(SUBJECT)

    anna = Patient.objects.get(user__email="anna.conti@example.com")
    logged = Interaction.objects.get(patient=anna, summary=NOTES)
    assert (logged.reason, logged.outcome, logged.duration_seconds) == (
        "logistics",
        "case_opened",
        405,
    )
    opened = Case.objects.get(patient=anna, subject=SUBJECT)
    assert opened.assigned_to.email == "counsellor.neri@curaplus.example"
    assert opened.due_at is not None

    nurse = second_page("nurse.verdi@curaplus.example")
    nurse.get_by_test_id("agenda-today").locator("li").filter(has_text="Anna Conti").get_by_role(
        "link"
    ).first.click()
    nurse.get_by_test_id("timeline-link").click()
    nurse_timeline = nurse.get_by_test_id("timeline")
    expect(nurse_timeline).to_contain_text("Delivery or pickup")
    expect(nurse_timeline).to_contain_text(SUBJECT)

    rossi = second_page("dr.rossi@sanluca.example")
    rossi.get_by_test_id("patient-list").get_by_role(
        "link", name=re.compile("Anna Conti")
    ).first.click()
    rossi.get_by_test_id("timeline-link").click()
    rossi_timeline = rossi.get_by_test_id("timeline")
    expect(rossi_timeline).to_contain_text("Delivery or pickup")
    expect(rossi_timeline).to_contain_text("6 min 45 s")
    expect(rossi_timeline).to_contain_text(SUBJECT)


def test_anna_asks_on_the_call_to_stop_sms_and_sees_it_in_her_preferences(
    sign_in, second_page, live_server
):
    """Neri records on the call that Anna wants no more SMS; the withdrawal is on the timeline
    at once, and Anna finds it in her own contact preferences."""
    neri = sign_in("counsellor.neri@curaplus.example")
    anna = Patient.objects.get(user__email="anna.conti@example.com")
    neri.goto(f"{live_server.url}/operator/patients/{anna.code}/timeline/")
    consents = neri.get_by_test_id("channel-consents")
    sms = consents.locator('li[data-channel="sms"]')
    expect(sms).to_contain_text("consented")
    sms.get_by_role("button", name="She asks to stop").click()
    expect(neri.get_by_role("alert").or_(neri.locator(".alert")).first).to_contain_text(
        "Consent to SMS withdrawn"
    )
    expect(
        neri.get_by_test_id("channel-consents").locator('li[data-channel="sms"]')
    ).to_contain_text("withdrawn")
    first_row = neri.get_by_test_id("timeline").locator("tbody tr").first
    expect(first_row).to_contain_text("Consent withdrawn: Contact by SMS")
    expect(first_row).to_contain_text("Contact centre call")

    patient = second_page("anna.conti@example.com")
    patient.get_by_role("link", name="Contact preferences").click()
    row = patient.get_by_test_id("channel-consents").locator('li[data-channel="sms"]')
    expect(row.get_by_test_id("consent-state")).to_have_text("withdrawn")
    expect(row).to_contain_text("Contact centre call")


def test_anna_asks_on_the_call_for_english_and_later_reminders(sign_in, second_page, live_server):
    """Neri changes Anna's language and reminder time on the call (a reminder inside the quiet
    hours is refused on its field first); Anna finds the new settings in her preferences."""
    neri = sign_in("counsellor.neri@curaplus.example")
    anna = Patient.objects.get(user__email="anna.conti@example.com")
    neri.goto(f"{live_server.url}/operator/patients/{anna.code}/timeline/")
    expect(neri.get_by_test_id("contact-settings")).to_contain_text("Italian")
    neri.get_by_text("She asks to change the language, quiet hours or reminder time").click()
    form = neri.get_by_test_id("contact-settings-form")
    form.get_by_label("Language of messages").select_option("en")
    form.get_by_label("Quiet hours from").fill("22:00")
    form.get_by_label("Quiet hours until").fill("07:00")
    form.get_by_label("Dose reminders at").fill("06:30")
    form.get_by_role("button", name="Save her choices").click()
    expect(neri.get_by_test_id("contact-settings-form")).to_contain_text(
        "Choose a reminder time outside the quiet hours."
    )
    neri.get_by_test_id("contact-settings-form").get_by_label("Dose reminders at").fill("07:30")
    neri.get_by_test_id("contact-settings-form").get_by_role(
        "button", name="Save her choices"
    ).click()
    expect(neri.locator(".alert").first).to_contain_text("reminder time were saved")
    expect(neri.get_by_test_id("contact-settings")).to_contain_text("English")
    expect(neri.get_by_test_id("contact-settings")).to_contain_text("07:30")

    patient = second_page("anna.conti@example.com")
    patient.get_by_role("link", name="Contact preferences").click()
    expect(patient.locator("select[name='contact-language']")).to_have_value("en")
    expect(patient.locator("input[name='contact-reminder_time']")).to_have_value("07:30")
