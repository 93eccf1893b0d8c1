"""The portals a user may enter, for the navigation bar and the portal chooser."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from psp_crm.access import Role, roles_of


@dataclass(frozen=True)
class Portal:
    """One face of the product and the roles that may enter it."""

    key: str
    label: str | Promise
    description: str | Promise
    url_name: str
    roles: frozenset[Role]

    @property
    def url(self) -> str:
        return reverse(self.url_name)


PORTALS: tuple[Portal, ...] = (
    Portal(
        "client",
        _("Client portal"),
        _("Aggregates of the programs your company sponsors."),
        "client:home",
        frozenset({"client"}),
    ),
    Portal(
        "doctor",
        _("Doctor portal"),
        _("The patients you follow: therapy, diaries, activities and reports."),
        "doctor:home",
        frozenset({"doctor"}),
    ),
    Portal(
        "patient",
        _("Patient portal"),
        _("Your therapy diary, visits and deliveries, or those of the people you care for."),
        "patient:home",
        frozenset({"patient", "caregiver"}),
    ),
    Portal(
        "operator",
        _("Operator portal"),
        _("Your activities today and this week."),
        "operator:home",
        frozenset({"operator"}),
    ),
    Portal(
        "control",
        _("Control room"),
        _("Every activity of your programs: unassigned, overdue and at risk."),
        "control:home",
        frozenset({"provider_staff"}),
    ),
    Portal(
        "admin",
        _("Administration"),
        _("Programs, people, pathways and the audit log (provider staff)."),
        "admin:index",
        frozenset({"provider_staff"}),
    ),
)
PORTAL_KEYS = frozenset(p.key for p in PORTALS)


def request_roles(request: HttpRequest) -> set[Role]:
    """The signed-in user's roles, computed once per request."""
    cached = getattr(request, "_psp_roles", None)
    if cached is None:
        cached = roles_of(request.user)
        request._psp_roles = cached  # type: ignore[attr-defined]
    return cached


def portals_for(request: HttpRequest) -> list[Portal]:
    """The portals the signed-in user may enter, in display order."""
    roles = request_roles(request)
    return [portal for portal in PORTALS if portal.roles & roles]


def current_portal(request: HttpRequest) -> str | None:
    """The key of the portal the request is in, from its URL namespace."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    namespace = match.namespaces[0] if match.namespaces else ""
    return namespace if namespace in PORTAL_KEYS else None
