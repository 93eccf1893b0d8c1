"""Landing pages, the base layout, error pages and the allauth pages in the site's layout."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse

from portals.common import views as common_views

PASSWORD = "demo-psp-2026"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # allauth counts failed logins in the cache; keep each test independent.
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_root_sends_anonymous_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_login")


def test_root_sends_signed_in_user_to_portal_home(signed_in):
    response = signed_in("dr.rossi@sanluca.example").get("/")
    assert response["Location"] == reverse("portal_home")


@pytest.mark.parametrize(
    ("email", "target"),
    [
        ("dr.rossi@sanluca.example", "/doctor/"),
        ("medical@northwind.example", "/client/"),
        ("anna.conti@example.com", "/patient/"),
        ("luca.conti@example.com", "/patient/"),
        ("nurse.verdi@curaplus.example", "/operator/"),
        ("driver.gallo@swiftmed.example", "/operator/"),
    ],
)
def test_one_portal_lands_in_it(signed_in, email, target):
    response = signed_in(email).get("/portal/")
    assert response.status_code == 302
    assert response["Location"] == target


@pytest.mark.parametrize("email", ["ops@curaplus.example", "admin@curaplus.example"])
def test_provider_staff_choose_and_see_the_admin_site(signed_in, email):
    response = signed_in(email).get("/portal/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Choose a portal</h1>" in html
    assert 'href="/admin/"' in html


def test_account_without_role_is_told_so(nobody_client):
    response = nobody_client.get("/portal/")
    assert response.status_code == 200
    assert 'data-testid="no-portal"' in response.content.decode()


def test_base_layout_landmarks_and_signed_in_user(signed_in):
    html = signed_in("dr.rossi@sanluca.example").get("/doctor/").content.decode()
    assert 'href="#main"' in html  # skip link
    for landmark in ("<header", "<nav", '<main id="main"', "<footer"):
        assert landmark in html
    assert 'data-testid="signed-in-user"' in html
    assert f'action="{reverse("account_logout")}"' in html
    assert 'aria-current="page"' in html  # the current portal is marked in the navigation
    assert "/static/bootstrap/css/bootstrap.min.css" in html
    assert "/static/bootstrap/js/bootstrap.bundle.min.js" in html
    assert "Times are shown in Europe/Rome" in html


def test_no_external_assets(signed_in):
    html = signed_in("dr.rossi@sanluca.example").get("/doctor/").content.decode()
    assert "http://" not in html and "https://" not in html and "//cdn" not in html


def test_unknown_url_gives_the_designed_404(signed_in):
    response = signed_in("dr.rossi@sanluca.example").get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'data-testid="error-page"' in html
    assert "Page not found" in html
    assert "Go to my portal" in html


@pytest.mark.django_db
def test_anonymous_404_offers_sign_in(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Sign in" in response.content.decode()


def test_403_page_says_why(nobody_client):
    response = nobody_client.get("/doctor/")
    assert response.status_code == 403
    assert "Your account has no access to this portal." in response.content.decode()


@pytest.mark.django_db
def test_400_and_500_pages_are_designed():
    request = RequestFactory().get("/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    bad = common_views.bad_request(request, Exception("boom"))
    assert bad.status_code == 400
    assert "Bad request" in bad.content.decode()
    err = common_views.server_error(request)
    assert err.status_code == 500
    assert "Something went wrong" in err.content.decode()
    assert "boom" not in err.content.decode()


# --- allauth pages ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_uses_the_layout_and_allauth_field_names(client):
    html = client.get(reverse("account_login")).content.decode()
    assert 'name="login"' in html and 'name="password"' in html
    assert '<label class="form-label" for="id_login"' in html
    assert 'href="#main"' in html and "<footer" in html
    assert "Forgot your password?" in html


def test_login_with_the_demo_password_lands_in_the_portal(client, demo_world):
    response = client.post(
        reverse("account_login"), {"login": "dr.rossi@sanluca.example", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal_home")


def test_wrong_password_is_shown(client, demo_world):
    response = client.post(
        reverse("account_login"), {"login": "dr.rossi@sanluca.example", "password": "nope"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="form-errors"' in html
    assert "password you specified are not correct" in html


def test_inactive_account_is_told_so(client, demo_user):
    user = demo_user("marco.ferri@example.com")
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client.post(
        reverse("account_login"),
        {"login": "marco.ferri@example.com", "password": PASSWORD},
        follow=True,
    )
    assert "This account is inactive" in response.content.decode()


def test_too_many_failed_logins_are_shown(client, demo_world):
    data = {"login": "anna.conti@example.com", "password": "wrong"}
    for _ in range(6):
        response = client.post(reverse("account_login"), data)
    assert "Too many failed login attempts" in response.content.decode()


def test_password_reset_sends_an_email(client, demo_world):
    page = client.get(reverse("account_reset_password"))
    assert page.status_code == 200 and 'href="#main"' in page.content.decode()
    response = client.post(reverse("account_reset_password"), {"email": "anna.conti@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    done = client.get(response["Location"])
    assert "Check your e-mail" in done.content.decode()


def test_logout_is_a_post_to_allauth(signed_in):
    client = signed_in("anna.conti@example.com")
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert client.get("/patient/").status_code == 302


def test_mfa_page_uses_the_layout(signed_in):
    response = signed_in("anna.conti@example.com").get(reverse("mfa_index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="#main"' in html and "Two-Factor Authentication" in html


def test_no_portal_module_reads_models_directly():
    from pathlib import Path

    import portals

    root = Path(portals.__file__).parent
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if ".objects" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
