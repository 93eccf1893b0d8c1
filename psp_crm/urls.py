"""URL map: the admin site, sign-in, and one prefix per portal."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("portals.common.urls")),
    path("client/", include("portals.client.urls")),
    path("doctor/", include("portals.doctor.urls")),
    path("patient/", include("portals.patient.urls")),
    path("operator/", include("portals.operator.urls")),
]

handler400 = "portals.common.views.bad_request"
handler403 = "portals.common.views.permission_denied"
handler404 = "portals.common.views.page_not_found"
handler500 = "portals.common.views.server_error"
