"""Template context shared by every page."""

from __future__ import annotations

from django.http import HttpRequest

from .navigation import current_portal, portals_for


def portal_navigation(request: HttpRequest) -> dict:
    """The navigation links of the signed-in user's portals, with the current one marked."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"portal_nav": [], "current_portal": None}
    current = current_portal(request)
    links = [
        {"key": p.key, "label": p.label, "url": p.url, "active": p.key == current}
        for p in portals_for(request)
    ]
    return {"portal_nav": links, "current_portal": current}
