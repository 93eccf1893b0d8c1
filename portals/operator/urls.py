"""Operator portal URLs (``/operator/``)."""

from django.urls import path

from . import views

app_name = "operator"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("activities/<int:activity_id>/", views.ActivityView.as_view(), name="activity"),
]
