"""Background work of messages and reminders: deliver one message, deliver what is due, and the
periodic dose reminders and appointment confirmations.

Written against ``django.tasks`` like ``psp_crm.tasks`` (which imports this module so that
``manage.py crontask`` discovers the periodic ones). Services queue ``deliver_message`` after
commit; ``deliver_due`` picks up deferred, retried and any message whose enqueue was lost.
"""

from __future__ import annotations

import datetime as dt
import logging

from crontask import cron
from django.tasks import task

logger = logging.getLogger(__name__)


def _at(value: str | None) -> dt.datetime | None:
    """An ISO timestamp (task arguments are JSON) as an aware datetime, or None for now."""
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{value} has no time zone")
    return moment


@task()
def deliver_message(message_id: int) -> str:
    """Try to deliver one message now (if it is still pending and due); its new status."""
    from .models import Message
    from .services.messaging import message_deliver

    try:
        return message_deliver(message_id).status
    except Message.DoesNotExist:
        logger.warning("message %s no longer exists: nothing to deliver", message_id)
        return "missing"


@cron("*/5 * * * *")
@task()
def send_dose_reminders(now: str | None = None) -> int:
    """Every five minutes: queue today's dose reminders whose time has come, then deliver."""
    from .services.messaging import deliver_due_messages
    from .services.reminders import dose_reminders_queue

    moment = _at(now)
    queued = dose_reminders_queue(now=moment)
    logger.info("dose reminders: %d queued", queued)
    deliver_due_messages(now=moment)
    return queued


@cron("*/15 * * * *")
@task()
def send_activity_confirmations(now: str | None = None) -> int:
    """Every quarter of an hour: confirm to patients the visits and deliveries of the next day."""
    from .services.messaging import deliver_due_messages
    from .services.reminders import activity_confirmations_queue

    moment = _at(now)
    queued = activity_confirmations_queue(now=moment)
    if queued:
        logger.info("appointment confirmations: %d queued", queued)
    deliver_due_messages(now=moment)
    return queued


@cron("* * * * *")
@task()
def deliver_due(now: str | None = None) -> int:
    """Every minute: deliver every pending message whose time has come (retries, quiet hours)."""
    from .services.messaging import deliver_due_messages

    done = deliver_due_messages(now=_at(now))
    if done:
        logger.info("messages delivered or retried: %d", done)
    return done
