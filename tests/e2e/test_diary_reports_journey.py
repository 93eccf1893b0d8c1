"""The diary and report journey in Chromium: Anna lets her brother Luca send reports; Luca logs a
dose for her and sends a report; Dr. Rossi sees both on Anna's page and replies; Anna sees the
reply and the doctor's read receipt."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SUBJECT = "Dose taken after dinner"


def sign_out(page) -> None:
    page.get_by_role("button", name=re.compile("sign out", re.I)).click()
    page.wait_for_load_state("networkidle")


def test_luca_logs_a_dose_and_reports_rossi_replies_anna_sees_it(sign_in):
    # Anna allows Luca to send reports for her (his demo delegation may only log the diary).
    page = sign_in("anna.conti@example.com")
    page.locator("[data-testid=patient-sections]").get_by_role("link", name="Caregivers").click()
    row = page.locator("[data-testid=delegations] li", has_text="Luca Conti")
    row.get_by_label("May send reports to my doctor").check()
    row.get_by_role("button", name="Save rights").click()
    expect(page.locator("main")).to_contain_text("rights were changed")
    sign_out(page)

    # Luca logs a dose for Anna and sends a report.
    page = sign_in("luca.conti@example.com")
    page.locator("[data-testid=delegated-patients]").get_by_role("link", name="Anna Conti").click()
    page.locator("[data-testid=patient-sections]").get_by_role("link", name="Diary").click()
    page.locator("[data-testid=add-entry]").get_by_role("link", name="Dose").click()
    page.get_by_label("Taken", exact=True).check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("main")).to_contain_text("Saved in the diary")
    first = page.locator("[data-testid=diary-timeline] li").first
    expect(first).to_contain_text("Taken")
    expect(first).to_contain_text("Entered by Luca Conti")

    page.locator("[data-testid=patient-sections]").get_by_role("link", name="Reports").click()
    form = page.locator("[data-testid=report-form]")
    form.get_by_label("Subject").fill(SUBJECT)
    form.get_by_label("Your message").fill("Anna took tonight's dose two hours late.")
    form.get_by_role("button", name="Send").click()
    expect(page.locator("main")).to_contain_text("sent to the doctor")
    expect(page.locator("[data-testid=read-receipt]").first).to_contain_text("Not read yet")
    sign_out(page)

    # Dr. Rossi opens Anna's page, sees the dose and the report, and replies.
    page = sign_in("dr.rossi@sanluca.example")
    page.locator("[data-testid=patient-list]").get_by_role(
        "link", name=re.compile("Anna Conti")
    ).first.click()
    expect(page.locator("[data-testid=diary-entries]")).to_contain_text("Entered by Luca Conti")
    reports = page.locator("[data-testid=reports]")
    expect(reports).to_contain_text(SUBJECT)
    reports.get_by_role("link", name=SUBJECT).click()
    expect(page.locator("main")).to_contain_text("two hours late")
    page.locator("[data-testid=reply-form]").get_by_label("Reply").fill(
        "Thank you, that is fine. Keep the usual time from tomorrow."
    )
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("[data-testid=replies]")).to_contain_text("Keep the usual time")
    sign_out(page)

    # Anna sees the reply and that the doctor read the report.
    page = sign_in("anna.conti@example.com")
    page.locator("[data-testid=patient-sections]").get_by_role("link", name="Reports").click()
    inbox = page.locator("[data-testid=reports]")
    expect(inbox).to_contain_text(f"Re: {SUBJECT}")
    inbox.get_by_role("link", name=SUBJECT, exact=True).click()
    expect(page.locator("[data-testid=replies]")).to_contain_text("Keep the usual time")
    expect(page.locator("[data-testid=read-receipt]").first).to_contain_text(
        "Read by Alessandro Rossi"
    )


def test_rossi_sees_lucas_dose_appear_live(browser, live_server, demo_world):
    """Anna's page open at the doctor's; Luca logs a dose; the diary section refreshes by itself."""

    def signed_in_page(email: str):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=login]", email)
        page.fill("input[name=password]", "demo-psp-2026")
        page.click("form button[type=submit]")
        page.wait_for_load_state("networkidle")
        return context, page

    rossi_context, rossi = signed_in_page("dr.rossi@sanluca.example")
    luca_context, luca = signed_in_page("luca.conti@example.com")
    try:
        rossi.locator("[data-testid=patient-list]").get_by_role(
            "link", name=re.compile("Anna Conti")
        ).first.click()
        expect(rossi.locator("#live-status")).to_have_attribute("data-state", "on")
        luca.locator("[data-testid=delegated-patients]").get_by_role(
            "link", name="Anna Conti"
        ).click()
        luca.locator("[data-testid=patient-sections]").get_by_role("link", name="Diary").click()
        luca.locator("[data-testid=add-entry]").get_by_role("link", name="Note").click()
        luca.get_by_label("Note").fill("Live note from Luca")
        luca.get_by_role("button", name="Save").click()
        expect(luca.locator("main")).to_contain_text("Saved in the diary")
        expect(rossi.locator("#diary-section")).to_contain_text(
            "Live note from Luca", timeout=15_000
        )
    finally:
        rossi_context.close()
        luca_context.close()
