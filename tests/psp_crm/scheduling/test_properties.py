"""Property: any sequence of changes leaves no duplicate, at most one open attempt per occurrence,
no open activity outside an active enrolment's horizon, and none at all for a closed one."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psp_crm.models import Activity, Enrolment, OperatorAbsence
from psp_crm.scheduling import engine
from psp_crm.scheduling.engine import day_start, horizon_days, materialize

from .conftest import TODAY

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.integers(1, 40)),
        st.tuples(st.just("roll"), st.just(0)),
        st.tuples(st.just("suspend"), st.just(0)),
        st.tuples(st.just("reactivate"), st.just(0)),
        st.tuples(st.just("withdraw"), st.just(0)),
        st.tuples(st.just("therapy"), st.integers(-10, 30)),
        st.tuples(st.just("miss"), st.integers(0, 60)),
        st.tuples(st.just("cancel"), st.integers(0, 60)),
        st.tuples(st.just("absence"), st.integers(0, 40)),
    ),
    max_size=10,
)


def _open(enrolment) -> list[Activity]:
    return list(
        Activity.objects.filter(enrolment=enrolment, status__in=Activity.OPEN_STATUSES)
        .select_related("step", "enrolment__program", "enrolment__patient")
        .order_by("scheduled_start", "pk")
    )


def _apply(pw, enrolment: Enrolment, op: str, arg: int, today: dt.date) -> dt.date:
    since = day_start(today)
    if op == "advance":
        return today + dt.timedelta(days=arg)
    if op == "roll":
        materialize([enrolment.pk], today=today)
    elif op == "suspend" and enrolment.status == "active":
        enrolment.status = "suspended"
        enrolment.save()
        engine.cancel_future([enrolment.pk], since=since, cause="enrolment", reason="Suspended.")
    elif op == "reactivate" and enrolment.status == "suspended":
        enrolment.status = "active"
        enrolment.save()
        engine.reopen_after_suspension([enrolment.pk], since=since)
        materialize([enrolment.pk], today=today)
    elif op == "withdraw" and enrolment.status in ("active", "suspended"):
        enrolment.status = "withdrawn"
        enrolment.save()
        engine.cancel_future([enrolment.pk], since=since, cause="enrolment", reason="Withdrawn.")
    elif op == "therapy" and enrolment.status == "active":
        enrolment.therapy_start_date = today + dt.timedelta(days=arg)
        enrolment.save()
        engine.change_therapy(enrolment, today=today, reason="Changed.")
    elif op in ("miss", "cancel"):
        candidates = _open(enrolment)
        if candidates:
            activity = candidates[arg % len(candidates)]
            activity.status = "missed" if op == "miss" else "cancelled"
            activity.save()
            engine.reschedule_per_policy(activity, today=today)
    elif op == "absence":
        first = today + dt.timedelta(days=arg)
        OperatorAbsence.objects.create(operator=pw.nurse, starts_on=first, ends_on=first)
        engine.reassign_absent(pw.nurse, first=first, last=first)
    return today


def _check(enrolment: Enrolment, today: dt.date) -> None:
    enrolment.refresh_from_db()
    rows = list(
        Activity.objects.filter(enrolment=enrolment).values_list(
            "step", "cycle", "occurrence", "attempt", "status", "scheduled_start"
        )
    )
    keys = Counter(r[:4] for r in rows)
    assert all(n == 1 for n in keys.values()), "a step occurrence was written twice"
    open_rows = [r for r in rows if r[4] in Activity.OPEN_STATUSES]
    per_occurrence = Counter(r[:3] for r in open_rows)
    assert all(n == 1 for n in per_occurrence.values()), "two open attempts of one occurrence"
    horizon_end = day_start(today + dt.timedelta(days=horizon_days() + 1))
    if enrolment.status == "active":
        assert all(r[5] < horizon_end for r in open_rows), "open activity beyond the horizon"
    else:
        assert all(r[5] < day_start(today) for r in open_rows), "open future work, not active"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=OPERATIONS)
def test_any_sequence_of_changes_keeps_the_invariants(pw, operations):
    enrolment = pw.enrol()
    today = TODAY
    materialize([enrolment.pk], today=today)
    _check(enrolment, today)
    for op, arg in operations:
        today = _apply(pw, enrolment, op, arg, today)
        _check(enrolment, today)
    # Running the engine again changes nothing that exists.
    before = Activity.objects.filter(enrolment=enrolment).count()
    materialize([enrolment.pk], today=today)
    materialize([enrolment.pk], today=today)
    if enrolment.status != "active":
        assert Activity.objects.filter(enrolment=enrolment).count() == before
    _check(enrolment, today)
