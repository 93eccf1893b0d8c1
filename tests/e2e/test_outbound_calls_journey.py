"""Outbound-call journey: counsellor Neri works her call list — the *Missed deliveries* tab shows
Anna Conti's missed delivery; *Call* opens Anna's timeline with the call script and the log form
ready; once the call is logged, Anna leaves the list."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from psp_crm.models import Activity, Enrolment, Interaction, Patient, ServiceModule

pytestmark = pytest.mark.browser

REASON = "Courier found nobody at home"


def _annas_missed_delivery() -> Patient:
    anna = Patient.objects.get(user__email="anna.conti@example.com")
    enrolment = Enrolment.objects.filter(patient=anna, program__code="MS-ADHERE").latest("pk")
    start = timezone.now() - dt.timedelta(days=1)
    Activity.objects.create(
        enrolment=enrolment,
        module=ServiceModule.objects.get(code="drug-delivery"),
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(hours=2),
        status=Activity.Status.MISSED,
        status_reason=REASON,
    )
    return anna


def test_counsellor_calls_back_a_missed_delivery_from_her_list(sign_in):
    anna = _annas_missed_delivery()
    neri = sign_in("counsellor.neri@curaplus.example")
    neri.get_by_test_id("outbound-link").click()
    tabs = neri.get_by_test_id("call-kinds")
    expect(
        tabs.locator('a[data-kind="missed_delivery"]').get_by_test_id("kind-count")
    ).to_have_text("1")
    tabs.locator('a[data-kind="missed_delivery"]').click()
    expect(neri).to_have_url(re.compile(r"kind=missed_delivery"))
    calls = neri.get_by_test_id("outbound-calls")
    row = calls.locator(f'tr[data-patient="{anna.code}"]')
    expect(row).to_contain_text(REASON)
    expect(calls.locator("tbody tr")).to_have_count(1)

    row.get_by_test_id("call-button").click()
    expect(neri).to_have_url(re.compile(rf"/operator/patients/{anna.code}/timeline/\?reason="))
    expect(neri.get_by_test_id("call-script")).to_be_visible()
    form = neri.get_by_test_id("interaction-form")
    expect(form.get_by_label("Direction")).to_have_value("out")
    expect(form.get_by_label("Reason")).to_have_value("missed_delivery")
    form.get_by_label("Outcome").select_option(label="Resolved during the contact")
    form.get_by_label("Duration").fill("3:10")
    form.get_by_label("Notes").fill("New delivery agreed for tomorrow morning.")
    form.get_by_role("button", name="Log the contact").click()
    expect(neri.get_by_test_id("timeline").locator("tbody tr").first).to_contain_text(
        "Missed delivery"
    )
    call = Interaction.objects.filter(patient=anna).latest("pk")
    assert (call.direction, call.reason, call.duration_seconds) == ("out", "missed_delivery", 190)

    neri.get_by_role("link", name="Outbound calls").click()
    missed = neri.get_by_test_id("call-kinds").locator('a[data-kind="missed_delivery"]')
    expect(missed.get_by_test_id("kind-count")).to_have_text("0")
    expect(
        neri.locator(f'tr[data-patient="{anna.code}"][data-kind="missed_delivery"]')
    ).to_have_count(0)
