"""The landing pages: ``/`` and the portal chooser ``/portal/`` (``LOGIN_REDIRECT_URL``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("portal/", views.portal_home, name="portal_home"),
]
