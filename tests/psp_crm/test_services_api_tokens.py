"""App tokens: issued once per user and audited; revoking signs every app out."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token

from psp_crm.errors import AccessDenied
from psp_crm.models import AuditEvent
from psp_crm.services.api_tokens import api_token_issue, api_token_revoke
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_issue_reuses_the_token_and_audits():
    user = UserFactory()
    first = api_token_issue(actor=user)
    assert api_token_issue(actor=user).key == first.key
    assert AuditEvent.objects.filter(actor=user, verb="api_token.issue").count() == 2


def test_anonymous_or_inactive_get_no_token():
    with pytest.raises(AccessDenied):
        api_token_issue(actor=AnonymousUser())
    inactive = UserFactory(is_active=False)
    with pytest.raises(AccessDenied):
        api_token_issue(actor=inactive)
    assert not Token.objects.filter(user=inactive).exists()


def test_revoke_deletes_the_token_and_audits():
    user = UserFactory()
    api_token_issue(actor=user)
    assert api_token_revoke(actor=user) == 1
    assert not Token.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(actor=user, verb="api_token.revoke").exists()
