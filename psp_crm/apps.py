from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PspCrmConfig(AppConfig):
    """The shared CRM domain."""

    name = "psp_crm"
    verbose_name = "PSP CRM"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import access

        # Role groups are part of the schema's meaning: keep them in step after every migrate.
        post_migrate.connect(access.ensure_role_groups_after_migrate, sender=self)
