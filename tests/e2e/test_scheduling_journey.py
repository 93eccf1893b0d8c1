"""Scheduling journey: nurse Verdi completes Anna's infusion in the operator portal; operations
(ops@curaplus.example) see it done in the control room, and the linked waste pickup stays
scheduled for driver Gallo."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from psp_crm.models import Activity, Program

pytestmark = pytest.mark.browser


def _annas_infusion_today() -> Activity:
    today = timezone.localdate()
    for activity in Activity.objects.filter(
        enrolment__patient__first_name="Anna",
        enrolment__patient__last_name="Conti",
        module__code="home-infusion",
        status__in=Activity.OPEN_STATUSES,
    ):
        if timezone.localtime(activity.scheduled_start).date() == today:
            return activity
    raise AssertionError("the demo world gives Anna an infusion today")


def test_nurse_completes_an_infusion_and_operations_see_it(sign_in, live_server, page):
    infusion = _annas_infusion_today()
    pickup = Activity.objects.get(linked_to=infusion, module__code="waste-pickup")
    assert pickup.assignee.user.email == "driver.gallo@swiftmed.example"

    page = sign_in("nurse.verdi@curaplus.example")
    expect(page).to_have_url(re.compile(r"/operator/$"))
    today = page.locator("[data-testid=agenda-today]")
    row = today.locator("li").filter(has_text="Anna Conti").filter(has_text="Home infusion")
    row.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/operator/activities/{infusion.pk}/$"))
    form = page.locator("[data-testid=complete-form]")
    expect(form.get_by_label("Drug administered")).to_be_checked()
    form.get_by_label("Blood pressure (mmHg)").fill("118/76")
    form.get_by_role("button", name="Mark as done").click()
    expect(page.locator("[data-testid=activity-result]")).to_contain_text("Done")

    page.context.clear_cookies()
    page = sign_in("ops@curaplus.example")
    program = Program.objects.get(code="MS-ADHERE")
    day = timezone.localdate()
    page.goto(
        f"{live_server.url}/control/?program={program.pk}&date_from={day.isoformat()}"
        f"&date_to={(day + dt.timedelta(days=1)).isoformat()}"
    )
    table = page.locator("[data-testid=control-activities]")
    done = table.locator(f"tr[data-activity='{infusion.pk}']")
    expect(done).to_have_attribute("data-status", "done")
    expect(done).to_contain_text("Anna Conti")
    waiting = table.locator(f"tr[data-activity='{pickup.pk}']")
    expect(waiting).to_have_attribute("data-status", re.compile("planned|confirmed"))
    expect(waiting).to_contain_text("Matteo Gallo")
