"""Patient portal URLs (``/patient/``), for patients and their caregivers.

Pages about one patient exist for the patient herself and, under ``p/<code>/``, for a caregiver.
"""

from django.urls import path

from . import views

app_name = "patient"

_PATIENT_PAGES = [
    ("diary/", views.DiaryView, "diary"),
    ("diary/new/<str:kind>/", views.DiaryEntryCreateView, "diary_new"),
    ("diary/<int:entry_id>/", views.DiaryEntryView, "diary_entry"),
    ("reports/", views.ReportsView, "reports"),
    ("reports/<int:report_id>/", views.ReportView, "report"),
    ("progress/", views.ProgressView, "progress"),
    ("messages/", views.MessagesView, "messages"),
    ("preferences/", views.PreferencesView, "preferences"),
    ("appointments/<int:activity_id>/", views.AppointmentView, "appointment"),
]

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("p/<str:code>/", views.DelegatedPatientView.as_view(), name="delegated_patient"),
    path("delegations/", views.DelegationsView.as_view(), name="delegations"),
    path("attachments/<int:pk>/", views.AttachmentView.as_view(), name="attachment"),
    *(path(route, view.as_view(), name=name) for route, view, name in _PATIENT_PAGES),
    *(
        path(f"p/<str:code>/{route}", view.as_view(), name=f"p_{name}")
        for route, view, name in _PATIENT_PAGES
    ),
]
