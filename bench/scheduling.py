"""Benchmark: materialize 90 days of care pathways for N active enrolments.

    DATABASE_URL=postgres://…/throwaway python bench/scheduling.py --n 10000

The database is migrated and WIPED (patients, enrolments, activities). It seeds one program with
the MS-ADHERE pathway of the demo (four-weekly home infusion with a delivery two days before and a
waste pickup the day after, a monthly adherence call), an operator network (nurses, drivers,
counsellors over ten territories) and N active enrolments with start dates spread over the last
eight weeks, then times the engine's first materialization, an idempotent second run, and, as the
machine's limit beside it, a plain ``bulk_create`` of as many bare activities.
Last line: ``RESULT scheduling <activities per second> activities/s``.

It needs the scheduling engine's columns (``Activity.cycle``, ``attempt``…): run it once the
migrations of the scheduling models exist.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psp_crm.settings")

TERRITORIES = ("Milano", "Monza", "Bergamo", "Torino", "Genova", "Verona", "Padova", "Bologna",
               "Roma", "Napoli")  # fmt: skip
BATCH = 5000


def _wipe() -> None:
    from django.db import connection

    from psp_crm.models import Activity, Enrolment, EnrolmentSchedule, Operator, Patient

    tables = [m._meta.db_table for m in (Activity, EnrolmentSchedule, Enrolment, Patient, Operator)]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


def seed(n: int, today: dt.date) -> list[int]:
    from django.contrib.auth.models import Permission

    from psp_crm import access
    from psp_crm.demo.catalog import PROGRAMS, create_pathway, ensure_catalog
    from psp_crm.models import (
        CarePathwayStep,
        Enrolment,
        Operator,
        Organization,
        Patient,
        Program,
        ProgramUserObjectPermission,
        User,
    )

    _wipe()
    sponsor, _ = Organization.objects.get_or_create(
        name="Bench Pharma", defaults={"kind": Organization.Kind.PHARMA}
    )
    provider, _ = Organization.objects.get_or_create(
        name="Bench Provider", defaults={"kind": Organization.Kind.PROVIDER}
    )
    partner, _ = Organization.objects.get_or_create(
        name="Bench Logistics", defaults={"kind": Organization.Kind.LOGISTICS}
    )
    # Anchored steps protect their anchors: delete them first.
    CarePathwayStep.objects.filter(program__code="BENCH-SCHED", anchor="step").delete()
    Program.objects.filter(code="BENCH-SCHED").delete()
    program = Program.objects.create(
        code="BENCH-SCHED",
        name="Bench scheduling",
        pathology="multiple sclerosis",
        sponsor=sponsor,
        provider=provider,
        status=Program.Status.ACTIVE,
    )
    spec = next(p for p in PROGRAMS if p.code == "MS-ADHERE")
    create_pathway(steps=spec.steps, modules=ensure_catalog(), partner=partner, program=program)

    # The operator network: ~1 nurse per 25 patients, 1 driver per 60, 1 counsellor per 200.
    User.objects.filter(email__endswith="@bench.example").delete()
    people = []
    for role, per, org in (
        ("nurse", 25, provider),
        ("logistics", 60, partner),
        ("counsellor", 200, provider),
    ):
        for i in range(max(2, n // per)):
            people.append((role, org, TERRITORIES[i % len(TERRITORIES)], f"{role}{i}"))
    users = User.objects.bulk_create(
        [User(email=f"{name}@bench.example", password="!") for _, _, _, name in people],
        batch_size=BATCH,
    )
    Operator.objects.bulk_create(
        [
            Operator(
                user=user,
                role=role,
                organization=org,
                territories=[territory] if role == "nurse" else [],
                weekly_capacity_hours=40,
            )
            for user, (role, org, territory, _) in zip(users, people, strict=True)
        ],
        batch_size=BATCH,
    )
    staff = Permission.objects.get(content_type__app_label="psp_crm", codename="staff_program")
    ProgramUserObjectPermission.objects.bulk_create(
        [
            ProgramUserObjectPermission(user=u, permission=staff, content_object=program)
            for u in users
        ],
        batch_size=BATCH,
    )
    access.ensure_role_groups()

    patients = Patient.objects.bulk_create(
        [
            Patient(
                first_name="Bench",
                last_name=f"Patient {i}",
                territory=TERRITORIES[i % len(TERRITORIES)],
                code=f"PT-B{i:07d}",
            )
            for i in range(n)
        ],
        batch_size=BATCH,
    )
    enrolments = Enrolment.objects.bulk_create(
        [
            Enrolment(
                patient=patient,
                program=program,
                status=Enrolment.Status.ACTIVE,
                start_date=today - dt.timedelta(days=i % 56),
                therapy_start_date=today - dt.timedelta(days=i % 56),
                risk_profile="medium",
            )
            for i, patient in enumerate(patients)
        ],
        batch_size=BATCH,
    )
    return [e.pk for e in enrolments]


def limit(rows: int, today: dt.date) -> float:
    """Rows/s of a bare ``bulk_create`` of activities (the write path's ceiling), rolled back."""
    from django.db import transaction

    from psp_crm.models import Activity, Enrolment, ServiceModule

    enrolment_ids = list(Enrolment.objects.values_list("pk", flat=True)[:rows])
    module = ServiceModule.objects.get(code="home-infusion")
    start = dt.datetime.combine(today, dt.time(9), tzinfo=dt.UTC)
    objs = [
        Activity(
            enrolment_id=enrolment_ids[i % len(enrolment_ids)],
            module=module,
            scheduled_start=start,
            scheduled_end=start + dt.timedelta(hours=1),
        )
        for i in range(rows)
    ]
    began = time.perf_counter()
    with transaction.atomic():
        Activity.objects.bulk_create(objs, batch_size=2000)
        elapsed = time.perf_counter() - began
        transaction.set_rollback(True)
    return rows / elapsed


def concurrent_check(ids: list[int], today: dt.date) -> None:
    """Two engines on the same enrolments at once: the constraint keeps one row per occurrence."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from psp_crm.models import Activity
    from psp_crm.scheduling.engine import materialize

    sample = ids[:2000]
    Activity.objects.filter(enrolment_id__in=sample).delete()

    def run(_: int) -> int:
        try:
            return materialize(sample, today=today)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        written = list(pool.map(run, range(2)))
    rows = Activity.objects.filter(enrolment_id__in=sample)
    stored = rows.count()
    distinct = rows.values("enrolment", "step", "cycle", "occurrence", "attempt").distinct().count()
    print(f"two concurrent runs on {len(sample)} enrolments wrote {written}: {stored} rows stored")
    assert stored == distinct, "concurrent runs created duplicates"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="active enrolments")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit("DATABASE_URL must name a PostgreSQL database this benchmark may wipe.")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from psp_crm.models import Activity
    from psp_crm.scheduling.engine import horizon_days, materialize

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        columns = {
            c.name
            for c in connection.introspection.get_table_description(cursor, Activity._meta.db_table)
        }
    if "cycle" not in columns:
        sys.exit("The scheduling columns are not migrated yet (Activity.cycle): make migrations.")

    today = timezone.localdate()
    began = time.perf_counter()
    ids = seed(args.n, today)
    print(f"seeded {len(ids)} enrolments in {time.perf_counter() - began:.1f} s")

    began = time.perf_counter()
    created = materialize(ids, today=today)
    first = time.perf_counter() - began
    rate = created / first if first else 0.0
    stored = Activity.objects.count()
    unassigned = Activity.objects.filter(assignee__isnull=True).count()
    print(
        f"materialized {created} activities ({stored} stored, {unassigned} unassigned) "
        f"over {horizon_days()} days in {first:.2f} s: {rate:,.0f} activities/s"
    )

    began = time.perf_counter()
    again = materialize(ids, today=today)
    second = time.perf_counter() - began
    print(f"second run (idempotent): {again} new in {second:.2f} s")
    assert again == 0 and Activity.objects.count() == stored, "the engine created duplicates"

    concurrent_check(ids, today)
    ceiling = limit(min(created, 100_000) or 1000, today)
    print(f"bare bulk_create of activities: {ceiling:,.0f} rows/s; engine at {rate / ceiling:.0%}")
    print(f"RESULT scheduling {rate:.0f} activities/s")


if __name__ == "__main__":
    main()
