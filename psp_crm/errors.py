"""Domain errors that services raise and faces translate into 400/403/404 with a sentence."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404


class DomainError(ValidationError):
    """A rule of the domain refused the change (answered 400 with the message)."""


class InvalidTransition(DomainError):
    """A status machine refused the requested transition."""


class AccessDenied(PermissionDenied):
    """The actor may see the object but may not do this to it (answered 403)."""


class NotFound(Http404):
    """The object does not exist or the actor may not see it: the same answer for both."""
