"""Doctor's private notes: written and read only by the doctor who keeps them."""

from __future__ import annotations

from django.db import transaction

from .. import access
from ..errors import AccessDenied, DomainError
from ..models import DoctorNote, Enrolment, User
from .audit import audit_write

NOTE_MAX = 5000


@transaction.atomic
def note_add(*, actor: User, enrolment: Enrolment, body: str) -> DoctorNote:
    """Add a private note on a followed enrolment (no live event: nobody else may see it)."""
    if not access.has_role(actor, "doctor") or not (
        access.enrolments_for(actor, role="doctor").filter(pk=enrolment.pk).exists()
    ):
        raise AccessDenied("Only a doctor who follows this patient may keep notes on her.")
    body = (body or "").strip()
    if not body:
        raise DomainError({"body": "Write the note."})
    if len(body) > NOTE_MAX:
        raise DomainError({"body": f"Keep the note under {NOTE_MAX} characters."})
    note = DoctorNote.objects.create(enrolment=enrolment, author=actor, body=body)
    audit_write(actor=actor, action="create", verb="note.add", obj=note, patient=enrolment.patient)
    return note


@transaction.atomic
def note_delete(*, actor: User, note: DoctorNote) -> None:
    """Delete one's own private note."""
    if note.author_id != actor.pk:
        raise AccessDenied("Only the author may delete a private note.")
    audit_write(
        actor=actor, action="delete", verb="note.delete", obj=note, patient=note.enrolment.patient
    )
    note.delete()
