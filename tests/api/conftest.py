"""Fixtures of the apps' API tests: a fresh throttle per test and a signed-in API client."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(demo_user):
    """``api(email)``: an API client authenticated as that demo account (``None``: anonymous)."""

    def client_for(email: str | None) -> APIClient:
        client = APIClient()
        if email:
            client.force_authenticate(demo_user(email))
        return client

    return client_for
