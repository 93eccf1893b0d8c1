"""Operator portal URLs (``/operator/``)."""

from django.urls import path

from . import views

app_name = "operator"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("activities/<int:activity_id>/", views.ActivityView.as_view(), name="activity"),
    path("activities/<int:activity_id>/complete/", views.CompleteView.as_view(), name="complete"),
    path(
        "activities/<int:activity_id>/reschedule/",
        views.RescheduleView.as_view(),
        name="reschedule",
    ),
    path("calls/", views.CallsView.as_view(), name="calls"),
    path("calls/outbound/", views.OutboundCallsView.as_view(), name="outbound_calls"),
    path("cases/<int:case_id>/status/", views.CaseStatusView.as_view(), name="case_status"),
    path("cases/<int:case_id>/assign/", views.CaseAssignView.as_view(), name="case_assign"),
    path(
        "activities/<int:activity_id>/adverse-event/",
        views.ActivityAdverseEventView.as_view(),
        name="activity_adverse_event",
    ),
    path("patients/<str:code>/timeline/", views.TimelineView.as_view(), name="timeline"),
    path(
        "patients/<str:code>/consents/withdraw/",
        views.ConsentWithdrawView.as_view(),
        name="consent_withdraw",
    ),
    path(
        "patients/<str:code>/appointments/<int:activity_id>/answer/",
        views.AppointmentAnswerOnCallView.as_view(),
        name="appointment_answer",
    ),
    path(
        "patients/<str:code>/contact-settings/",
        views.ContactSettingsOnCallView.as_view(),
        name="contact_settings",
    ),
    path("activities/<int:activity_id>/cancel/", views.CancelView.as_view(), name="cancel"),
    path("activities/<int:activity_id>/no-show/", views.NoShowView.as_view(), name="no_show"),
]
