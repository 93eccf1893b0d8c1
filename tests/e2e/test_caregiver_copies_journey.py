"""Caregiver-copies journey: Luca asks, in Anna's contact preferences, for e-mail copies of her
reminders; Anna sees that he gets them and stops them from her own page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from psp_crm.models import Delegation, Patient

pytestmark = pytest.mark.browser


def test_luca_asks_for_copies_and_anna_stops_them(sign_in, second_page, live_server):
    anna = Patient.objects.get(user__email="anna.conti@example.com")
    luca = sign_in("luca.conti@example.com")
    luca.goto(f"{live_server.url}/patient/p/{anna.code}/preferences/")
    copies = luca.get_by_test_id("caregiver-copies")
    expect(copies.get_by_test_id("copies-state")).to_have_text("copies off")
    copies.get_by_role("button", name="Send me copies").click()
    expect(luca.locator(".alert").first).to_contain_text("Copies of reminders")
    expect(luca.get_by_test_id("caregiver-copies").get_by_test_id("copies-state")).to_have_text(
        "copies on"
    )
    delegation = Delegation.objects.active().get(
        patient=anna, caregiver__user__email="luca.conti@example.com"
    )
    assert delegation.receives_copies

    page = second_page("anna.conti@example.com")
    page.get_by_role("link", name="Contact preferences").click()
    row = page.get_by_test_id("caregiver-copies").locator(
        'li[data-caregiver="luca.conti@example.com"]'
    )
    expect(row.get_by_test_id("copies-state")).to_have_text("gets copies")
    row.get_by_role("button", name="Stop the copies").click()
    expect(
        page.get_by_test_id("caregiver-copies")
        .locator('li[data-caregiver="luca.conti@example.com"]')
        .get_by_test_id("copies-state")
    ).to_have_text("no copies")
    delegation.refresh_from_db()
    assert not delegation.receives_copies
