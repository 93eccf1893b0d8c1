"""What the engine does when an enrolment changes status (called by ``enrolment_transition``)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from ..events import enrolment_group, operator_group, program_control_group, send_event_on_commit
from ..models import Activity, Enrolment
from . import engine

CLOSING = {"suspended", "withdrawn", "completed"}


def emit_replanned(touched: engine.Touched, *, verb: str = "activities.replanned") -> None:
    """One live event per re-planning: ids only, to the operators, enrolments and control rooms."""
    if not touched.activity_ids and not touched.enrolment_ids:
        return
    groups = [operator_group(pk) for pk in touched.operator_ids]
    groups += [enrolment_group(pk) for pk in touched.enrolment_ids]
    groups += [program_control_group(pk) for pk in touched.program_ids]
    send_event_on_commit(verb, groups=groups, count=len(touched.activity_ids))


def after_transition(
    *, enrolment: Enrolment, previous: str, to_status: str, reason: str, today: dt.date
) -> engine.Touched | None:
    """Cancel future work when an enrolment closes; plan it when it becomes active again.

    Materialization is queued after commit as a task: the immediate backend runs it at once, a
    worker runs it in production, and a surrounding bulk write (the demo seed) lands first.
    """
    if to_status in CLOSING:
        touched = engine.cancel_future(
            [enrolment.pk],
            since=timezone.now(),
            cause=Activity.CancelCause.ENROLMENT,
            reason=f"Enrolment {to_status}: {reason}" if reason else f"Enrolment {to_status}.",
        )
        emit_replanned(touched)
        return touched
    if to_status == "active":
        touched = None
        if previous == "suspended":
            touched = engine.reopen_after_suspension([enrolment.pk], since=timezone.now())
            emit_replanned(touched)
        pk, day = enrolment.pk, today.isoformat()

        def enqueue() -> None:
            from ..tasks import materialize_enrolments

            materialize_enrolments.enqueue([pk], day)

        # The service's own "enrolment.active" event already tells the pages to refresh.
        transaction.on_commit(enqueue)
        return touched
    return None
