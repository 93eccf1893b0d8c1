"""Benchmark: dose reminders queued, delivered and the counsellor's call list for N enrolments.

    DATABASE_URL=postgres://…/throwaway python bench/messaging.py --n 10000

The database is migrated and WIPED (patients, enrolments, consents, diary, activities, messages,
audit events, operators and the ``@bench.example`` logins). It seeds N active enrolments in one
program on a daily self-administered tablet (7 doses a week, started 30 days ago) — every patient
with a phone number, half of them with an app login (and the push consent), 80 % with the SMS
and phone consents — and a dose diary up to yesterday, in which half of the enrolments have no
dose in the last two days; each enrolment has ten past home visits (done) and one tomorrow, and
one patient in twenty asked an hour ago to change tomorrow's (the call list's appointments to
change). Seeding is set-based (``INSERT … SELECT`` over ``generate_series``).
With ``PSP_OUTBOX_DIR`` in a temporary directory and a dummy tasks backend (so that nothing is
delivered while queueing), it times at today 12:00 Europe/Rome:

1. ``dose_reminders_queue`` — rows created, then a second, idempotent run (must create none);
2. ``deliver_due_messages`` looped until it returns 0, and the lines written to the outbox;
3. the status breakdown of the messages;
4. ``outbound_calls_for`` a counsellor staffing the program: items, queries, median of 5 runs;
   ``call_list_page`` (the page: counts per kind and its first page), median of 5 runs.

Last line: ``RESULT messaging <messages delivered per second> messages/s``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import tempfile
import time
import zoneinfo
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psp_crm.settings")

ROME = zoneinfo.ZoneInfo("Europe/Rome")
DAYS = 30  # therapy started this many days ago; the diary covers it up to yesterday
BENCH_DOMAIN = "@bench.example"


class QueryCounter:
    """A cheap ``execute_wrapper``: counts the queries run while installed and the seconds spent
    waiting for them (no SQL kept), to tell database time from Python time."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def reset(self) -> None:
        self.count, self.seconds = 0, 0.0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - began


def _insert_select(model, values: dict[str, str], source: str) -> tuple[str, list]:
    """``INSERT INTO model (...) SELECT ... FROM source``: unnamed columns get the field default.

    ``values`` and ``source`` are SQL without placeholders (ids are inlined as integers), so the
    parameters are exactly the defaults, in column order (as in ``bench/analytics.py``).
    """
    from django.db import connection

    columns, exprs, params = [], [], []
    with connection.cursor() as cursor:
        table = connection.introspection.get_table_description(cursor, model._meta.db_table)
    existing = {column.name for column in table}
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


def _run(model, values: dict[str, str], source: str) -> int:
    from django.db import connection

    sql, params = _insert_select(model, values, source)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _wipe() -> None:
    from django.db import connection

    from psp_crm.models import (
        Activity,
        AuditEvent,
        Consent,
        DiaryEntry,
        Enrolment,
        Message,
        Operator,
        Patient,
        User,
    )

    models = (Message, AuditEvent, DiaryEntry, Activity, Consent, Enrolment, Patient, Operator)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(m._meta.db_table for m in models)} CASCADE")
    User.objects.filter(email__endswith=BENCH_DOMAIN).delete()


def seed(n: int, today: dt.date) -> dict[str, object]:
    from django.db import connection, transaction
    from django.utils import timezone

    from psp_crm import access
    from psp_crm.demo.messaging import create_message_templates
    from psp_crm.models import (
        Activity,
        Consent,
        DiaryEntry,
        Enrolment,
        Operator,
        Organization,
        Patient,
        Product,
        Program,
        ServiceModule,
        User,
    )

    figures: dict[str, object] = {}
    t0 = time.perf_counter()
    _wipe()
    figures["wipe s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sponsor, _ = Organization.objects.get_or_create(
        name="Bench Pharma", defaults={"kind": Organization.Kind.PHARMA}
    )
    provider, _ = Organization.objects.get_or_create(
        name="Bench Provider", defaults={"kind": Organization.Kind.PROVIDER}
    )
    program, _ = Program.objects.get_or_create(
        code="BENCH-MSG",
        defaults={
            "name": "Bench messaging",
            "pathology": "bench",
            "sponsor": sponsor,
            "provider": provider,
            "status": "active",
        },
    )
    product, _ = Product.objects.get_or_create(
        manufacturer=sponsor,
        name="Benchtinib",
        defaults={"form": Product.Form.TABLET, "default_dose": "10 mg"},
    )
    program.products.add(product)
    figures["templates created"] = create_message_templates()

    user_t = User._meta.db_table
    patient_t = Patient._meta.db_table
    enrolment_t = Enrolment._meta.db_table
    with transaction.atomic():
        # Logins for every other patient (password "!" = unusable).
        figures["patient logins"] = _run(
            User,
            {
                "email": f"'bench-p' || g.i || '{BENCH_DOMAIN}'",
                "password": "'!'",
                "first_name": "'Bench'",
                "last_name": "'P' || g.i",
            },
            f"generate_series(0, {n - 1}, 2) AS g(i)",
        )
        figures["patients"] = _run(
            Patient,
            {
                "user_id": "u.id",
                "code": "'BM-' || lpad(g.i::text, 7, '0')",
                "first_name": "'Bench'",
                "last_name": "'P' || g.i",
                "phone": "'+39 333 ' || lpad(g.i::text, 7, '0')",
                "territory": "'MI'",
            },
            f"generate_series(0, {n - 1}) AS g(i) "
            f"LEFT JOIN {user_t} u ON u.email = 'bench-p' || g.i || '{BENCH_DOMAIN}'",
        )
        start = today - dt.timedelta(days=DAYS)
        referred = timezone.now() - dt.timedelta(days=DAYS + 10)
        figures["enrolments"] = _run(
            Enrolment,
            {
                "patient_id": "p.id",
                "program_id": str(int(program.pk)),
                "status": "'active'",
                "product_id": str(int(product.pk)),
                "dose": "'10 mg'",
                "frequency": "'once a day'",
                "doses_per_week": "7",
                "start_date": f"DATE '{start.isoformat()}'",
                "therapy_start_date": f"DATE '{start.isoformat()}'",
                "referred_at": f"TIMESTAMPTZ '{referred.isoformat()}'",
            },
            f"{patient_t} p WHERE p.code LIKE 'BM-%%' ORDER BY p.id",
        )
        # SMS and phone consent for 80 % of the patients, push for those with a login.
        given = f"TIMESTAMPTZ '{referred.isoformat()}'"
        consents = 0
        for kind, where in (
            (Consent.Kind.CHANNEL_SMS, "p.id %% 5 <> 0"),
            (Consent.Kind.CHANNEL_PHONE, "p.id %% 5 <> 0"),
            (Consent.Kind.CHANNEL_PUSH, "p.user_id IS NOT NULL"),
        ):
            consents += _run(
                Consent,
                {
                    "patient_id": "p.id",
                    "kind": f"'{kind}'",
                    "document_version": "'v1'",
                    "given_at": given,
                    "withdrawn_at": "NULL",
                    "enrolment_id": "NULL",
                    "recorded_by_id": "NULL",
                },
                f"{patient_t} p WHERE p.code LIKE 'BM-%%' AND {where}",
            )
        figures["consents"] = consents
        # A dose taken every day at 09:00 Rome from the start up to yesterday, except the last
        # two days for the even enrolments (the missed-doses rule of the call list fires).
        figures["dose records"] = _run(
            DiaryEntry,
            {
                "enrolment_id": "e.id",
                "kind": "'dose'",
                "occurred_at": "(g.d + TIME '09:00') AT TIME ZONE 'Europe/Rome'",
                "recorded_at": "(g.d + TIME '09:05') AT TIME ZONE 'Europe/Rome'",
                "source": "'app'",
                "dose_status": "'taken'",
                "author_id": "NULL",
                "superseded_by_id": "NULL",
            },
            f"{enrolment_t} e CROSS JOIN generate_series(DATE '{start.isoformat()}', "
            f"DATE '{(today - dt.timedelta(days=1)).isoformat()}', INTERVAL '1 day') AS s(day) "
            "CROSS JOIN LATERAL (SELECT s.day::date AS d) g "
            f"WHERE e.program_id = {int(program.pk)} AND NOT (e.id %% 2 = 0 "
            f"AND g.d >= DATE '{(today - dt.timedelta(days=2)).isoformat()}')",
        )
        # Ten past home visits per enrolment (done), one tomorrow 10:00–12:00 Rome; every
        # twentieth patient asked an hour ago to change tomorrow's.
        visit, _ = ServiceModule.objects.get_or_create(
            code="bench-home-visit",
            defaults={
                "name": "Bench home visit",
                "performer_role": Operator.Role.NURSE,
                "channel": ServiceModule.Channel.HOME_VISIT,
            },
        )
        tomorrow = today + dt.timedelta(days=1)
        asked = timezone.now() - dt.timedelta(hours=1)
        figures["home visits"] = _run(
            Activity,
            {
                "enrolment_id": "e.id",
                "module_id": str(int(visit.pk)),
                "scheduled_start": "(g.d + TIME '10:00') AT TIME ZONE 'Europe/Rome'",
                "scheduled_end": "(g.d + TIME '12:00') AT TIME ZONE 'Europe/Rome'",
                "status": f"CASE WHEN g.d < DATE '{today.isoformat()}' THEN 'done' "
                "ELSE 'planned' END",
                "patient_answer": f"CASE WHEN g.d = DATE '{tomorrow.isoformat()}' "
                "AND e.id %% 20 = 0 THEN 'change_requested' ELSE '' END",
                "patient_answered_at": f"CASE WHEN g.d = DATE '{tomorrow.isoformat()}' "
                f"AND e.id %% 20 = 0 THEN TIMESTAMPTZ '{asked.isoformat()}' END",
                "assignee_id": "NULL",
                "partner_id": "NULL",
                "linked_to_id": "NULL",
                "rescheduled_from_id": "NULL",
                "step_id": "NULL",
            },
            f"{enrolment_t} e CROSS JOIN generate_series(0, 10) AS s(k) "
            f"CROSS JOIN LATERAL (SELECT DATE '{tomorrow.isoformat()}' - s.k * 3 AS d) g "
            f"WHERE e.program_id = {int(program.pk)}",
        )
        # One counsellor staffing the program (as ``program_add_operator`` grants it).
        counsellor = User.objects.create_user(
            email=f"counsellor{BENCH_DOMAIN}", password=None, first_name="Bench"
        )
        Operator.objects.create(
            user=counsellor, role=Operator.Role.COUNSELLOR, organization=provider
        )
        access.grant_role_programs(counsellor, "operator", [program])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    figures["seed s"] = time.perf_counter() - t0
    figures["program"] = program.pk
    return figures


def _breakdown() -> None:
    from django.db.models import Count

    from psp_crm.models import Message

    by_status = Counter()
    by_channel: dict[str, Counter] = {}
    rows = Message.objects.order_by().values_list("channel", "status").annotate(n=Count("pk"))
    for channel, status, count in rows:
        by_status[status] += count
        by_channel.setdefault(channel, Counter())[status] += count
    total = sum(by_status.values())
    print(f"3. messages by status ({total:,}):")
    for status, count in by_status.most_common():
        print(f"{status:>12}: {count:7,}")
    for channel in sorted(by_channel):
        parts = ", ".join(f"{s} {c:,}" for s, c in by_channel[channel].most_common())
        print(f"{channel:>12}: {parts}")
    reasons = (
        Message.objects.filter(status=Message.Status.SKIPPED)
        .order_by()
        .values_list("skip_reason")
        .annotate(n=Count("pk"))
    )
    for reason, count in reasons:
        print(f"{'skipped':>12}: {count:7,} × {reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="active enrolments")
    parser.add_argument("--limit", type=int, default=500, help="deliver_due_messages batch")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit("DATABASE_URL must name a PostgreSQL database this benchmark may wipe.")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.utils import timezone

    from psp_crm.models import AuditEvent, Message, User
    from psp_crm.selectors.call_list import call_list_page, outbound_calls_for
    from psp_crm.services.messaging import deliver_due_messages
    from psp_crm.services.reminders import dose_reminders_queue

    # One line per message sent otherwise.
    logging.getLogger("psp_crm.messaging.outbox").setLevel(logging.WARNING)
    outbox = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    # The services enqueue ``deliver_message`` after commit; with the default immediate backend
    # queueing would deliver too. The dummy backend only records the enqueue: delivery happens
    # in step 2 alone, through ``deliver_due_messages`` (what the every-minute task runs).
    tasks = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    # DEBUG off as in production: no query log kept for each of the ~10 queries per message.
    override_settings(TASKS=tasks, PSP_OUTBOX_DIR=str(outbox), DEBUG=False).enable()
    print(f"tasks backend: DummyBackend (delivery only in step 2); DEBUG off; outbox: {outbox}")

    call_command("migrate", verbosity=0, interactive=False)
    today = timezone.localdate()
    now = dt.datetime.combine(today, dt.time(12), tzinfo=ROME)
    figures = seed(args.n, today)
    for key, value in figures.items():
        print(f"{key:>18}: {value:,.2f}" if isinstance(value, float) else f"{key:>18}: {value:,}")
    print(f"now: {now.isoformat()}")
    counter = QueryCounter()
    connection.ensure_connection()

    # 1. Queue today's dose reminders, then again (idempotent).
    began = time.perf_counter()
    with connection.execute_wrapper(counter):
        created = dose_reminders_queue(now=now)
    queue_s = time.perf_counter() - began
    queue_q = counter.count
    audits = AuditEvent.objects.count()
    print(
        f"1. dose_reminders_queue: {created:,} rows in {queue_s:.2f} s: "
        f"{created / queue_s if queue_s else 0:,.0f} rows/s\n"
        f"   {queue_q:,} queries ({queue_q / max(created, 1):.1f} per row), "
        f"{counter.seconds:.2f} s of them in the database; {audits:,} audit events"
    )
    stored = Message.objects.count()
    assert stored == created, f"{created} reported, {stored} stored"
    began = time.perf_counter()
    counter.reset()
    with connection.execute_wrapper(counter):
        again = dose_reminders_queue(now=now)
    again_s = time.perf_counter() - began
    print(
        f"   second run (idempotent): {again:,} rows in {again_s:.2f} s ({counter.count:,} queries)"
    )
    assert again == 0 and Message.objects.count() == stored, "the second run created messages"

    # 2. Deliver everything due, batch after batch.
    began = time.perf_counter()
    counter.reset()
    delivered = batches = 0
    with connection.execute_wrapper(counter):
        while done := deliver_due_messages(now=now, limit=args.limit):
            delivered += done
            batches += 1
    deliver_s = time.perf_counter() - began
    rate = delivered / deliver_s if deliver_s else 0.0
    print(
        f"2. deliver_due_messages: {delivered:,} messages in {batches} batches of ≤{args.limit} "
        f"in {deliver_s:.2f} s: {rate:,.0f} messages/s\n"
        f"   {counter.count:,} queries ({counter.count / max(delivered, 1):.1f} per message), "
        f"{counter.seconds:.2f} s of them in the database"
    )
    lines = {}
    for path in sorted(outbox.glob("*.jsonl")):
        with path.open(encoding="utf-8") as f:
            lines[path.name] = sum(1 for _ in f)
    listed = ", ".join(f"{name} {count:,}" for name, count in lines.items()) or "none"
    print(f"   outbox lines: {sum(lines.values()):,} ({listed})")

    # 3. Where the messages ended up.
    _breakdown()

    # 4. The counsellor's outbound call list.
    actor = User.objects.get(email=f"counsellor{BENCH_DOMAIN}")
    runs = []
    items: list = []
    for i in range(5):
        began = time.perf_counter()
        if i == 0:
            reset_queries()  # a full query log (9000 entries) would make the capture look empty
            with CaptureQueriesContext(connection) as queries:
                items = outbound_calls_for(actor, today=today, now=now)
        else:
            outbound_calls_for(actor, today=today, now=now)
        runs.append(time.perf_counter() - began)
    median = sorted(runs)[len(runs) // 2]
    kinds = Counter(item.kind for item in items)
    consented = sum(1 for item in items if item.phone_consent)
    print(
        f"4. outbound_calls_for: {len(items):,} items ({dict(kinds)}; {consented:,} with phone "
        f"consent), {len(queries.captured_queries)} queries, median {median:.3f} s "
        f"of {', '.join(f'{r:.3f}' for r in runs)}"
    )
    # What the page costs: the counts per kind and one page, phone consent for that page only.
    page_runs = []
    for _ in range(5):
        began = time.perf_counter()
        calls = call_list_page(actor, today=today, now=now)
        page_runs.append(time.perf_counter() - began)
    print(
        f"   call_list_page (page 1 of {calls.pages}, {len(calls.items)} rows of {calls.total:,}):"
        f" median {sorted(page_runs)[2]:.3f} s of {', '.join(f'{r:.3f}' for r in page_runs)}"
    )
    print(f"RESULT messaging {rate:.0f} messages/s")


if __name__ == "__main__":
    main()
