"""Shared test fixtures: the demo world (seeded once per test database) and role users."""

from __future__ import annotations

import pytest
from django.core.management import call_command

DEMO_PASSWORD = "demo-psp-2026"


def _seed_demo_world() -> None:
    from psp_crm.models import User

    if not User.objects.filter(email="anna.conti@example.com").exists():
        call_command("seed_demo", crowd=12, force=True, verbosity=0)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Seed DEMO.md's world once into the test database; every test's transaction rolls back."""
    with django_db_blocker.unblock():
        _seed_demo_world()


@pytest.fixture
def demo_world(db):
    """The demo world of DEMO.md (re-seeded if a transactional test flushed it)."""
    _seed_demo_world()


@pytest.fixture
def demo_user(demo_world):
    """Look up a demo account by e-mail: ``demo_user("dr.rossi@sanluca.example")``."""
    from psp_crm.models import User

    def get(email: str) -> User:
        return User.objects.get(email=email)

    return get
