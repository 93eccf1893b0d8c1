"""Browser journeys: Playwright's sync API driving Debian's Chromium against a live server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("PSP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("PSP_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: run `apt-get install chromium`")
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


class LiveServer:
    """Where the browser goes: a daphne process serving HTTP and websockets (``/ws/live/``)."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        # pytest-django's autouse helper toggles these on whatever fixture is named live_server.
        self._live_server_modified_settings = _NoSettings()


class _NoSettings:
    def enable(self) -> None:
        pass

    def disable(self) -> None:
        pass


@pytest.fixture(scope="session")
def _asgi_server(django_db_setup, django_db_blocker):
    from tests.asgi_servers import asgi_servers

    with django_db_blocker.unblock(), asgi_servers(1) as ports:
        yield LiveServer(ports[0])


@pytest.fixture
def live_server(_asgi_server, transactional_db):
    """Overrides pytest-django's WSGI live server: the real ASGI app, websockets included.

    The server is another process, so tests write through committed transactions."""
    return _asgi_server


@pytest.fixture
def sign_in(live_server, page, demo_world):
    """Sign a demo account in through the real login form; returns the page."""

    def do(email: str, password: str = "demo-psp-2026"):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=login]", email)
        page.fill("input[name=password]", password)
        page.click("form button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    return do


@pytest.fixture
def second_page(browser, live_server, demo_world):
    """Another person's browser, signed in: ``second_page(email)``."""
    contexts = []

    def open_as(email: str):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=login]", email)
        page.fill("input[name=password]", "demo-psp-2026")
        page.click("form button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    yield open_as
    for context in contexts:
        context.close()
