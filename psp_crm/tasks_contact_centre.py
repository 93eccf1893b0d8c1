"""Background work of the contact centre: escalate the cases that run past their SLA deadline.

Written against ``django.tasks`` like ``psp_crm.tasks`` (which imports this module so that
crontask discovers the schedule).
"""

from __future__ import annotations

import datetime as dt
import logging

from crontask import cron
from django.tasks import task

logger = logging.getLogger(__name__)


@cron("*/10 * * * *")
@task()
def escalate_overdue_cases(now: str | None = None) -> int:
    """Every ten minutes: raise the open cases past their deadline (idempotent)."""
    from .services.interactions import case_escalate_overdue

    moved = case_escalate_overdue(now=dt.datetime.fromisoformat(now) if now else None)
    if moved:
        logger.info("cases escalated: %d", moved)
    return moved
