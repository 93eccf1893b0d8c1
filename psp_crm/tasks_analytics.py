"""Background work of the analytics: nightly adherence recompute, incremental refresh, risk models.

Written against ``django.tasks`` like ``psp_crm.tasks``; the periodic ones carry a ``crontask``
schedule. Services that record doses or deliveries queue ``refresh_enrolment_adherence`` after
commit so a patient's snapshot is current without waiting for the night.
"""

from __future__ import annotations

import datetime as dt
import logging

from crontask import cron
from django.db import transaction
from django.tasks import task

logger = logging.getLogger(__name__)


def _day(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def refresh_adherence_on_commit(enrolment_ids: list[int]) -> None:
    """Queue ``refresh_enrolment_adherence`` once the current transaction commits.

    For the services that record doses, deliveries or status changes (never queue inside an open
    transaction: the worker could read the database before the write is visible).
    """
    ids = sorted(set(enrolment_ids))
    if ids:
        transaction.on_commit(lambda: refresh_enrolment_adherence.enqueue(ids))


@task()
def refresh_enrolment_adherence(enrolment_ids: list[int], today: str | None = None) -> int:
    """Recompute this month's and last month's snapshots of a few enrolments after a write."""
    from .analytics.snapshots import refresh_adherence_snapshots

    return refresh_adherence_snapshots(enrolment_ids=enrolment_ids, months=2, today=_day(today))


@cron("45 2 * * *")
@task()
def recompute_adherence_nightly(today: str | None = None, months: int = 2) -> int:
    """Nightly: every started enrolment's snapshots for the last months (late records included)."""
    from .analytics.snapshots import refresh_adherence_snapshots

    written = refresh_adherence_snapshots(months=months, today=_day(today))
    logger.info("adherence snapshots recomputed: %d rows", written)
    return written


@cron("30 3 * * Sun")
@task()
def retrain_risk_models(today: str | None = None) -> list[int]:
    """Weekly: a new risk-model version per active program; mapped programs get segments."""
    from .analytics.risk import apply_risk_segments, train_risk_model
    from .models import Program

    versions = []
    for program in Program.objects.filter(status=Program.Status.ACTIVE):
        version = train_risk_model(program=program, today=_day(today))
        if version is None:
            continue
        changed = apply_risk_segments(version)
        logger.info(
            "%s: risk model v%d, %d profiles changed", program.code, version.version, changed
        )
        versions.append(version.pk)
    return versions
