"""Background work of the scheduling engine, written against Django's ``django.tasks`` API.

The embedded default (``make run``, tests) runs tasks in-process with the immediate backend;
production points ``TASKS`` at ``django_tasks_db.DatabaseBackend`` and runs ``manage.py
db_worker`` (one or several) plus ``manage.py crontask`` for the periodic ones.
"""

from __future__ import annotations

import datetime as dt
import logging

from crontask import cron
from django.tasks import task
from django.utils import timezone

logger = logging.getLogger(__name__)


def _day(value: str | None) -> dt.date:
    return dt.date.fromisoformat(value) if value else timezone.localdate()


@task()
def materialize_enrolments(enrolment_ids: list[int], today: str | None = None) -> int:
    """Materialize the pathways of these enrolments up to the rolling horizon."""
    from .scheduling.engine import materialize

    created = materialize(enrolment_ids, today=_day(today))
    logger.debug("materialized %d activities for %d enrolments", created, len(enrolment_ids))
    return created


@cron("15 2 * * *")
@task()
def roll_horizon(today: str | None = None) -> int:
    """Nightly: move every active enrolment's horizon one day forward (idempotent)."""
    from .scheduling.engine import materialize

    created = materialize(None, today=_day(today))
    logger.info("horizon rolled: %d new activities", created)
    return created


@cron("0 6 1,15 * *")
@task()
def generate_adherence_reports(period_end: str | None = None) -> int:
    """Twice a month: the periodic adherence report of every active enrolment for its doctors."""
    from .services.reports import report_adherence_generate_all

    written = report_adherence_generate_all(period_end=_day(period_end))
    logger.info("adherence reports written: %d", written)
    return written


# crontask discovers periodic tasks by importing this module: bring the others in too.
from . import tasks_analytics, tasks_contact_centre, tasks_messaging  # noqa: E402, F401
