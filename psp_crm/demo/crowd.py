"""The background crowd: N deterministic patients with months of history, written in bulk."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from ..models import (
    AdverseEvent,
    Case,
    Consent,
    Device,
    DiaryEntry,
    Enrolment,
    Operator,
    Patient,
)
from .catalog import PROGRAMS
from .history import BATCH, Plan, at, write_history
from .world import World

FEMALE = (
    "Giulia",
    "Francesca",
    "Chiara",
    "Sara",
    "Valentina",
    "Alessia",
    "Martina",
    "Federica",
    "Elisa",
    "Silvia",
    "Laura",
    "Roberta",
    "Paola",
    "Monica",
    "Cristina",
    "Serena",
    "Ilaria",
    "Beatrice",
    "Lucia",
    "Teresa",
    "Giovanna",
    "Angela",
    "Marta",
    "Caterina",
)
MALE = (
    "Luca",
    "Marco",
    "Andrea",
    "Francesco",
    "Alessandro",
    "Matteo",
    "Lorenzo",
    "Davide",
    "Simone",
    "Stefano",
    "Giuseppe",
    "Antonio",
    "Roberto",
    "Paolo",
    "Giovanni",
    "Fabio",
    "Massimo",
    "Riccardo",
    "Daniele",
    "Emanuele",
    "Claudio",
    "Pietro",
    "Salvatore",
    "Vincenzo",
)
SURNAMES = (
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianco",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Bruno",
    "Gallo",
    "Conte",
    "De Luca",
    "Mancini",
    "Costa",
    "Giordano",
    "Rizzo",
    "Lombardi",
    "Moretti",
    "Barbieri",
    "Fontana",
    "Santoro",
    "Mariani",
    "Rinaldi",
    "Caruso",
    "Ferrara",
    "Galli",
    "Martini",
    "Leone",
    "Longo",
    "Gentile",
    "Martinelli",
    "Vitale",
    "Lombardo",
    "Serra",
    "Coppola",
    "De Santis",
    "D'Angelo",
    "Marchetti",
    "Parisi",
    "Villa",
    "Conti",
    "Ferraro",
    "Fabbri",
    "Bianchi",
    "Marini",
    "Grasso",
    "Valentini",
    "Messina",
    "Sala",
    "De Angelis",
    "Gatti",
    "Pellegrini",
    "Palumbo",
    "Sanna",
    "Farina",
    "Rizzi",
    "Monti",
    "Cattaneo",
)
STREETS = (
    "Via Roma",
    "Via Garibaldi",
    "Corso Italia",
    "Via Mazzini",
    "Via Dante",
    "Via Cavour",
    "Viale Europa",
    "Via Manzoni",
    "Via Matteotti",
    "Via XX Settembre",
    "Via Gramsci",
    "Via Verdi",
)
# City: (weight, postcode prefix).
CITIES: dict[str, tuple[int, str]] = {
    "Milano": (20, "201"),
    "Monza": (6, "209"),
    "Bergamo": (6, "241"),
    "Torino": (12, "101"),
    "Genova": (7, "161"),
    "Verona": (6, "371"),
    "Padova": (6, "351"),
    "Bologna": (9, "401"),
    "Firenze": (8, "501"),
    "Roma": (14, "001"),
    "Napoli": (10, "801"),
    "Bari": (6, "701"),
}
STATUSES = {
    "active": 76,
    "suspended": 7,
    "withdrawn": 6,
    "completed": 2,
    "referred": 5,
    "consented": 4,
}
REASONS = {
    "suspended": (
        "Hospitalised for an unrelated condition.",
        "Therapy paused by the specialist.",
        "Temporarily abroad.",
    ),
    "withdrawn": (
        "The patient withdrew consent.",
        "Moved to another region.",
        "Switched to a therapy outside the program.",
    ),
    "completed": ("Planned six-month course completed.",),
}
RISKS = {"low": 45, "medium": 30, "high": 15, "unassessed": 10}
ADHERENCE = {"low": 0.95, "medium": 0.86, "high": 0.7, "unassessed": 0.9}
SHOW_RATE = {"low": 0.96, "medium": 0.91, "high": 0.8, "unassessed": 0.92}
AE_TEXTS = {
    "multiple sclerosis": (
        "Headache and nausea on the evening of the infusion.",
        "Urinary tract infection treated by the GP.",
        "Rash on the arms the day after the infusion.",
    ),
    "psoriasis": (
        "Injection-site reaction lasting three days.",
        "Oral candidiasis.",
        "Upper respiratory tract infection.",
    ),
    "rheumatoid arthritis": (
        "Nausea after the weekly dose.",
        "Herpes zoster on the chest.",
        "Raised liver enzymes at the routine blood test.",
    ),
}
CASE_SUBJECTS = (
    ("Change of delivery address", "delivery"),
    ("Question on a missed dose", "therapy question"),
    ("Cannot log in to the app", "app access"),
    ("Move the next home visit", "appointment"),
    ("Copy of the consent form", "documents"),
    ("Reimbursement of travel costs", "administration"),
)


@dataclass
class Draw:
    """One background patient as drawn, before anything is written."""

    index: int
    patient: Patient
    program: str
    product: str
    status: str
    risk: str
    referred: dt.date
    start: dt.date | None
    therapy_start: dt.date | None
    end: dt.date | None
    device: str


def _draw(rng: random.Random, index: int, today: dt.date) -> Draw:
    sex = rng.choice("FM")
    first = rng.choice(FEMALE if sex == "F" else MALE)
    last = rng.choice(SURNAMES)
    city = rng.choices(list(CITIES), weights=[w for w, _ in CITIES.values()])[0]
    program = rng.choices(PROGRAMS, weights=(38, 32, 30))[0]
    product = program.products[0] if len(program.products) == 1 else rng.choice(program.products)
    status = rng.choices(list(STATUSES), weights=list(STATUSES.values()))[0]
    risk = rng.choices(list(RISKS), weights=list(RISKS.values()))[0]
    days = dt.timedelta
    start = therapy_start = end = None
    if status == "referred":
        referred = today - days(rng.randint(1, 20))
    elif status == "consented":
        referred = today - days(rng.randint(6, 25))
    else:
        if status == "active":
            start = today - days(rng.randint(25, 330))
        elif status == "completed":
            start = today - days(rng.randint(200, 360))
            end = start + days(182)
        else:
            start = today - days(rng.randint(60, 330))
            end = start + days(rng.randint(30, (today - start).days - 3))
        referred = start - days(rng.randint(5, 15))
        therapy_start = start + days(rng.randint(0, 4))
    device = ""
    if start is not None:
        r = rng.random()
        if product == "artrocitinib" and r < 0.7:
            device = Device.Kind.BLISTER
        elif product == "dermakizumab" and r < 0.3:
            device = Device.Kind.INJECTOR
        elif product in ("neuvelizumab", "reumetrex") and r < 0.1:
            device = Device.Kind.BP_MONITOR
    email = f"{first}.{last}.{index + 1}@example.com".lower().replace(" ", "").replace("'", "")
    patient = Patient(
        first_name=first,
        last_name=last,
        sex=sex,
        birth_date=dt.date(rng.randint(1945, 2002), rng.randint(1, 12), rng.randint(1, 28)),
        email=email,
        phone=f"+39 345 {900 + index // 10000} {index % 10000:04d}",  # unique, no draw taken
        address=f"{rng.choice(STREETS)} {rng.randint(1, 180)}",
        city=city,
        postcode=f"{CITIES[city][1]}{rng.randint(0, 99):02d}",
        territory=city,
        created_at=at(referred, rng.randint(9, 17), rng.randint(0, 59)),
    )
    return Draw(
        index=index,
        patient=patient,
        program=program.code,
        product=product,
        status=status,
        risk=risk,
        referred=referred,
        start=start,
        therapy_start=therapy_start,
        end=end,
        device=device,
    )


def _roles_needed(world: World, draw: Draw) -> set[str]:
    roles = {"counsellor"}
    for step in world.steps[draw.program].values():
        if step.on_request or (step.risk_profiles and draw.risk not in step.risk_profiles):
            continue
        if step.performer_role:
            roles.add(step.performer_role)
    return roles


def build_crowd(world: World, n: int, *, seed: int = 2026) -> dict[str, int]:
    """Create ``n`` background patients, their enrolments, care teams, consents and history."""
    rng = random.Random(seed)
    today, now = world.today, world.now
    ops = world.user("ops@curaplus.example")
    draws = [_draw(rng, i, today) for i in range(n)]
    Patient.objects.bulk_create([d.patient for d in draws], batch_size=BATCH)

    enrolments = []
    for d in draws:
        spec = world.product_spec(d.product)
        changed = d.end or d.start or d.referred + dt.timedelta(days=3)
        enrolment = Enrolment(
            patient=d.patient,
            program=world.programs[d.program],
            status=d.status,
            referring_doctor=world.doctors[d.program],
            product=world.products[d.product],
            dose=spec.dose,
            frequency=spec.frequency,
            doses_per_week=Decimal(str(spec.doses_per_week)),
            risk_profile=d.risk,
            referred_at=at(d.referred, rng.randint(9, 17), rng.randint(0, 59)),
            start_date=d.start,
            therapy_start_date=d.therapy_start,
            end_date=d.end if d.status in ("withdrawn", "completed") else None,
            status_changed_at=at(changed, 10),
            status_reason=rng.choice(REASONS[d.status]) if d.status in REASONS else "",
        )
        enrolments.append(enrolment)
    Enrolment.objects.bulk_create(enrolments, batch_size=BATCH)

    doctor_rows = []
    operator_rows = []
    teams: list[dict[str, Operator]] = []
    for d, enrolment in zip(draws, enrolments, strict=True):
        doctor_rows.append(
            Enrolment.doctors.through(
                enrolment_id=enrolment.pk, doctor_id=world.doctors[d.program].pk
            )
        )
        team = world.team_for(d.program, d.patient.territory, salt=d.index)
        needed = _roles_needed(world, d) if d.start else set()
        team = {role: op for role, op in team.items() if role in needed}
        teams.append(team)
        operator_rows += [
            Enrolment.operators.through(enrolment_id=enrolment.pk, operator_id=op.pk)
            for op in team.values()
        ]
    Enrolment.doctors.through.objects.bulk_create(doctor_rows, batch_size=BATCH)
    Enrolment.operators.through.objects.bulk_create(operator_rows, batch_size=BATCH)

    consents = []
    for d, enrolment in zip(draws, enrolments, strict=True):
        if d.status == "referred":
            continue
        given = at(d.referred + dt.timedelta(days=rng.randint(2, 5)), 10, rng.randint(0, 59))
        version = f"{d.program} v{rng.choice(('2.0', '2.1'))}"
        kinds = [Consent.Kind.PARTICIPATION, Consent.Kind.DATA_PROCESSING]
        for kind, p in (
            (Consent.Kind.CHANNEL_SMS, 0.7),
            (Consent.Kind.CHANNEL_EMAIL, 0.6),
            (Consent.Kind.CHANNEL_PHONE, 0.8),
            (Consent.Kind.RESEARCH, 0.35),
        ):
            if rng.random() < p:
                kinds.append(kind)
        for kind in kinds:
            withdrawn = None
            if (
                d.status == "withdrawn"
                and kind == Consent.Kind.PARTICIPATION
                and "consent" in enrolment.status_reason
            ):
                withdrawn = at(d.end, 12) if d.end else None
            consents.append(
                Consent(
                    patient=d.patient,
                    enrolment=enrolment,
                    kind=kind,
                    document_version=version,
                    given_at=given,
                    withdrawn_at=withdrawn,
                    recorded_by=ops,
                )
            )
    Consent.objects.bulk_create(consents, batch_size=BATCH)

    devices = []
    for d, enrolment in zip(draws, enrolments, strict=True):
        if d.device:
            prefix = {"blister": "BLX", "injector": "INJ", "bp_monitor": "BPM"}[d.device]
            devices.append(
                Device(
                    serial=f"DEMO-{prefix}-{1001 + d.index:05d}",
                    kind=d.device,
                    enrolment=enrolment,
                    is_active=d.status in ("active", "suspended"),
                )
            )
    Device.objects.bulk_create(devices, batch_size=BATCH)
    device_of = {device.enrolment_id: device for device in devices}

    plans = []
    for d, enrolment, team in zip(draws, enrolments, teams, strict=True):
        if d.start is None or d.therapy_start is None:
            continue
        open_ended = d.status == "active"
        last = today + dt.timedelta(days=28) if open_ended else (d.end or today)
        counsellor = team.get("counsellor")
        plans.append(
            Plan(
                enrolment=enrolment,
                pathology=world.programs[d.program].pathology,
                product=world.product_spec(d.product),
                steps=list(world.steps[d.program].values()),
                start=d.start,
                therapy_start=d.therapy_start,
                last_day=last,
                history_end=today if open_ended else (d.end or today),
                team=team,
                partner=world.partner,
                risk=d.risk,
                adherence=min(0.99, ADHERENCE[d.risk] + rng.uniform(-0.06, 0.04)),
                show_rate=SHOW_RATE[d.risk],
                unassigned_rate=0.04,
                slot=d.index,
                source=rng.choice((DiaryEntry.Source.APP, DiaryEntry.Source.WEB)),
                device=device_of.get(enrolment.pk),
                measures_glucose=rng.random() < 0.15,
                weight_kg=rng.uniform(54, 80) if d.patient.sex == "F" else rng.uniform(66, 98),
                mood_base=3 if d.risk == "high" else 4,
                entry_rate=rng.uniform(0.4, 1.3),
                counsellor_user=counsellor.user if counsellor else None,
            )
        )
    counts = {
        "patients": len(draws),
        "enrolments": len(enrolments),
        "consents": len(consents),
        "devices": len(devices),
    }
    counts |= write_history(plans, now=now, rng=rng)
    counts["adverse events"] = _adverse_events(world, plans, rng)
    counts["cases"] = _cases(plans, rng, now)
    return counts


def _adverse_events(world: World, plans: list[Plan], rng: random.Random) -> int:
    now = world.now
    events = []
    for plan in plans:
        span = (plan.history_end - plan.start).days
        if span < 14 or rng.random() > 0.05:
            continue
        onset = plan.start + dt.timedelta(days=rng.randint(7, span))
        aware = at(onset + dt.timedelta(days=rng.randint(0, 2)), rng.randint(9, 17))
        if aware > now:
            aware = now - dt.timedelta(hours=rng.randint(1, 5))
        sla = dt.timedelta(hours=plan.enrolment.program.adverse_event_sla_hours)
        forwarded = None
        if aware + sla <= now and rng.random() > 0.08:  # a few run late: the SLA clock shows it
            forwarded = aware + sla * rng.uniform(0.1, 0.9)
        reporter = plan.team.get("nurse") or plan.team.get("counsellor")
        events.append(
            AdverseEvent(
                enrolment=plan.enrolment,
                reported_by=reporter.user if reporter else None,
                channel=rng.choice(("phone", "visit", "app", "email")),
                description=rng.choice(AE_TEXTS[plan.pathology]),
                seriousness=AdverseEvent.Seriousness.SERIOUS
                if rng.random() < 0.12
                else AdverseEvent.Seriousness.NON_SERIOUS,
                onset_date=onset,
                aware_at=aware,
                forward_due_at=aware + sla,
                forwarded_at=forwarded,
                status=AdverseEvent.Status.FORWARDED if forwarded else AdverseEvent.Status.CAPTURED,
            )
        )
    AdverseEvent.objects.bulk_create(events, batch_size=BATCH)
    return len(events)


def _cases(plans: list[Plan], rng: random.Random, now: dt.datetime) -> int:
    cases = []
    for plan in plans:
        if rng.random() > 0.07 or plan.counsellor_user is None:
            continue
        subject, category = rng.choice(CASE_SUBJECTS)
        opened = now - dt.timedelta(hours=rng.randint(2, 24 * 60))
        status = rng.choices(
            (Case.Status.OPEN, Case.Status.WAITING, Case.Status.RESOLVED, Case.Status.CLOSED),
            weights=(30, 15, 35, 20),
        )[0]
        closed = None
        if status in (Case.Status.RESOLVED, Case.Status.CLOSED):
            closed = min(now, opened + dt.timedelta(hours=rng.randint(1, 72)))
        cases.append(
            Case(
                patient=plan.enrolment.patient,
                enrolment=plan.enrolment,
                subject=subject,
                category=category,
                status=status,
                priority=rng.choices(
                    (Case.Priority.LOW, Case.Priority.NORMAL, Case.Priority.HIGH),
                    weights=(20, 65, 15),
                )[0],
                opened_by=plan.counsellor_user,
                assigned_to=plan.counsellor_user,
                opened_at=opened,
                closed_at=closed,
            )
        )
    Case.objects.bulk_create(cases, batch_size=BATCH)
    return len(cases)
