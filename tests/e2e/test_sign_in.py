"""Sign-in journeys in Chromium: each demo account lands in its own portal."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_patient_anna_signs_in_and_sees_her_diary_and_schedule(sign_in, live_server):
    page = sign_in("anna.conti@example.com")
    expect(page).to_have_url(re.compile(r"/patient/$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text("Anna")
    expect(page.locator("[data-testid=diary-entries]")).to_be_visible()
    expect(page.locator("[data-testid=next-activities]")).to_be_visible()


def test_doctor_rossi_signs_in_and_opens_anna_conti(sign_in, live_server):
    page = sign_in("dr.rossi@sanluca.example")
    expect(page).to_have_url(re.compile(r"/doctor/$"))
    patients = page.locator("[data-testid=patient-list]")
    expect(patients).to_contain_text("Anna Conti")
    expect(patients).not_to_contain_text("Marco Ferri")
    patients.get_by_role("link", name=re.compile("Anna Conti")).first.click()
    expect(page).to_have_url(re.compile(r"/doctor/patients/\d+/$"))
    expect(page.locator("main")).to_contain_text("MS-ADHERE")


def test_wrong_password_is_refused_with_a_clear_message(sign_in, live_server):
    page = sign_in("anna.conti@example.com", password="not-the-password")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator("main")).to_contain_text(re.compile("not correct|incorrect", re.I))


def test_sign_out_returns_to_the_login_page(sign_in, live_server):
    page = sign_in("marco.ferri@example.com")
    expect(page).to_have_url(re.compile(r"/patient/$"))
    page.get_by_role("button", name=re.compile("sign out|log out", re.I)).click()
    page.wait_for_load_state("networkidle")
    expect(page).to_have_url(re.compile(r"/accounts/(login|logout)/"))
