"""URL map: the admin site, sign-in, and one prefix per portal."""

from django.contrib import admin
from django.urls import include, path

from psp_crm.health import healthz
from psp_crm.webhooks import sms_inbound, sms_status

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("hooks/sms/inbound/", sms_inbound, name="sms_inbound_webhook"),
    path("hooks/sms/status/", sms_status, name="sms_status_webhook"),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("psp_crm.api.urls")),
    path("api/v1/client/", include("psp_crm.api_client.urls")),
    path("", include("portals.common.urls")),
    path("client/", include("portals.client.urls")),
    path("doctor/", include("portals.doctor.urls")),
    path("patient/", include("portals.patient.urls")),
    path("operator/", include("portals.operator.urls")),
    path("control/", include("portals.control.urls")),
]

handler400 = "portals.common.views.bad_request"
handler403 = "portals.common.views.permission_denied"
handler404 = "portals.common.views.page_not_found"
handler500 = "portals.common.views.server_error"
