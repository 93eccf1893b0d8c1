"""Smart devices (e.g. connected blister packs) and the events they send."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .enrolments import Enrolment


class Device(models.Model):
    """A connected device given to an enrolled patient."""

    class Kind(models.TextChoices):
        BLISTER = "blister", _("Smart blister pack")
        INJECTOR = "injector", _("Connected auto-injector")
        BP_MONITOR = "bp_monitor", _("Blood-pressure monitor")
        GLUCOMETER = "glucometer", _("Glucometer")

    serial = models.CharField(_("serial number"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.SET_NULL, null=True, blank=True, related_name="devices"
    )
    is_active = models.BooleanField(default=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.serial}"


class DeviceEvent(models.Model):
    """One event a device reported; idempotent by (device, sequence number)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField(_("sequence number"))
    kind = models.CharField(_("kind"), max_length=30)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(fields=["device", "seq"], name="device_event_unique_seq")
        ]
        indexes = [models.Index(fields=["device", "-occurred_at"])]

    def __str__(self) -> str:
        return f"{self.device.serial}#{self.seq} {self.kind}"
