"""Doctor portal URLs (``/doctor/``)."""

from django.urls import path

from . import views

app_name = "doctor"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("patients/<int:enrolment_id>/", views.PatientView.as_view(), name="patient"),
]
