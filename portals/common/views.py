"""Views every portal shares: the protected base view, the landing pages and the error pages."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import redirect, render
from django.template import loader
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from psp_crm.access import Role
from psp_crm.errors import AccessDenied

from .navigation import portals_for, request_roles

logger = logging.getLogger(__name__)

# Every concrete portal view registers here, so a test can prove each one is protected.
PORTAL_VIEWS: list[type[PortalView]] = []


class PortalForbidden(PermissionDenied):
    """The signed-in user plays no role of this portal (answered 403 with the message)."""


class PortalView(TemplateView):
    """Base of every portal page: requires a signed-in user who plays one of ``portal_roles``."""

    portal: ClassVar[str] = ""
    portal_roles: ClassVar[tuple[Role, ...]] = ()  # empty: nobody may enter (fail closed)
    page_title: ClassVar[Any] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        PORTAL_VIEWS.append(cls)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        mine = request_roles(request)
        self.roles: list[Role] = [role for role in self.portal_roles if role in mine]
        if not self.roles:
            raise PortalForbidden(_("Your account has no access to this portal."))
        return super().dispatch(request, *args, **kwargs)

    @property
    def role(self) -> Role:
        """The role the user acts in here (the first of ``portal_roles`` they play)."""
        return self.roles[0]

    def get_page_title(self) -> str:
        return str(self.page_title)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("page_title", self.get_page_title())
        context["portal"] = self.portal
        return context


def home(request: HttpRequest) -> HttpResponse:
    """``/``: anonymous visitors go to sign in, signed-in users to their portal."""
    if not request.user.is_authenticated:
        return redirect("account_login")
    return redirect("portal_home")


@login_required
def portal_home(request: HttpRequest) -> HttpResponse:
    """Land in the user's only portal, or choose among several (provider staff always choose)."""
    portals = portals_for(request)
    if len(portals) == 1 and portals[0].key != "admin":
        return redirect(portals[0].url)
    return render(
        request,
        "portals/common/portal_home.html",
        {"portals": portals, "page_title": _("Choose a portal")},
    )


# --- error pages ------------------------------------------------------------------------------

ERROR_PAGES: dict[int, tuple[Any, Any]] = {
    400: (
        gettext_lazy("Bad request"),
        gettext_lazy("We could not understand this request. Please go back and try again."),
    ),
    403: (
        gettext_lazy("Access denied"),
        gettext_lazy("You do not have permission to open this page."),
    ),
    404: (
        gettext_lazy("Page not found"),
        gettext_lazy(
            "This page does not exist, or it is not available to your account. "
            "Check the address, or go back to your portal."
        ),
    ),
    500: (
        gettext_lazy("Something went wrong"),
        gettext_lazy(
            "An unexpected error stopped this page. The team has been told; please try again "
            "in a few minutes."
        ),
    ),
}


def _error_context(status: int, message: str | None = None) -> dict[str, Any]:
    title, sentence = ERROR_PAGES[status]
    return {
        "status": status,
        "page_title": title,
        "error_title": title,
        "error_message": message or sentence,
    }


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400 page with a human sentence."""
    return render(request, "400.html", _error_context(400), status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403 page; the message of our own refusals (already human sentences) is shown."""
    message = None
    if isinstance(exception, PortalForbidden | AccessDenied) and exception.args:
        message = str(exception.args[0])
    return render(request, "403.html", _error_context(403, message), status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 page: the same sentence whether the object is absent or not visible."""
    return render(request, "404.html", _error_context(404), status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """500 page rendered without context processors: the database may be what failed."""
    try:
        html = loader.get_template("500.html").render(_error_context(500))
    except Exception:  # the designed page must never hide the original error behind another
        logger.exception("the 500 page could not be rendered")
        html = "<h1>Server error (500)</h1>"
    return HttpResponseServerError(html)
