"""Every portal URL is protected: anonymous → sign-in, a user without the portal's role → 403."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, SlugConverter, StringConverter

from portals.common.views import PORTAL_VIEWS, PortalView

PORTALS = ("client", "doctor", "patient", "operator", "control")
# A demo account that plays no role of the portal (but other roles).
OUTSIDER_OF = {
    "client": "dr.rossi@sanluca.example",
    "doctor": "medical@northwind.example",
    "patient": "driver.gallo@swiftmed.example",
    "operator": "anna.conti@example.com",
    "control": "nurse.verdi@curaplus.example",
}
SAMPLE_VALUES = {IntConverter: 1, SlugConverter: "MS-ADHERE", StringConverter: "PT-AAAA-BBBB"}


def _walk(entries, namespace: str):
    for entry in entries:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, namespace)
        elif isinstance(entry, URLPattern):
            yield namespace, entry


def portal_patterns() -> list[tuple[str, URLPattern]]:
    """Every URL pattern mounted under /client/, /doctor/, /patient/, /operator/."""
    found = []
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace in PORTALS:
            found.extend(_walk(entry.url_patterns, entry.namespace))
    return found


def _url(namespace: str, pattern: URLPattern) -> str:
    kwargs = {
        name: SAMPLE_VALUES[type(converter)]
        for name, converter in pattern.pattern.converters.items()
    }
    return reverse(f"{namespace}:{pattern.name}", kwargs=kwargs)


PATTERNS = portal_patterns()
IDS = [f"{ns}:{p.name}" for ns, p in PATTERNS]


def test_every_portal_has_pages():
    assert {ns for ns, _ in PATTERNS} == set(PORTALS)


@pytest.mark.parametrize(("namespace", "pattern"), PATTERNS, ids=IDS)
def test_view_is_a_protected_portal_view(namespace, pattern):
    assert pattern.name, "every portal URL needs a name"
    view_class = getattr(pattern.callback, "view_class", None)
    assert view_class is not None and issubclass(view_class, PortalView), (
        f"{namespace}:{pattern.name} is not a PortalView"
    )
    assert view_class.portal == namespace
    assert view_class.portal_roles


def test_every_registered_portal_page_is_routed():
    routed = {getattr(p.callback, "view_class", None) for _, p in PATTERNS}
    pages = {view for view in PORTAL_VIEWS if view.template_name}
    assert pages <= routed


@pytest.mark.django_db
@pytest.mark.parametrize(("namespace", "pattern"), PATTERNS, ids=IDS)
def test_anonymous_is_sent_to_sign_in(client, namespace, pattern):
    url = _url(namespace, pattern)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=" in response["Location"]


@pytest.mark.parametrize(("namespace", "pattern"), PATTERNS, ids=IDS)
def test_user_without_any_role_is_refused(nobody_client, namespace, pattern):
    response = nobody_client.get(_url(namespace, pattern))
    assert response.status_code in (403, 404)
    assert b'data-testid="error-page"' in response.content


@pytest.mark.parametrize(("namespace", "pattern"), PATTERNS, ids=IDS)
def test_user_with_other_roles_is_refused(signed_in, namespace, pattern):
    response = signed_in(OUTSIDER_OF[namespace]).get(_url(namespace, pattern))
    assert response.status_code in (403, 404)


@pytest.mark.parametrize(("namespace", "pattern"), PATTERNS, ids=IDS)
def test_post_is_refused_too(nobody_client, client, namespace, pattern):
    url = _url(namespace, pattern)
    assert client.post(url).status_code == 302
    assert nobody_client.post(url).status_code in (403, 404, 405)


def test_superuser_is_provider_staff_only(signed_in):
    admin = signed_in("admin@curaplus.example")
    for namespace in PORTALS:
        expected = 200 if namespace == "control" else 403  # the control room is provider staff's
        assert admin.get(reverse(f"{namespace}:home")).status_code == expected
