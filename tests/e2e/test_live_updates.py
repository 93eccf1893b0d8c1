"""Live updates in Chromium: the page's socket connects through the real ASGI server."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

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
