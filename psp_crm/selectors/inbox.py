"""The in-app inbox: a patient's notifications (in-app ``Message`` rows), and those of the
patients a caregiver acts for.

An in-app message addressed to a login *is* that person's notification. A caregiver reads the
notifications of the patients she holds an active delegation for — not those addressed to
someone else about the same patient.
"""

from __future__ import annotations

from django.core.paginator import Page
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
from ..errors import NotFound
from ..models import Channel, Delegation, Message, Patient, User
from .pagination import DEFAULT_PER_PAGE, page_of

# Sends that never reached the inbox.
NOT_DELIVERED = (Message.Status.SKIPPED, Message.Status.FAILED)


def _scope(user: User) -> Q:
    """In-app messages addressed to ``user``, or to a patient she acts for under a delegation."""
    delegated = Delegation.objects.active().filter(caregiver__user=user).values("patient")
    own = Q(recipient=user) | Q(recipient__isnull=True, patient__user=user)
    for_patient = Q(patient__in=delegated) & (
        Q(recipient__isnull=True) | Q(recipient=F("patient__user"))
    )
    return own | for_patient


def inbox_messages(user: User, *, patient: Patient | None = None) -> QuerySet[Message]:
    """The in-app messages ``user`` may read (of one ``patient`` when given), newest first.

    A patient the user may not act for gives the same 404 as one that does not exist.
    """
    if not user.is_authenticated or not user.is_active:
        return Message.objects.none()
    messages = Message.objects.filter(
        _scope(user),
        channel=Channel.IN_APP,
        due_at__lte=timezone.now(),  # a notification planned for later is not in the inbox yet
    ).exclude(status__in=NOT_DELIVERED)
    if patient is not None:
        if not access.can_act_for_patient(user, patient):
            raise NotFound(_("No such patient."))
        about = Q(patient=patient)
        if patient.user_id is not None:
            about |= Q(patient__isnull=True, recipient_id=patient.user_id)
        messages = messages.filter(about)
    return messages.select_related("patient", "enrolment__program", "activity__module").order_by(
        "-created_at", "-pk"
    )


def messages_for(
    user: User,
    *,
    patient: Patient | None = None,
    page: object = 1,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page:
    """One page of the user's in-app messages (or of one patient's she acts for), newest first."""
    return page_of(inbox_messages(user, patient=patient), page=page, per_page=per_page)


def unread_count(user: User, *, patient: Patient | None = None) -> int:
    """How many of those messages nobody has marked read yet."""
    return inbox_messages(user, patient=patient).filter(read_at__isnull=True).count()


def message_for(user: User, *, message_id: int, patient: Patient | None = None) -> Message:
    """One in-app message the user may read; anything else is the same 404."""
    found = inbox_messages(user, patient=patient).filter(pk=message_id).first()
    if found is None:
        raise NotFound(_("No such message."))
    return found
