"""Client API URLs, mounted at ``/api/v1/client/``."""

from django.urls import path

from . import views

app_name = "api_client"
urlpatterns = [
    path("programs/", views.programs, name="programs"),
    path("programs/<slug:code>/kpis/", views.program_kpis, name="program-kpis"),
]
