"""The admin site for PSP-provider staff: every model of the domain, scoped by the access policy.

Superusers see everything; other staff see their provider's programs and the patients enrolled in
them (see ``base.ScopedMixin``). Writes that carry rules (creating a program, registering or
referring a patient, status changes, consents, delegations) call the services.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import analytics, care, catalog, messaging, people  # noqa: F401  (registers the model admins)

admin.site.site_header = _("PSP CRM — provider administration")
admin.site.site_title = _("PSP CRM admin")
admin.site.index_title = _("Programs, patients and operations")
