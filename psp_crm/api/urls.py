"""``/api/v1/``: the apps' resources, token sign-in, the OpenAPI schema and its local docs.

Only Swagger UI is served: Redoc's page links Google Fonts, and nothing may load from the internet.
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import contact, views

app_name = "api"

router = DefaultRouter()
router.register("enrolments", views.EnrolmentViewSet, basename="enrolment")
router.register("diary-entries", views.DiaryEntryViewSet, basename="diary-entry")
router.register("activities", views.ActivityViewSet, basename="activity")
router.register("reports", views.ReportViewSet, basename="report")
router.register("messages", contact.MessageViewSet, basename="message")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="token"),
    path("auth/token/revoke/", views.TokenDeleteView.as_view(), name="token-revoke"),
    path("me/", views.MeView.as_view(), name="me"),
    path(
        "contact-preferences/",
        contact.ContactPreferencesView.as_view(),
        name="contact-preferences",
    ),
    path(
        "contact-preferences/consents/",
        contact.ChannelConsentView.as_view(),
        name="contact-preferences-consents",
    ),
    path(
        "contact-preferences/copies/",
        contact.CaregiverCopiesView.as_view(),
        name="contact-preferences-copies",
    ),
    path(
        "contact-preferences/channels/",
        contact.ChannelPreferenceView.as_view(),
        name="contact-preferences-channels",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
]
