"""Patient portal URLs (``/patient/``), for patients and their caregivers."""

from django.urls import path

from . import views

app_name = "patient"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("p/<str:code>/", views.DelegatedPatientView.as_view(), name="delegated_patient"),
]
