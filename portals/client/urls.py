"""Client portal URLs (``/client/``)."""

from django.urls import path

from . import views

app_name = "client"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("programs/<slug:code>/", views.ProgramDetailView.as_view(), name="program"),
]
