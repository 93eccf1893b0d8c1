"""Live updates in Chromium: the page's socket connects through the real ASGI server."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from psp_crm.models import Activity, Program

pytestmark = pytest.mark.browser


def test_signed_in_pages_show_live_updates_connected(sign_in):
    page = sign_in("dr.rossi@sanluca.example")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "on", timeout=10_000)


def test_the_indicator_shows_a_dropped_connection_and_the_reconnect(sign_in):
    page = sign_in("anna.conti@example.com")
    status = page.locator("#live-status")
    expect(status).to_have_attribute("data-state", "on", timeout=10_000)
    page.evaluate("window.pspLive.socket.close()")
    expect(status).to_have_attribute("data-state", "off", timeout=5_000)
    expect(status).to_contain_text("reconnecting")
    expect(status).to_have_attribute("data-state", "on", timeout=15_000)


def test_anna_logs_a_symptom_and_rossis_open_page_shows_it(sign_in, second_page):
    rossi = second_page("dr.rossi@sanluca.example")
    rossi.locator("[data-testid=patient-list]").get_by_role(
        "link", name=re.compile("Anna Conti")
    ).first.click()
    expect(rossi.locator("#live-status")).to_have_attribute("data-state", "on")
    rossi.evaluate("window.__notReloaded = true")

    anna = sign_in("anna.conti@example.com")
    anna.locator("[data-testid=patient-sections]").get_by_role("link", name="Diary").click()
    anna.locator("[data-testid=add-entry]").get_by_role("link", name="Symptom").click()
    anna.get_by_label("Symptom").select_option(index=1)
    symptom = anna.get_by_label("Symptom").locator("option:checked").inner_text()
    anna.get_by_label(re.compile("Severity")).fill("7")
    anna.get_by_role("button", name="Save").click()
    expect(anna.locator("main")).to_contain_text("Saved in the diary")

    diary = rossi.locator("#diary-section")
    expect(diary).to_contain_text(f"{symptom} (7/10)", ignore_case=True, timeout=15_000)
    assert rossi.evaluate("window.__notReloaded") is True


def test_ops_sees_a_nurses_completed_visit_appear_in_the_control_room(
    sign_in, second_page, live_server
):
    today = timezone.localdate()
    infusion = next(
        a
        for a in Activity.objects.filter(
            enrolment__patient__user__email="anna.conti@example.com",
            module__code="home-infusion",
            status__in=Activity.OPEN_STATUSES,
        )
        if timezone.localtime(a.scheduled_start).date() == today
    )
    program = Program.objects.get(code="MS-ADHERE")
    ops = second_page("ops@curaplus.example")
    ops.goto(
        f"{live_server.url}/control/"
        f"?program={program.pk}&date_from={today}&date_to={today + dt.timedelta(days=1)}"
    )
    row = ops.locator(f"[data-testid=control-activities] tr[data-activity='{infusion.pk}']")
    expect(row).to_have_attribute("data-status", re.compile("planned|confirmed"))
    expect(ops.locator("#live-status")).to_have_attribute("data-state", "on")
    ops.evaluate("window.__notReloaded = true")

    nurse = sign_in("nurse.verdi@curaplus.example")
    nurse.goto(f"{live_server.url}/operator/activities/{infusion.pk}/")
    form = nurse.locator("[data-testid=complete-form]")
    form.get_by_role("button", name="Mark as done").click()
    expect(nurse.locator("[data-testid=activity-result]")).to_contain_text("Done")

    row = ops.locator(f"[data-testid=control-activities] tr[data-activity='{infusion.pk}']")
    expect(row).to_have_attribute("data-status", "done", timeout=15_000)
    assert ops.evaluate("window.__notReloaded") is True
