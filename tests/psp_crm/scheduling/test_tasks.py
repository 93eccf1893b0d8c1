"""Background tasks through django.tasks (the immediate backend in tests, as in `make run`)."""

from __future__ import annotations

from django.tasks import TaskResultStatus

from psp_crm.models import Activity
from psp_crm.tasks import materialize_enrolments, roll_horizon

from .conftest import TODAY


def test_materialize_task(pw):
    enrolment = pw.enrol()
    result = materialize_enrolments.enqueue([enrolment.pk], TODAY.isoformat())
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == Activity.objects.filter(enrolment=enrolment).count() > 0


def test_roll_horizon_task_is_idempotent(pw):
    enrolment = pw.enrol()
    roll_horizon.enqueue(TODAY.isoformat())
    count = Activity.objects.filter(enrolment=enrolment).count()
    assert count > 0
    assert roll_horizon.enqueue(TODAY.isoformat()).status == TaskResultStatus.SUCCESSFUL
    assert Activity.objects.filter(enrolment=enrolment).count() == count
