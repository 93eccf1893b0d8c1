"""Client portal URLs (``/client/``)."""

from django.urls import path

from . import views

app_name = "client"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("programs/<slug:code>/", views.ProgramDetailView.as_view(), name="program"),
    path("programs/<slug:code>/report/", views.ProgramReportView.as_view(), name="report"),
    path("programs/<slug:code>/export.csv", views.ProgramCsvView.as_view(), name="export"),
]
