"""Control room URLs (``/control/``)."""

from django.urls import path

from . import views

app_name = "control"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("activities/<int:activity_id>/assign/", views.AssignView.as_view(), name="assign"),
]
