"""Benchmark: PDC, dose adherence and persistence for N enrolments with a year of history.

    DATABASE_URL=postgres://…/throwaway python bench/analytics.py --n 10000

The database is migrated and WIPED (patients, enrolments, activities, diary). It seeds N enrolments
in one program — a third on daily tablets, a third on weekly injections, a third on four-weekly
infusions with home deliveries — with a year of dose records and deliveries written set-based
(``INSERT … SELECT`` over ``generate_series``), then computes PDC for all of them in one query and
prints the figures. It needs only the tables ``manage.py migrate`` creates for the core model.
Last line: ``RESULT analytics <enrolments per second> enrolments/s``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psp_crm.settings")


def _insert_select(model, values: dict[str, str], source: str) -> tuple[str, list]:
    """``INSERT INTO model (...) SELECT ... FROM source``: unnamed columns get the field default.

    ``values`` and ``source`` are SQL without placeholders (ids are inlined as integers), so the
    parameters are exactly the defaults, in column order.
    """
    from django.db import connection

    columns, exprs, params = [], [], []
    with connection.cursor() as cursor:  # only columns the migrations created (fields in flight
        table = connection.introspection.get_table_description(cursor, model._meta.db_table)
    existing = {column.name for column in table}  # without a migration yet are left out)
    for field in model._meta.concrete_fields:
        if field.primary_key or field.column not in existing:
            continue
        columns.append(connection.ops.quote_name(field.column))
        expr = values.get(field.name, values.get(field.attname))
        if expr is None:
            expr = "%s"
            params.append(field.get_db_prep_save(field.get_default(), connection))
        exprs.append(expr)
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(exprs)} FROM {source}"
    )
    return sql, params


def seed(n: int, today: dt.date) -> dict[str, float]:
    from django.db import connection
    from django.utils import timezone

    from psp_crm.models import (
        Activity,
        DiaryEntry,
        Enrolment,
        Organization,
        Patient,
        Program,
        ServiceModule,
    )

    figures: dict[str, float] = {}
    with connection.cursor() as cursor:
        tables = [m._meta.db_table for m in (DiaryEntry, Activity, Enrolment, Patient)]
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
    sponsor, _ = Organization.objects.get_or_create(
        name="Bench Pharma", defaults={"kind": Organization.Kind.PHARMA}
    )
    provider, _ = Organization.objects.get_or_create(
        name="Bench Provider", defaults={"kind": Organization.Kind.PROVIDER}
    )
    program, _ = Program.objects.get_or_create(
        code="BENCH-PDC",
        defaults={
            "name": "Bench program",
            "pathology": "bench",
            "sponsor": sponsor,
            "provider": provider,
            "status": "active",
        },
    )
    module, _ = ServiceModule.objects.get_or_create(
        code="drug-delivery",
        defaults={"name": "Drug delivery", "channel": "logistics", "is_clinical": False},
    )
    start = today - dt.timedelta(days=365)
    t0 = time.perf_counter()
    patients = Patient.objects.bulk_create(
        [
            Patient(code=f"BN-{i:07d}", first_name="Bench", last_name=f"P{i}", territory="MI")
            for i in range(n)
        ],
        batch_size=5000,
    )
    rates = (Decimal("7"), Decimal("1"), Decimal("0.25"))
    now = timezone.now()
    Enrolment.objects.bulk_create(
        [
            Enrolment(
                patient=p,
                program=program,
                status="active",
                doses_per_week=rates[i % 3],
                start_date=start - dt.timedelta(days=i % 60),
                therapy_start_date=start - dt.timedelta(days=i % 60),
                referred_at=now - dt.timedelta(days=400),
            )
            for i, p in enumerate(patients)
        ],
        batch_size=5000,
    )
    figures["seed enrolments s"] = time.perf_counter() - t0

    # Dose records: each expected dose is recorded as taken with a per-enrolment probability
    # (50–99%), 8% of those late; the others leave no record. (``%%``: the query has parameters.)
    t0 = time.perf_counter()
    epoch = f"TIMESTAMPTZ '{start.isoformat()} 19:00:00+00'"
    source = (
        f"{Enrolment._meta.db_table} e CROSS JOIN generate_series(0, 364) AS g(d) "
        f"WHERE e.program_id = {int(program.pk)} AND ("
        " e.doses_per_week = 7 OR (e.doses_per_week = 1 AND g.d %% 7 = 0)"
        " OR (e.doses_per_week = 0.25 AND g.d %% 28 = 0))"
        " AND random() < 0.5 + (e.id %% 50) / 100.0"
    )
    status = "CASE WHEN random() < 0.08 THEN 'late' ELSE 'taken' END"
    when = f"{epoch} + g.d * INTERVAL '1 day'"
    sql, params = _insert_select(
        DiaryEntry,
        {
            "enrolment_id": "e.id",
            "kind": "'dose'",
            "occurred_at": when,
            "recorded_at": when,
            "source": "CASE WHEN e.doses_per_week = 0.25 THEN 'nurse' ELSE 'app' END",
            "dose_status": status,
        },
        source,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        figures["dose records"] = cursor.rowcount
    figures["seed doses s"] = time.perf_counter() - t0

    # Deliveries every 28 days for injections and infusions, 10% of them missed.
    t0 = time.perf_counter()
    when = f"{epoch} + g.d * INTERVAL '1 day' - INTERVAL '8 hours'"
    sql, params = _insert_select(
        Activity,
        {
            "enrolment_id": "e.id",
            "module_id": str(int(module.pk)),
            "scheduled_start": when,
            "scheduled_end": f"{when} + INTERVAL '2 hours'",
            "completed_at": f"{when} + INTERVAL '1 hour'",
            "status": "CASE WHEN random() < 0.9 THEN 'done' ELSE 'missed' END",
        },
        f"{Enrolment._meta.db_table} e CROSS JOIN generate_series(0, 364, 28) AS g(d) "
        f"WHERE e.program_id = {int(program.pk)} AND e.doses_per_week < 7",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        figures["deliveries"] = cursor.rowcount
        cursor.execute("ANALYZE")
    figures["seed deliveries s"] = time.perf_counter() - t0
    figures["program"] = program.pk
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="enrolments to seed")
    parser.add_argument("--no-seed", action="store_true", help="reuse the data already seeded")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("DATABASE_URL must name a PostgreSQL database this benchmark may wipe.")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from psp_crm.analytics.adherence import (
        PDC_THRESHOLD,
        dose_adherence_for_enrolments,
        pdc_for_enrolments,
        persistence_for_enrolments,
    )
    from psp_crm.models import DiaryEntry, Enrolment

    call_command("migrate", verbosity=0, interactive=False)
    today = timezone.localdate()
    if not args.no_seed:
        figures = seed(args.n, today)
        for key, value in figures.items():
            print(f"{key:>22}: {value:,.2f}" if isinstance(value, float) else f"{key}: {value}")
    ids = list(Enrolment.objects.values_list("pk", flat=True))
    events = DiaryEntry.objects.count()
    start = today - dt.timedelta(days=364)
    print(f"enrolments: {len(ids):,}  dose records: {events:,}  period: {start} … {today}")

    timings = {}
    connection.ensure_connection()
    for name, run in (
        ("pdc", lambda: pdc_for_enrolments(ids, start=start, end=today)),
        ("dose adherence", lambda: dose_adherence_for_enrolments(ids, start=start, end=today)),
        ("persistence", lambda: persistence_for_enrolments(ids, as_of=today)),
    ):
        t0 = time.perf_counter()
        result = run()
        timings[name] = time.perf_counter() - t0
        print(f"{name:>15}: {timings[name]:6.2f} s for {len(result):,} enrolments")
        if name == "pdc":
            pdcs = [v for v in result.values() if v is not None]
            good = sum(1 for v in pdcs if v >= PDC_THRESHOLD)
            mean = sum(pdcs) / len(pdcs) if pdcs else 0
            print(f"{'':>15}  mean PDC {mean:.3f}; PDC ≥ 80%: {good:,} of {len(pdcs):,}")
    one = ids[:1]
    t0 = time.perf_counter()
    for _ in range(20):
        pdc_for_enrolments(one, start=start, end=today)
    print(f"{'one enrolment':>15}: {(time.perf_counter() - t0) / 20 * 1000:6.1f} ms per PDC")
    runs = [timings["pdc"]]
    for _ in range(2):  # the machine may be shared: report the median of three runs
        t0 = time.perf_counter()
        pdc_for_enrolments(ids, start=start, end=today)
        runs.append(time.perf_counter() - t0)
    median = sorted(runs)[1]
    print(f"{'pdc runs':>15}: {', '.join(f'{r:.2f}' for r in runs)} s (median {median:.2f} s)")
    rate = len(ids) / median
    print(f"RESULT analytics {rate:.0f} enrolments/s")


if __name__ == "__main__":
    main()
