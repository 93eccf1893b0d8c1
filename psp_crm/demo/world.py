"""The named world of DEMO.md: organizations, accounts, programs, Anna, Luca, Marco and neighbours.

Everything an account can do later (grants, groups, enrolments, consents, delegations) is set up
through the domain services, acting as the people who would do it; only the seeded history
(activities, diary, reports...) is written directly.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth.hashers import make_password

from ..models import (
    Activity,
    AdverseEvent,
    BadgeAward,
    Caregiver,
    CarePathwayStep,
    Case,
    Channel,
    ClientUser,
    Consent,
    Device,
    Doctor,
    Enrolment,
    Interaction,
    Message,
    Operator,
    Organization,
    Patient,
    PointsAward,
    Product,
    Program,
    ProgramTemplate,
    ProviderStaff,
    Purpose,
    Report,
    ReportReceipt,
    ServiceModule,
    User,
)
from ..services.consents import consent_record, consent_withdraw
from ..services.delegations import delegation_grant
from ..services.enrolments import (
    enrolment_assign_operator,
    enrolment_refer,
    enrolment_transition,
)
from ..services.patients import patient_register
from ..services.programs import (
    client_user_join,
    program_add_doctor,
    program_add_operator,
    program_create,
    provider_staff_join,
)
from .catalog import PRODUCTS, PROGRAMS, ProductSpec, create_pathway, ensure_catalog
from .contact_centre import create_call_scripts
from .history import ROME, Plan, at, today_in_rome, write_history
from .messaging import create_message_templates

# --- who is who ---------------------------------------------------------------------------------

PROVIDER = "CuraPlus Home Care"
LOGISTICS_PARTNER = "SwiftMed Logistics"
HOSPITAL = "Ospedale San Luca"

ORGANIZATIONS: tuple[tuple[str, str, str], ...] = (
    (PROVIDER, Organization.Kind.PROVIDER, "Milano"),
    ("Northwind Pharma", Organization.Kind.PHARMA, "Milano"),
    ("Southwind Biotech", Organization.Kind.PHARMA, "Roma"),
    (LOGISTICS_PARTNER, Organization.Kind.LOGISTICS, "Bologna"),
    (HOSPITAL, Organization.Kind.HOSPITAL, "Milano"),
)

TERRITORIES: tuple[str, ...] = (
    "Milano",
    "Monza",
    "Bergamo",
    "Torino",
    "Genova",
    "Verona",
    "Padova",
    "Bologna",
    "Firenze",
    "Roma",
    "Napoli",
    "Bari",
)
ALL_PROGRAMS = tuple(p.code for p in PROGRAMS)


@dataclass(frozen=True)
class AccountSpec:
    """A DEMO.md account: stable, documented, logs in with the demo password."""

    email: str
    first_name: str
    last_name: str
    role: str


DEMO_ACCOUNTS: tuple[AccountSpec, ...] = (
    AccountSpec("admin@curaplus.example", "Paola", "Bruni", "provider superuser"),
    AccountSpec("ops@curaplus.example", "Davide", "Sala", "provider staff (operations)"),
    AccountSpec(
        "medical@northwind.example", "Federica", "Longo", "pharma client user (Northwind Pharma)"
    ),
    AccountSpec(
        "medical@southwind.example", "Andrea", "Villa", "pharma client user (Southwind Biotech)"
    ),
    AccountSpec("dr.rossi@sanluca.example", "Alessandro", "Rossi", "doctor (neurologist)"),
    AccountSpec(
        "dr.bianchi@sanluca.example", "Laura", "Bianchi", "doctor (dermatologist/rheumatologist)"
    ),
    AccountSpec("anna.conti@example.com", "Anna", "Conti", "patient, MS-ADHERE"),
    AccountSpec("luca.conti@example.com", "Luca", "Conti", "caregiver of Anna Conti"),
    AccountSpec("marco.ferri@example.com", "Marco", "Ferri", "patient, PSO-CARE"),
    AccountSpec(
        "nurse.verdi@curaplus.example", "Francesca", "Verdi", "nurse, MS-ADHERE and RA-HOME"
    ),
    AccountSpec(
        "counsellor.neri@curaplus.example",
        "Silvia",
        "Neri",
        "contact-centre counsellor, all programs",
    ),
    AccountSpec("driver.gallo@swiftmed.example", "Matteo", "Gallo", "logistics operator"),
)


@dataclass(frozen=True)
class OperatorSpec:
    """A professional of the operator network."""

    email: str
    first_name: str
    last_name: str
    role: str
    organization: str
    territories: tuple[str, ...]
    programs: tuple[str, ...]
    skills: tuple[str, ...] = ()
    capacity: int = 36


NORTH = ("Milano", "Monza", "Bergamo", "Torino", "Genova")
# The DEMO.md operators first (assignment prefers earlier entries), then the background network,
# which has no login (unusable password) but does the work of the crowd.
OPERATORS: tuple[OperatorSpec, ...] = (
    OperatorSpec(
        "nurse.verdi@curaplus.example",
        "Francesca",
        "Verdi",
        "nurse",
        PROVIDER,
        ("Milano", "Monza", "Bergamo"),
        ("MS-ADHERE", "RA-HOME"),
        ("iv-infusion", "ms", "rheumatology"),
    ),
    OperatorSpec(
        "counsellor.neri@curaplus.example",
        "Silvia",
        "Neri",
        "counsellor",
        PROVIDER,
        TERRITORIES,
        ALL_PROGRAMS,
        ("italian", "english"),
    ),
    OperatorSpec(
        "driver.gallo@swiftmed.example",
        "Matteo",
        "Gallo",
        "logistics",
        LOGISTICS_PARTNER,
        NORTH,
        ALL_PROGRAMS,
        ("cold-chain", "hazardous-waste"),
        40,
    ),
    OperatorSpec(
        "nurse.moretti@curaplus.example",
        "Chiara",
        "Moretti",
        "nurse",
        PROVIDER,
        NORTH,
        ALL_PROGRAMS,
        ("iv-infusion", "self-injection"),
    ),
    OperatorSpec(
        "nurse.ricci@curaplus.example",
        "Elisa",
        "Ricci",
        "nurse",
        PROVIDER,
        ("Verona", "Padova", "Bologna", "Firenze"),
        ALL_PROGRAMS,
        ("iv-infusion", "self-injection"),
    ),
    OperatorSpec(
        "nurse.esposito@curaplus.example",
        "Simona",
        "Esposito",
        "nurse",
        PROVIDER,
        ("Roma", "Napoli", "Bari"),
        ALL_PROGRAMS,
        ("iv-infusion", "self-injection"),
    ),
    OperatorSpec(
        "counsellor.caruso@curaplus.example",
        "Irene",
        "Caruso",
        "counsellor",
        PROVIDER,
        TERRITORIES,
        ALL_PROGRAMS,
        ("italian",),
    ),
    OperatorSpec(
        "psychologist.galli@curaplus.example",
        "Martina",
        "Galli",
        "psychologist",
        PROVIDER,
        TERRITORIES,
        ("MS-ADHERE",),
        ("chronic-illness",),
        24,
    ),
    OperatorSpec(
        "dietitian.fontana@curaplus.example",
        "Valentina",
        "Fontana",
        "dietitian",
        PROVIDER,
        TERRITORIES,
        ("PSO-CARE",),
        capacity=24,
    ),
    OperatorSpec(
        "physio.barbieri@curaplus.example",
        "Roberto",
        "Barbieri",
        "physiotherapist",
        PROVIDER,
        (*NORTH, "Verona", "Padova"),
        ("RA-HOME",),
    ),
    OperatorSpec(
        "physio.lombardi@curaplus.example",
        "Giorgia",
        "Lombardi",
        "physiotherapist",
        PROVIDER,
        ("Bologna", "Firenze", "Roma", "Napoli", "Bari"),
        ("RA-HOME",),
    ),
    OperatorSpec(
        "pharmacist.marino@curaplus.example",
        "Fabio",
        "Marino",
        "pharmacist",
        PROVIDER,
        TERRITORIES,
        ("RA-HOME",),
        capacity=20,
    ),
    OperatorSpec(
        "driver.costa@swiftmed.example",
        "Nicola",
        "Costa",
        "logistics",
        LOGISTICS_PARTNER,
        ("Verona", "Padova", "Bologna", "Firenze", "Roma", "Napoli", "Bari"),
        ALL_PROGRAMS,
        ("cold-chain", "hazardous-waste"),
        40,
    ),
)

DOCTOR_OF_PROGRAM = {
    "MS-ADHERE": "dr.rossi@sanluca.example",
    "PSO-CARE": "dr.bianchi@sanluca.example",
    "RA-HOME": "dr.bianchi@sanluca.example",
}


def demo_emails() -> list[str]:
    """Every e-mail the seed creates: the DEMO.md accounts and the operator network."""
    return sorted({a.email for a in DEMO_ACCOUNTS} | {o.email for o in OPERATORS})


class DemoWorldConflict(Exception):
    """The database holds data the seed must not touch or mix with."""


def demo_world_state() -> str:
    """``"present"`` or ``"absent"``; raises DemoWorldConflict on anything in between."""
    emails = demo_emails()
    found = dict(User.objects.filter(email__in=emails).values_list("email", "is_demo"))
    strangers = sorted(email for email, is_demo in found.items() if not is_demo)
    if strangers:
        raise DemoWorldConflict(
            f"{', '.join(strangers)} already exist(s) as non-demo account(s); seed_demo never "
            "changes non-demo data. Use a fresh database or rename those accounts."
        )
    codes = [p.code for p in PROGRAMS]
    programs = set(Program.objects.filter(code__in=codes).values_list("code", flat=True))
    accounts = {a.email for a in DEMO_ACCOUNTS}
    if accounts <= found.keys() and programs == set(codes):
        return "present"
    if not found and not programs:
        return "absent"
    missing = sorted((accounts - found.keys()) | (set(codes) - programs))
    raise DemoWorldConflict(
        f"The demo world is only partly present (missing: {', '.join(missing)}), or its program "
        "codes are used by non-demo programs. Start from a fresh database (e.g. delete "
        "var/db.sqlite3 and run migrate), then run seed_demo again."
    )


# --- the world object the crowd builds on -------------------------------------------------------


@dataclass
class Seat:
    """An operator of the network with where and in which programs they work."""

    operator: Operator
    spec: OperatorSpec


@dataclass
class World:
    """The named world, as the crowd needs it."""

    now: dt.datetime
    today: dt.date
    orgs: dict[str, Organization]
    users: dict[str, User]
    products: dict[str, Product]
    programs: dict[str, Program]
    steps: dict[str, dict[str, CarePathwayStep]]
    seats: list[Seat]
    doctors: dict[str, Doctor]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def partner(self) -> Organization:
        return self.orgs[LOGISTICS_PARTNER]

    def user(self, email: str) -> User:
        return self.users[email]

    def operator(self, email: str) -> Operator:
        return next(s.operator for s in self.seats if s.spec.email == email)

    def team_for(self, program: str, territory: str, *, salt: int = 0) -> dict[str, Operator]:
        """One operator per role for a patient of ``program`` living in ``territory``."""
        team: dict[str, Operator] = {}
        by_role: dict[str, list[Seat]] = {}
        for seat in self.seats:
            if program in seat.spec.programs:
                by_role.setdefault(seat.spec.role, []).append(seat)
        for role, seats in by_role.items():
            local = [s for s in seats if territory in s.spec.territories] or seats
            # Program-wide roles (the contact centre) share the load; field roles go local-first.
            pick = local[salt % len(local)] if role == "counsellor" else local[0]
            team[role] = pick.operator
        return team

    def product_spec(self, key: str) -> ProductSpec:
        return next(p for p in PRODUCTS if p.key == key)


# --- building it --------------------------------------------------------------------------------


def build_world(*, now: dt.datetime) -> World:
    """Create the named world of DEMO.md; call only when ``demo_world_state()`` is absent."""
    today = today_in_rome(now)
    orgs: dict[str, Organization] = {}
    for name, kind, city in ORGANIZATIONS:
        orgs[name], _ = Organization.objects.get_or_create(
            name=name, defaults={"kind": kind, "city": city}
        )
    users = _create_users()
    admin = users["admin@curaplus.example"]
    ops = users["ops@curaplus.example"]
    provider = orgs[PROVIDER]

    for email, function in (
        ("admin@curaplus.example", ProviderStaff.Function.PROGRAM_MANAGER),
        ("ops@curaplus.example", ProviderStaff.Function.OPERATIONS),
    ):
        staff = ProviderStaff.objects.create(
            user=users[email], organization=provider, function=function
        )
        provider_staff_join(actor=admin, staff=staff)

    modules = ensure_catalog()
    products = _create_products(orgs)
    programs: dict[str, Program] = {}
    steps: dict[str, dict[str, CarePathwayStep]] = {}
    for spec in PROGRAMS:
        template, created = ProgramTemplate.objects.get_or_create(
            name=spec.template,
            defaults={
                "pathology": spec.pathology,
                "description": f"Modular base for {spec.pathology} programs.",
            },
        )
        if created:
            template.modules.set({modules[s.module] for s in spec.steps})
            create_pathway(
                steps=spec.steps,
                modules=modules,
                partner=orgs[LOGISTICS_PARTNER],
                template=template,
            )
        program = program_create(
            actor=admin,
            code=spec.code,
            name=spec.name,
            pathology=spec.pathology,
            sponsor=orgs[spec.sponsor],
            provider=provider,
            template=template,
            status=Program.Status.ACTIVE,
            start_date=today - relativedelta(months=spec.months_running),
            annual_budget_eur=Decimal(spec.budget_eur),
            adverse_event_sla_hours=spec.ae_sla_hours,
        )
        program.products.set([products[key] for key in spec.products])
        programs[spec.code] = program
        steps[spec.code] = create_pathway(
            steps=spec.steps, modules=modules, partner=orgs[LOGISTICS_PARTNER], program=program
        )

    for email, org, title in (
        ("medical@northwind.example", "Northwind Pharma", "Medical affairs manager"),
        ("medical@southwind.example", "Southwind Biotech", "Medical director"),
    ):
        client = ClientUser.objects.create(
            user=users[email], organization=orgs[org], job_title=title
        )
        client_user_join(actor=admin, client=client)

    doctors = {
        "dr.rossi@sanluca.example": Doctor.objects.create(
            user=users["dr.rossi@sanluca.example"],
            specialty="Neurology",
            hospital=orgs[HOSPITAL],
            licence_number="MI-04127",
        ),
        "dr.bianchi@sanluca.example": Doctor.objects.create(
            user=users["dr.bianchi@sanluca.example"],
            specialty="Dermatology and rheumatology",
            hospital=orgs[HOSPITAL],
            licence_number="MI-05388",
        ),
    }
    for code, email in DOCTOR_OF_PROGRAM.items():
        program_add_doctor(actor=admin, program=programs[code], doctor=doctors[email])

    seats = []
    for spec in OPERATORS:
        operator = Operator.objects.create(
            user=users[spec.email],
            role=spec.role,
            organization=orgs[spec.organization],
            territories=list(spec.territories),
            skills=list(spec.skills),
            weekly_capacity_hours=spec.capacity,
        )
        for code in spec.programs:
            program_add_operator(actor=admin, program=programs[code], operator=operator)
        seats.append(Seat(operator=operator, spec=spec))

    world = World(
        now=now,
        today=today,
        orgs=orgs,
        users=users,
        products=products,
        programs=programs,
        steps=steps,
        seats=seats,
        doctors={code: doctors[email] for code, email in DOCTOR_OF_PROGRAM.items()},
    )
    _named_patients(world, ops)
    return world


def _create_users() -> dict[str, User]:
    # One hash for every demo account: PBKDF2 costs ~0.4 s a hash and the password is public.
    password = make_password(settings.PSP_DEMO_PASSWORD)
    people = {a.email: (a.first_name, a.last_name) for a in DEMO_ACCOUNTS}
    people |= {o.email: (o.first_name, o.last_name) for o in OPERATORS if o.email not in people}
    demo_accounts = {a.email for a in DEMO_ACCOUNTS}
    rows = []
    for email, (first, last) in people.items():
        user = User(email=email, first_name=first, last_name=last, is_demo=True)
        if email in demo_accounts:
            user.password = password
        else:
            user.set_unusable_password()  # the background network works, but does not log in
        if email == "admin@curaplus.example":
            user.is_staff = user.is_superuser = True
        rows.append(user)
    return {u.email: u for u in User.objects.bulk_create(rows)}


def _create_products(orgs: dict[str, Organization]) -> dict[str, Product]:
    products = {}
    for spec in PRODUCTS:
        products[spec.key], _ = Product.objects.get_or_create(
            manufacturer=orgs[spec.maker],
            name=spec.name,
            defaults={
                "atc_code": spec.atc_code,
                "form": spec.form,
                "default_dose": spec.dose,
                "default_frequency": spec.frequency,
                "requires_cold_chain": spec.cold_chain,
            },
        )
    return products


# --- the named patients and their neighbours ----------------------------------------------------


@dataclass(frozen=True)
class PatientSpec:
    """A named patient (with or without a login) and where their timeline stands today."""

    first_name: str
    last_name: str
    sex: str
    birth_date: dt.date
    city: str
    postcode: str
    address: str
    program: str
    product: str
    start: dt.date
    risk: str
    email: str = ""
    operators: tuple[str, ...] = ()
    times: dict[str, dt.time] = field(default_factory=dict)
    device: str = ""
    weight_kg: float = 70.0
    phone: str = ""


def _day_of_month_back(target: dt.date, months: int) -> dt.date:
    """A start date ``months`` or more back whose monthly recurrence falls on ``target``."""
    for back in range(months, months + 4):
        start = target - relativedelta(months=back)
        if start.day == target.day:
            return start
    return target - relativedelta(months=months)


def _patient_specs(today: dt.date) -> list[PatientSpec]:
    weeks = dt.timedelta(weeks=1)
    days = dt.timedelta(days=1)
    ms_team = (
        "nurse.verdi@curaplus.example",
        "driver.gallo@swiftmed.example",
        "counsellor.neri@curaplus.example",
        "psychologist.galli@curaplus.example",
    )
    ra_team = (
        "nurse.verdi@curaplus.example",
        "driver.gallo@swiftmed.example",
        "counsellor.neri@curaplus.example",
        "physio.barbieri@curaplus.example",
    )
    return [
        # Anna: fourth monthly infusion today; delivery two days ago, waste pickup tomorrow.
        PatientSpec(
            "Anna",
            "Conti",
            "F",
            dt.date(1986, 5, 14),
            "Milano",
            "20127",
            "Via Padova 41",
            "MS-ADHERE",
            "neuvelizumab",
            today - 12 * weeks,
            "medium",
            email="anna.conti@example.com",
            operators=ms_team,
            times={"infusion": dt.time(9), "delivery": dt.time(10), "pickup": dt.time(15)},
            weight_kg=62.0,
            phone="+39 333 412 7788",
        ),
        # Marco: cold-chain pen delivery today; fortnightly calls; dietitian month 1 and 3.
        PatientSpec(
            "Marco",
            "Ferri",
            "M",
            dt.date(1979, 11, 2),
            "Monza",
            "20900",
            "Via Italia 7",
            "PSO-CARE",
            "dermakizumab",
            today + 2 * days - 8 * weeks,
            "low",
            email="marco.ferri@example.com",
            operators=(
                "nurse.moretti@curaplus.example",
                "driver.gallo@swiftmed.example",
                "counsellor.neri@curaplus.example",
                "dietitian.fontana@curaplus.example",
            ),
            times={"delivery": dt.time(11), "counselling": dt.time(17, 30)},
            device=Device.Kind.INJECTOR,
            weight_kg=84.0,
            phone="+39 347 221 0934",
        ),
        # Sara: infusion in two days, so her delivery is today.
        PatientSpec(
            "Sara",
            "Colombo",
            "F",
            dt.date(1991, 2, 20),
            "Milano",
            "20135",
            "Corso Lodi 88",
            "MS-ADHERE",
            "neuvelizumab",
            today + 2 * days - 8 * weeks,
            "low",
            operators=ms_team,
            times={"infusion": dt.time(9, 30), "delivery": dt.time(9), "pickup": dt.time(16)},
            weight_kg=58.0,
            phone="+39 340 118 2233",
        ),
        # Giorgio: infusion yesterday, waste pickup today.
        PatientSpec(
            "Giorgio",
            "Rinaldi",
            "M",
            dt.date(1972, 8, 9),
            "Monza",
            "20900",
            "Via Borgazzi 15",
            "MS-ADHERE",
            "neuvelizumab",
            today - days - 20 * weeks,
            "high",
            operators=ms_team,
            times={"infusion": dt.time(11), "delivery": dt.time(11), "pickup": dt.time(14, 30)},
            device=Device.Kind.BP_MONITOR,
            weight_kg=88.0,
            phone="+39 335 776 1200",
        ),
        # Elena: infusion tomorrow.
        PatientSpec(
            "Elena",
            "Ferraro",
            "F",
            dt.date(1983, 12, 1),
            "Milano",
            "20144",
            "Via Solari 23",
            "MS-ADHERE",
            "neuvelizumab",
            today + days - 16 * weeks,
            "medium",
            operators=ms_team,
            times={"infusion": dt.time(9), "delivery": dt.time(9, 30), "pickup": dt.time(17)},
            weight_kg=66.0,
            phone="+39 339 540 8812",
        ),
        # Rosa: monthly nurse visit this afternoon; tablets from a smart blister pack.
        PatientSpec(
            "Rosa",
            "Marchetti",
            "F",
            dt.date(1958, 3, 30),
            "Milano",
            "20131",
            "Via Pacini 12",
            "RA-HOME",
            "artrocitinib",
            _day_of_month_back(today, 5),
            "high",
            operators=(*ra_team, "pharmacist.marino@curaplus.example"),
            times={"nurse-visit": dt.time(15), "delivery": dt.time(10, 30)},
            device=Device.Kind.BLISTER,
            weight_kg=71.0,
            phone="+39 338 706 3311",
        ),
        # Paolo: monthly nurse visit in three days; weekly pen.
        PatientSpec(
            "Paolo",
            "Greco",
            "M",
            dt.date(1965, 7, 18),
            "Bergamo",
            "24121",
            "Via Pignolo 5",
            "RA-HOME",
            "reumetrex",
            _day_of_month_back(today + 3 * days, 3),
            "medium",
            operators=ra_team,
            times={"nurse-visit": dt.time(10), "delivery": dt.time(8, 30)},
            weight_kg=79.0,
            phone="+39 348 903 4455",
        ),
    ]


def _enrol(world: World, ops: User, spec: PatientSpec, user: User | None) -> Enrolment:
    """Register, refer (by the program's doctor), consent and activate one named patient."""
    doctor = world.doctors[spec.program]
    patient = patient_register(
        actor=doctor.user,
        first_name=spec.first_name,
        last_name=spec.last_name,
        user=user,
        birth_date=spec.birth_date,
        sex=spec.sex,
        email=spec.email,
        phone=spec.phone,
        address=spec.address,
        city=spec.city,
        postcode=spec.postcode,
        territory=spec.city,
    )
    product = world.product_spec(spec.product)
    enrolment = enrolment_refer(
        actor=doctor.user,
        patient=patient,
        program=world.programs[spec.program],
        product=world.products[spec.product],
        dose=product.dose,
        frequency=product.frequency,
        doses_per_week=product.doses_per_week,
    )
    version = f"{spec.program} v2.1"
    for kind in (
        Consent.Kind.PARTICIPATION,
        Consent.Kind.DATA_PROCESSING,
        Consent.Kind.CHANNEL_SMS,
        Consent.Kind.CHANNEL_EMAIL,
        Consent.Kind.CHANNEL_PHONE,
        *((Consent.Kind.CHANNEL_PUSH,) if user is not None else ()),
    ):
        consent_record(
            actor=ops, patient=patient, kind=kind, document_version=version, enrolment=enrolment
        )
    enrolment = enrolment_transition(
        actor=ops, enrolment=enrolment, to_status="active", on_date=spec.start
    )
    for email in spec.operators:
        enrolment_assign_operator(actor=ops, enrolment=enrolment, operator=world.operator(email))
    # The timeline happened weeks ago: move its clocks back (the audit trail keeps the real time).
    referred = at(spec.start - dt.timedelta(days=8), 11)
    Enrolment.objects.filter(pk=enrolment.pk).update(
        referred_at=referred,
        status_changed_at=at(spec.start, 9),
        risk_profile=spec.risk,
    )
    Patient.objects.filter(pk=patient.pk).update(created_at=referred)
    Consent.objects.filter(enrolment=enrolment).update(
        given_at=at(spec.start - dt.timedelta(days=4), 10)
    )
    enrolment.refresh_from_db()
    enrolment.patient = patient
    return enrolment


def _named_patients(world: World, ops: User) -> None:
    today, now = world.today, world.now
    rng = random.Random(2026)
    users = world.users
    anna_user = users["anna.conti@example.com"]
    luca_user = users["luca.conti@example.com"]
    luca = Caregiver.objects.create(user=luca_user, relationship_note="brother")

    plans: list[Plan] = []
    enrolments: dict[str, Enrolment] = {}
    for index, spec in enumerate(_patient_specs(today)):
        user = users.get(spec.email) if spec.email else None
        enrolment = _enrol(world, ops, spec, user)
        enrolments[spec.first_name] = enrolment
        device = None
        if spec.device:
            prefix = {"blister": "BLX", "injector": "INJ", "bp_monitor": "BPM"}[spec.device]
            device = Device.objects.create(
                serial=f"DEMO-{prefix}-{index + 1:05d}", kind=spec.device, enrolment=enrolment
            )
        steps = world.steps[spec.program]
        team = {
            world.operator(email).role: world.operator(email) for email in reversed(spec.operators)
        }
        authors: tuple[User | None, ...] = (user,)
        weights: tuple[float, ...] = (1.0,)
        if spec.first_name == "Anna":
            authors, weights = (anna_user, luca_user), (0.7, 0.3)
        plans.append(
            Plan(
                enrolment=enrolment,
                pathology=world.programs[spec.program].pathology,
                product=world.product_spec(spec.product),
                steps=list(steps.values()),
                start=spec.start,
                therapy_start=spec.start,
                last_day=today + dt.timedelta(weeks=6),
                history_end=today,
                team=team,
                partner=world.partner,
                risk=spec.risk,
                adherence=0.93 if spec.risk != "high" else 0.8,
                show_rate=1.0,
                times={steps[key].pk: when for key, when in spec.times.items()},
                authors=authors,
                author_weights=weights,
                device=device,
                measures_glucose=spec.first_name in ("Anna", "Marco", "Rosa"),
                weight_kg=spec.weight_kg,
                entry_rate=1.3 if user else 0.8,
                counsellor_user=users["counsellor.neri@curaplus.example"],
            )
        )
    # A few things did not go to plan, so that the timelines look real.
    ms, pso = world.steps["MS-ADHERE"], world.steps["PSO-CARE"]
    plans[0].overrides[(ms["adherence-call"].pk, 2)] = Activity.Status.MISSED
    plans[1].overrides[(pso["counselling"].pk, 2)] = Activity.Status.MISSED
    plans[3].overrides[(ms["adherence-call"].pk, 3)] = Activity.Status.MISSED

    # Luca may log doses and symptoms for his sister (but not send reports for her).
    delegation = delegation_grant(
        actor=anna_user,
        patient=enrolments["Anna"].patient,
        caregiver=luca,
        relationship="brother",
        can_log_diary=True,
        can_send_reports=False,
    )
    delegation.valid_from = at(plans[0].start - dt.timedelta(days=3), 18)
    delegation.save(update_fields=["valid_from"])

    world.counts.update(write_history(plans, now=now, rng=rng))
    _anna_extras(world, plans[0])
    _marco_extras(world, plans[1])
    _neighbour_extras(world, plans)
    _contact_choices(world, plans, ops)


def _contact_choices(world: World, plans: list[Plan], ops: User) -> None:
    """Message templates, call scripts and a few contact choices the demo shows off.

    Paolo told the contact centre he no longer wants SMS (his weekly reminders are skipped, the
    skip on his timeline); an e-mail to Giorgio bounced five times (failed, for staff to retry).
    """
    create_message_templates()
    create_call_scripts()
    paolo = next(p for p in plans if p.enrolment.patient.first_name == "Paolo").enrolment
    sms = Consent.objects.get(
        patient=paolo.patient, kind=Consent.Kind.CHANNEL_SMS, withdrawn_at__isnull=True
    )
    consent_withdraw(actor=ops, consent=sms)
    giorgio = next(p for p in plans if p.enrolment.patient.first_name == "Giorgio").enrolment
    bounced = world.now - dt.timedelta(hours=3)
    Message.objects.create(
        patient=giorgio.patient,
        enrolment=giorgio,
        purpose=Purpose.REPORT_NOTIFICATION,
        channel=Channel.EMAIL,
        to_address="giorgio.rinaldi@mail.example",
        subject="Your monthly adherence report",
        body="Giorgio, your monthly adherence report is ready in the portal.",
        status=Message.Status.FAILED,
        attempts=5,
        last_error="550 5.1.1 mailbox unavailable",
        created_at=bounced - dt.timedelta(hours=31),
        due_at=bounced - dt.timedelta(hours=31),
        failed_at=bounced,
    )


def _sla(world: World, code: str) -> dt.timedelta:
    return dt.timedelta(hours=world.programs[code].adverse_event_sla_hours)


def _find(plan: Plan, step: CarePathwayStep, k: int) -> Activity:
    return next(a for a in plan.activities if a.step_id == step.pk and a.occurrence == k)


def _anna_extras(world: World, plan: Plan) -> None:
    today, users = world.today, world.users
    enrolment = plan.enrolment
    patient = enrolment.patient
    anna = users["anna.conti@example.com"]
    rossi = users["dr.rossi@sanluca.example"]
    verdi = users["nurse.verdi@curaplus.example"]
    neri = users["counsellor.neri@curaplus.example"]
    steps = world.steps["MS-ADHERE"]
    infusion_today = _find(plan, steps["infusion"], 4)
    infusion_3 = _find(plan, steps["infusion"], 3)
    infusion_2 = _find(plan, steps["infusion"], 2)
    galli = world.operator("psychologist.galli@curaplus.example")

    session_done = at(today - dt.timedelta(days=35), 17)
    session_next = at(today + dt.timedelta(days=6), 17)
    Activity.objects.bulk_create(
        [
            Activity(
                enrolment=enrolment,
                step=steps["psychologist"],
                module=steps["psychologist"].module,
                occurrence=1,
                assignee=galli,
                scheduled_start=session_done,
                scheduled_end=session_done + dt.timedelta(minutes=50),
                status=Activity.Status.DONE,
                completed_at=session_done + dt.timedelta(minutes=50),
                outcome_notes="Talked about fatigue at work; coping plan agreed.",
            ),
            Activity(
                enrolment=enrolment,
                step=steps["psychologist"],
                module=steps["psychologist"].module,
                occurrence=2,
                assignee=galli,
                scheduled_start=session_next,
                scheduled_end=session_next + dt.timedelta(minutes=50),
                status=Activity.Status.CONFIRMED,
            ),
            Activity(
                enrolment=enrolment,
                module=ServiceModule.objects.get(code="counselling-call"),
                assignee=world.operator("counsellor.neri@curaplus.example"),
                scheduled_start=at(today, 16),
                scheduled_end=at(today, 16, 20),
                status=Activity.Status.PLANNED,
                status_reason="Call back: delivery window for next month.",
            ),
        ]
    )

    asked = at(infusion_3.scheduled_start.astimezone(ROME).date() + dt.timedelta(days=3), 19, 40)
    question = Report.objects.create(
        enrolment=enrolment,
        kind=Report.Kind.PATIENT_TO_DOCTOR,
        author=anna,
        recipient=rossi,
        subject="Tingling in my left hand since the last infusion",
        body=(
            "Dear Doctor, since the infusion on Tuesday I have had tingling in my left hand, "
            "mostly in the evening. It is not painful. Should I worry?"
        ),
        created_at=asked,
    )
    reply = Report.objects.create(
        enrolment=enrolment,
        kind=Report.Kind.DOCTOR_REPLY,
        author=rossi,
        recipient=anna,
        in_reply_to=question,
        subject="Re: Tingling in my left hand since the last infusion",
        body=(
            "Thank you for writing. Short-lived tingling is not unusual; please keep noting it in "
            "the diary. If it lasts more than a week or gets worse, call the ward and we will see "
            "you earlier than the planned visit."
        ),
        created_at=asked + dt.timedelta(hours=13),
    )
    visit = Report.objects.create(
        enrolment=enrolment,
        kind=Report.Kind.VISIT,
        author=verdi,
        recipient=rossi,
        subject="Home infusion 3: visit report",
        body=(
            "Infusion of 300 mg completed in 60 minutes, observed for a further 60 minutes. "
            "BP 118/76 mmHg before and 121/78 after, HR 72 bpm, T 36.6 °C. No reaction. "
            "Patient reports evening fatigue; advised to log it in the diary."
        ),
        created_at=infusion_3.scheduled_end + dt.timedelta(minutes=30),
    )
    period_end = today - dt.timedelta(days=7)
    Report.objects.create(  # unread on purpose: the doctor portal shows one new report
        enrolment=enrolment,
        kind=Report.Kind.ADHERENCE,
        recipient=rossi,
        subject=f"Adherence report {period_end - dt.timedelta(days=27):%d/%m} – {period_end:%d/%m}",
        body=(
            "Infusions performed on schedule: 1 of 1. Adherence calls reached: 1. "
            "Diary: symptoms logged on 9 days (mostly fatigue, severity 2–4)."
        ),
        period_start=period_end - dt.timedelta(days=27),
        period_end=period_end,
        created_at=at(period_end + dt.timedelta(days=1), 6),
    )
    ReportReceipt.objects.bulk_create(
        [
            ReportReceipt(report=question, reader=rossi, read_at=asked + dt.timedelta(hours=12)),
            ReportReceipt(report=reply, reader=anna, read_at=asked + dt.timedelta(hours=15)),
            ReportReceipt(report=visit, reader=rossi, read_at=visit.created_at + dt.timedelta(1)),
        ]
    )

    onset = infusion_2.scheduled_start.astimezone(ROME).date() + dt.timedelta(days=1)
    aware = at(onset + dt.timedelta(days=1), 10, 30)
    AdverseEvent.objects.create(
        enrolment=enrolment,
        reported_by=neri,
        channel="phone",
        description="Headache and marked fatigue for two days after the infusion.",
        seriousness=AdverseEvent.Seriousness.NON_SERIOUS,
        onset_date=onset,
        aware_at=aware,
        forward_due_at=aware + _sla(world, "MS-ADHERE"),
        forwarded_at=aware + dt.timedelta(hours=5),
        status=AdverseEvent.Status.FORWARDED,
    )

    opened = at(today - dt.timedelta(days=9), 11, 5)
    case = Case.objects.create(
        patient=patient,
        enrolment=enrolment,
        subject="Move deliveries to the morning",
        category="delivery",
        status=Case.Status.RESOLVED,
        opened_by=neri,
        assigned_to=neri,
        opened_at=opened,
        closed_at=opened + dt.timedelta(hours=26),
    )
    Interaction.objects.bulk_create(
        [
            Interaction(
                patient=patient,
                enrolment=enrolment,
                case=case,
                channel="chat",
                direction="in",
                occurred_at=opened,
                handled_by=neri,
                summary="Asked whether deliveries can arrive before noon (works afternoons).",
            ),
            Interaction(
                patient=patient,
                enrolment=enrolment,
                case=case,
                channel="phone",
                direction="out",
                occurred_at=opened + dt.timedelta(hours=26),
                handled_by=neri,
                summary="Confirmed the 8–12 delivery window with SwiftMed.",
            ),
            Interaction(
                patient=patient,
                enrolment=enrolment,
                channel="app",
                direction="out",
                occurred_at=session_done,
                handled_by=galli.user,
                summary="Psychologist session by video call.",
            ),
            Interaction(
                patient=patient,
                enrolment=enrolment,
                channel="email",
                direction="out",
                occurred_at=at(period_end + dt.timedelta(days=1), 6),
                summary="Monthly adherence report sent to the specialist.",
            ),
        ]
    )

    yesterday_evening = at(today - dt.timedelta(days=1), 18)
    context = {"activity": infusion_today.pk}
    sent = Message.Status.SENT
    Message.objects.bulk_create(
        [
            Message(
                patient=enrolment.patient,
                recipient=anna,
                enrolment=enrolment,
                activity=infusion_today,
                purpose=Purpose.ACTIVITY_CONFIRMATION,
                channel=Channel.PUSH,
                to_address=anna.email,
                body="Reminder: your infusion is tomorrow. Reply or call us to change it.",
                context=context,
                due_at=yesterday_evening,
                sent_at=yesterday_evening,
                created_at=yesterday_evening,
                attempts=1,
                status=sent,
            ),
            Message(
                patient=enrolment.patient,
                enrolment=enrolment,
                activity=infusion_today,
                purpose=Purpose.ACTIVITY_CONFIRMATION,
                channel=Channel.SMS,
                to_address=enrolment.patient.phone,
                body="Reminder: Anna's infusion is tomorrow.",
                context=context,
                due_at=yesterday_evening,
                sent_at=yesterday_evening,
                created_at=yesterday_evening,
                attempts=1,
                status=sent,
            ),
            Message(
                patient=enrolment.patient,
                recipient=anna,
                enrolment=enrolment,
                purpose=Purpose.REPORT_NOTIFICATION,
                channel=Channel.IN_APP,
                body="Dr. Rossi replied to your report.",
                context={"report": reply.pk},
                due_at=reply.created_at,
                sent_at=reply.created_at,
                created_at=reply.created_at,
                attempts=1,
                status=sent,
                read_at=reply.created_at + dt.timedelta(hours=2),
            ),
        ]
    )
    PointsAward.objects.bulk_create(
        [
            PointsAward(
                enrolment=enrolment,
                points=20,
                reason="Diary kept for 7 days in a row",
                awarded_at=at(plan.start + dt.timedelta(days=7 * week), 21, 30),
            )
            for week in range(1, 12)
            if plan.start + dt.timedelta(days=7 * week) < today
        ]
    )
    BadgeAward.objects.bulk_create(
        [
            BadgeAward(
                enrolment=enrolment,
                code="first-week",
                awarded_at=at(plan.start + dt.timedelta(days=7), 21, 30),
            ),
            BadgeAward(
                enrolment=enrolment,
                code="diary-30-days",
                awarded_at=at(plan.start + dt.timedelta(days=30), 21, 30),
            ),
        ]
    )


def _marco_extras(world: World, plan: Plan) -> None:
    today, now, users = world.today, world.now, world.users
    enrolment = plan.enrolment
    patient = enrolment.patient
    marco = users["marco.ferri@example.com"]
    bianchi = users["dr.bianchi@sanluca.example"]
    neri = users["counsellor.neri@curaplus.example"]
    asked = at(today - dt.timedelta(days=12), 21, 10)
    question = Report.objects.create(
        enrolment=enrolment,
        kind=Report.Kind.PATIENT_TO_DOCTOR,
        author=marco,
        recipient=bianchi,
        subject="Plaques on the elbows are getting smaller",
        body="The plaques on both elbows are clearly smaller; itching only at night now.",
        created_at=asked,
    )
    Report.objects.create(
        enrolment=enrolment,
        kind=Report.Kind.DOCTOR_REPLY,
        author=bianchi,
        recipient=marco,
        in_reply_to=question,
        subject="Re: Plaques on the elbows are getting smaller",
        body="Very good news. Keep the same schedule; we will assess PASI at the 12-week visit.",
        created_at=asked + dt.timedelta(hours=14),
    )
    ReportReceipt.objects.create(
        report=question, reader=bianchi, read_at=asked + dt.timedelta(hours=13)
    )
    aware = now - dt.timedelta(hours=6)
    AdverseEvent.objects.create(
        enrolment=enrolment,
        reported_by=marco,
        channel="app",
        description="Redness and swelling about 4 cm wide at the injection site (abdomen).",
        seriousness=AdverseEvent.Seriousness.NON_SERIOUS,
        onset_date=today - dt.timedelta(days=2),
        aware_at=aware,
        forward_due_at=aware + _sla(world, "PSO-CARE"),
    )
    Case.objects.create(
        patient=patient,
        enrolment=enrolment,
        subject="Travelling abroad with the pens",
        category="therapy question",
        status=Case.Status.OPEN,
        opened_by=neri,
        assigned_to=neri,
        opened_at=now - dt.timedelta(hours=20),
    )
    delivery = next(
        a
        for a in plan.activities
        if a.module.code == "drug-delivery" and a.scheduled_start.astimezone(ROME).date() == today
    )
    due = at(today, 7)
    Message.objects.create(
        patient=enrolment.patient,
        enrolment=enrolment,
        activity=delivery,
        purpose=Purpose.ACTIVITY_CONFIRMATION,
        channel=Channel.SMS,
        to_address=enrolment.patient.phone,
        body="Your medicines arrive today between 9 and 13.",
        context={"activity": delivery.pk},
        due_at=due,
        next_attempt_at=due,
        created_at=min(due, now),
        sent_at=due if due <= now else None,
        attempts=1 if due <= now else 0,
        status=Message.Status.SENT if due <= now else Message.Status.QUEUED,
    )
    BadgeAward.objects.create(
        enrolment=enrolment, code="first-injection", awarded_at=at(plan.start, 12)
    )


def _neighbour_extras(world: World, plans: list[Plan]) -> None:
    today = world.today
    sara = next(p for p in plans if p.enrolment.patient.first_name == "Sara")
    Activity.objects.create(
        enrolment=sara.enrolment,
        module=ServiceModule.objects.get(code="counselling-call"),
        assignee=world.operator("counsellor.neri@curaplus.example"),
        scheduled_start=at(today, 11, 30),
        scheduled_end=at(today, 11, 50),
        status=Activity.Status.CONFIRMED,
        status_reason="Pre-infusion check: confirm the nurse's arrival time.",
    )
