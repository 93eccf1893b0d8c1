"""The audit trail: who read or changed which patient record, when, from where."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .people import Patient, User


class AuditEvent(models.Model):
    """An append-only record of a read or a write on the platform."""

    class Action(models.TextChoices):
        READ = "read", _("Read")
        CREATE = "create", _("Create")
        UPDATE = "update", _("Update")
        DELETE = "delete", _("Delete")
        GRANT = "grant", _("Grant")
        REVOKE = "revoke", _("Revoke")

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    verb = models.CharField(max_length=60, help_text=_("e.g. enrolment.transition"))
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40)
    patient = models.ForeignKey(
        Patient, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    portal = models.CharField(max_length=20, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["patient", "-at"]),
            models.Index(fields=["actor", "-at"]),
            models.Index(fields=["object_type", "object_id"]),
        ]

    def __str__(self) -> str:
        target = f"{self.object_type}#{self.object_id}"
        return f"{self.at:%Y-%m-%d %H:%M:%S} user {self.actor_id} {self.verb} {target}"
