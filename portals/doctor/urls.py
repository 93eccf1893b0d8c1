"""Doctor portal URLs (``/doctor/``)."""

from django.urls import path

from . import views

app_name = "doctor"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("refer/", views.ReferView.as_view(), name="refer"),
    path("patients/<int:enrolment_id>/", views.PatientView.as_view(), name="patient"),
    path("patients/<int:enrolment_id>/timeline/", views.TimelineView.as_view(), name="timeline"),
    path("patients/<int:enrolment_id>/notes/", views.NotesView.as_view(), name="notes"),
    path(
        "patients/<int:enrolment_id>/adverse-events/new/",
        views.AdverseEventView.as_view(),
        name="adverse_event",
    ),
    path(
        "patients/<int:enrolment_id>/reports/<int:pk>/", views.ReportView.as_view(), name="report"
    ),
    path("attachments/<int:pk>/", views.AttachmentView.as_view(), name="attachment"),
]
