"""Fixtures of the portal tests: a test client signed in as a demo account, and an outsider."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def signed_in(demo_user):
    """A test client signed in as the demo account with this e-mail: ``signed_in("dr...")``."""

    def sign_in(email: str) -> Client:
        client = Client()
        client.force_login(demo_user(email))
        return client

    return sign_in


@pytest.fixture
def nobody(db):
    """A signed-in account that plays no role at all (charlie the outsider)."""
    from psp_crm.models import User

    return User.objects.create_user("charlie@outsider.example", password="x-unused-x")


@pytest.fixture
def nobody_client(nobody) -> Client:
    client = Client()
    client.force_login(nobody)
    return client
