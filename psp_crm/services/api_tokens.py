"""App sign-in tokens: issued to a user who proved her password, revoked when the app signs out."""

from __future__ import annotations

from django.db import transaction
from rest_framework.authtoken.models import Token

from ..errors import AccessDenied
from ..models import User
from .audit import audit_write


@transaction.atomic
def api_token_issue(*, actor: User) -> Token:
    """The actor's app token (one per user; the existing one is reused), audited."""
    if not actor.is_authenticated or not actor.is_active:
        raise AccessDenied("Only an active, signed-in user gets an app token.")
    token, created = Token.objects.get_or_create(user=actor)
    audit_write(
        actor=actor, action="grant", verb="api_token.issue", obj=actor, detail={"new": created}
    )
    return token


@transaction.atomic
def api_token_revoke(*, actor: User) -> int:
    """Delete the actor's app token; every app signed in with it is signed out. Audited."""
    deleted, _ = Token.objects.filter(user=actor).delete()
    audit_write(actor=actor, action="revoke", verb="api_token.revoke", obj=actor)
    return deleted
