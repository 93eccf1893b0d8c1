"""The pharma client's dashboard in Chromium: charts with tables, and the CSV export."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_northwind_opens_ms_adhere_dashboard_sees_charts_and_exports_csv(sign_in, live_server):
    page = sign_in("medical@northwind.example")
    expect(page).to_have_url(re.compile(r"/client/$"))
    page.get_by_role("link", name="MS-ADHERE").click()
    expect(page).to_have_url(re.compile(r"/client/programs/MS-ADHERE/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("MS-ADHERE")

    dashboard = page.locator("[data-testid=dashboard]")
    expect(dashboard).to_be_visible()
    for key in ("funnel", "new_enrolments", "pdc_distribution", "pdc_trend", "services"):
        chart = page.locator(f"[data-testid=chart-{key}] svg")
        expect(chart).to_be_visible()
        expect(page.locator(f"[data-testid=table-{key}]")).to_be_visible()
    expect(page.locator("[data-testid=table-on_time]")).to_contain_text("On-time rate")
    expect(page.locator("[data-testid=pdc-share]")).to_be_visible()

    with page.expect_download() as info:
        page.locator("[data-testid=export-csv]").click()
    download = info.value
    assert download.suggested_filename.startswith("MS-ADHERE-kpis-")
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "program,table,row,column,value"
    assert "MS-ADHERE,funnel," in text
    assert not re.search(r"PT-[A-Z0-9]{4}-[A-Z0-9]{4}", text)

    page.locator("[data-testid=printable-report]").click()
    expect(page.locator("[data-testid=report-title]")).to_contain_text("MS-ADHERE")
