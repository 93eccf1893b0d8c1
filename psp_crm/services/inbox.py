"""Inbox writes: marking an in-app notification read (the recipient or a delegated caregiver)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..events import enrolment_group, send_event_on_commit
from ..models import Enrolment, Message, User
from ..selectors.inbox import message_for
from .audit import audit_write


def _groups(message: Message) -> list[str]:
    if message.enrolment_id is not None:
        return [enrolment_group(message.enrolment_id)]
    if message.patient_id is None:
        return []
    ids = Enrolment.objects.filter(patient_id=message.patient_id).values_list("pk", flat=True)
    return [enrolment_group(pk) for pk in ids]


@transaction.atomic
def message_mark_read(*, actor: User, message: Message) -> Message:
    """Mark an in-app message read; someone who may not read it gets the same 404 as no message."""
    # Through the inbox's scope: a message the actor may not read does not exist for her.
    message = message_for(actor, message_id=message.pk)
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.read_at is not None:
        return message  # already read: the first reading stands
    message.read_at = timezone.now()
    message.save(update_fields=["read_at"])
    audit_write(
        actor=actor,
        action="update",
        verb="message.read",
        obj=message,
        patient=message.patient,
    )
    send_event_on_commit(
        "message.read",
        groups=_groups(message),
        enrolment=message.enrolment_id,
        message=message.pk,
    )
    return message
