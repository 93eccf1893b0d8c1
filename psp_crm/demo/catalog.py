"""The standard service-module catalog, the products and the care pathways of the demo programs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..models import (
    CarePathwayStep,
    Organization,
    Program,
    ProgramTemplate,
    ServiceModule,
)

HOME = ServiceModule.Channel.HOME_VISIT
PHONE = ServiceModule.Channel.PHONE
VIDEO = ServiceModule.Channel.VIDEO
LOGISTICS = ServiceModule.Channel.LOGISTICS
DIGITAL = ServiceModule.Channel.DIGITAL


@dataclass(frozen=True)
class ModuleSpec:
    """One entry of the provider's service catalog."""

    code: str
    name: str
    performer_role: str
    minutes: int
    channel: str
    is_clinical: bool
    description: str


# DESIGN.md §3: what the provider sells. Logistics modules carry no clinical data.
SERVICE_MODULES: tuple[ModuleSpec, ...] = (
    ModuleSpec(
        "nurse-home-visit",
        "Nurse home visit",
        "nurse",
        60,
        HOME,
        True,
        "Clinical check at home: vital signs, therapy review, education.",
    ),
    ModuleSpec(
        "home-infusion",
        "Home infusion",
        "nurse",
        120,
        HOME,
        True,
        "Intravenous infusion at home with post-infusion observation.",
    ),
    ModuleSpec(
        "drug-delivery",
        "Drug delivery",
        "logistics",
        30,
        LOGISTICS,
        False,
        "Delivery of the drug and consumables, with cold chain where required.",
    ),
    ModuleSpec(
        "waste-pickup",
        "Medical-waste pickup",
        "logistics",
        20,
        LOGISTICS,
        False,
        "Collection of sharps and medical waste after administration.",
    ),
    ModuleSpec(
        "counselling-call",
        "Counselling call",
        "counsellor",
        20,
        PHONE,
        True,
        "Contact-centre call: questions, motivation, organisation of services.",
    ),
    ModuleSpec(
        "psychologist-session",
        "Psychologist session",
        "psychologist",
        50,
        VIDEO,
        True,
        "Psychological support session by video call.",
    ),
    ModuleSpec(
        "dietitian-session",
        "Dietitian session",
        "dietitian",
        45,
        VIDEO,
        True,
        "Nutrition assessment and diet plan.",
    ),
    ModuleSpec(
        "physiotherapy",
        "Physiotherapy session",
        "physiotherapist",
        60,
        HOME,
        True,
        "Joint mobility and exercise programme at home.",
    ),
    ModuleSpec(
        "pharmacist-call",
        "Pharmacist call",
        "pharmacist",
        20,
        PHONE,
        True,
        "Therapy review: interactions, side effects, storage.",
    ),
    ModuleSpec(
        "adherence-check-call",
        "Adherence check call",
        "counsellor",
        15,
        PHONE,
        True,
        "Structured call on doses taken, missed and the reasons.",
    ),
    ModuleSpec(
        "self-injection-training",
        "Self-injection training",
        "nurse",
        60,
        HOME,
        True,
        "Training on the pre-filled pen: technique, sites, storage, disposal.",
    ),
    ModuleSpec(
        "hospital-visit-reminder",
        "Hospital-visit reminder",
        "",
        5,
        DIGITAL,
        True,
        "Automatic reminder of the next specialist visit (app, SMS or e-mail).",
    ),
    ModuleSpec(
        "self-administration",
        "Self-administration",
        "",
        5,
        DIGITAL,
        True,
        "The patient takes the dose at home and logs it in the diary; reminders are automatic.",
    ),
)


def ensure_catalog() -> dict[str, ServiceModule]:
    """Create the missing catalog modules; existing ones (by code) are left as they are."""
    existing = {m.code: m for m in ServiceModule.objects.filter(code__in=_codes())}
    missing = [
        ServiceModule(
            code=s.code,
            name=s.name,
            performer_role=s.performer_role,
            default_duration_minutes=s.minutes,
            channel=s.channel,
            is_clinical=s.is_clinical,
            description=s.description,
        )
        for s in SERVICE_MODULES
        if s.code not in existing
    ]
    for module in ServiceModule.objects.bulk_create(missing):
        existing[module.code] = module
    return existing


def _codes() -> list[str]:
    return [s.code for s in SERVICE_MODULES]


@dataclass(frozen=True)
class ProductSpec:
    """A realistic-but-fictional drug."""

    key: str
    name: str
    atc_code: str
    form: str
    maker: str
    dose: str
    frequency: str
    doses_per_week: float
    cold_chain: bool


PRODUCTS: tuple[ProductSpec, ...] = (
    ProductSpec(
        "neuvelizumab",
        "Neuvelizumab 300 mg concentrate for infusion",
        "L04AG",
        "infusion",
        "Northwind Pharma",
        "300 mg IV",
        "every 4 weeks",
        0.25,
        True,
    ),
    ProductSpec(
        "dermakizumab",
        "Dermakizumab 150 mg pre-filled pen",
        "L04AC",
        "injection",
        "Northwind Pharma",
        "300 mg SC (2 pens)",
        "weekly for 5 weeks, then every 4 weeks",
        0.25,
        True,
    ),
    ProductSpec(
        "artrocitinib",
        "Artrocitinib 15 mg tablets",
        "L04AF",
        "tablet",
        "Southwind Biotech",
        "15 mg",
        "once daily",
        7,
        False,
    ),
    ProductSpec(
        "reumetrex",
        "Reumetrex 15 mg pre-filled pen",
        "L04AX",
        "injection",
        "Southwind Biotech",
        "15 mg SC",
        "once weekly",
        1,
        False,
    ),
)


@dataclass(frozen=True)
class StepSpec:
    """One care-pathway step, written once and applied to a program and to its template."""

    key: str
    module: str
    name: str
    anchor: str = CarePathwayStep.Anchor.ENROLMENT_START
    anchor_key: str = ""
    offset_days: int = 0
    rrule: str = ""
    occurrence_limit: int | None = None
    window: tuple[int, int] = (9, 13)
    duration: int | None = None
    partner: bool = False
    on_request: bool = False
    risk_profiles: tuple[str, ...] = ()


THERAPY = CarePathwayStep.Anchor.THERAPY_START
STEP = CarePathwayStep.Anchor.STEP


@dataclass(frozen=True)
class ProgramSpec:
    """A demo program with its template and its notable pathway (DEMO.md)."""

    code: str
    name: str
    pathology: str
    sponsor: str
    products: tuple[str, ...]
    template: str
    months_running: int
    budget_eur: int
    ae_sla_hours: int
    steps: tuple[StepSpec, ...]


PROGRAMS: tuple[ProgramSpec, ...] = (
    ProgramSpec(
        code="MS-ADHERE",
        name="Multiple sclerosis adherence",
        pathology="multiple sclerosis",
        sponsor="Northwind Pharma",
        products=("neuvelizumab",),
        template="Multiple sclerosis — home infusion",
        months_running=14,
        budget_eur=480_000,
        ae_sla_hours=24,
        steps=(
            StepSpec(
                "infusion",
                "home-infusion",
                "Monthly home infusion",
                anchor=THERAPY,
                rrule="FREQ=WEEKLY;INTERVAL=4",
                window=(9, 13),
                duration=120,
            ),
            StepSpec(
                "delivery",
                "drug-delivery",
                "Drug delivery before the infusion",
                anchor=STEP,
                anchor_key="infusion",
                offset_days=-2,
                window=(8, 12),
                partner=True,
            ),
            StepSpec(
                "pickup",
                "waste-pickup",
                "Medical-waste pickup after the infusion",
                anchor=STEP,
                anchor_key="infusion",
                offset_days=1,
                window=(14, 18),
                partner=True,
            ),
            StepSpec(
                "adherence-call",
                "adherence-check-call",
                "Monthly adherence call",
                offset_days=14,
                rrule="FREQ=MONTHLY;INTERVAL=1",
                window=(10, 18),
            ),
            StepSpec(
                "psychologist",
                "psychologist-session",
                "Psychologist session on request",
                on_request=True,
                window=(14, 19),
            ),
        ),
    ),
    ProgramSpec(
        code="PSO-CARE",
        name="Psoriasis self-injection support",
        pathology="psoriasis",
        sponsor="Northwind Pharma",
        products=("dermakizumab",),
        template="Psoriasis — self-injection",
        months_running=13,
        budget_eur=260_000,
        ae_sla_hours=24,
        steps=(
            StepSpec(
                "training",
                "self-injection-training",
                "Self-injection training at start",
                anchor=THERAPY,
                occurrence_limit=1,
                window=(9, 18),
            ),
            StepSpec(
                "counselling",
                "counselling-call",
                "Fortnightly counselling call",
                offset_days=7,
                rrule="FREQ=WEEKLY;INTERVAL=2",
                window=(10, 18),
            ),
            StepSpec(
                "dietitian-m1",
                "dietitian-session",
                "Dietitian session (month 1)",
                offset_days=30,
                window=(14, 18),
            ),
            StepSpec(
                "dietitian-m3",
                "dietitian-session",
                "Dietitian session (month 3)",
                offset_days=90,
                window=(14, 18),
            ),
            StepSpec(
                "delivery",
                "drug-delivery",
                "Cold-chain pen delivery",
                anchor=THERAPY,
                offset_days=-2,
                rrule="FREQ=WEEKLY;INTERVAL=4",
                window=(8, 12),
                partner=True,
            ),
        ),
    ),
    ProgramSpec(
        code="RA-HOME",
        name="Rheumatoid arthritis at home",
        pathology="rheumatoid arthritis",
        sponsor="Southwind Biotech",
        products=("reumetrex", "artrocitinib"),
        template="Rheumatoid arthritis — care at home",
        months_running=16,
        budget_eur=350_000,
        ae_sla_hours=48,
        steps=(
            StepSpec(
                "self-administration",
                "self-administration",
                "Weekly self-administration",
                anchor=THERAPY,
                rrule="FREQ=WEEKLY;INTERVAL=1",
                window=(8, 10),
            ),
            StepSpec(
                "nurse-visit",
                "nurse-home-visit",
                "Monthly nurse visit",
                rrule="FREQ=MONTHLY;INTERVAL=1",
                window=(9, 18),
            ),
            StepSpec(
                "physiotherapy",
                "physiotherapy",
                "Quarterly physiotherapy",
                offset_days=14,
                rrule="FREQ=MONTHLY;INTERVAL=3",
                window=(9, 17),
            ),
            StepSpec(
                "delivery",
                "drug-delivery",
                "Monthly drug delivery",
                anchor=THERAPY,
                offset_days=-2,
                rrule="FREQ=MONTHLY;INTERVAL=1",
                window=(8, 12),
                partner=True,
            ),
            StepSpec(
                "pharmacist",
                "pharmacist-call",
                "Therapy review call (high risk)",
                offset_days=21,
                rrule="FREQ=MONTHLY;INTERVAL=2",
                window=(10, 17),
                risk_profiles=("high",),
            ),
        ),
    ),
)


def create_pathway(
    *,
    steps: tuple[StepSpec, ...],
    modules: dict[str, ServiceModule],
    partner: Organization,
    program: Program | None = None,
    template: ProgramTemplate | None = None,
) -> dict[str, CarePathwayStep]:
    """Create the steps of one program or template, anchors first; keyed by the spec's key."""
    created: dict[str, CarePathwayStep] = {}
    for position, spec in enumerate(steps, start=1):
        module = modules[spec.module]
        created[spec.key] = CarePathwayStep.objects.create(
            program=program,
            template=template,
            module=module,
            name=spec.name,
            anchor=spec.anchor,
            anchor_step=created[spec.anchor_key] if spec.anchor_key else None,
            offset_days=spec.offset_days,
            rrule=spec.rrule,
            occurrence_limit=spec.occurrence_limit,
            risk_profiles=list(spec.risk_profiles),
            performer_role=module.performer_role,
            partner=partner if spec.partner else None,
            window_start=dt.time(spec.window[0]),
            window_end=dt.time(spec.window[1]),
            duration_minutes=spec.duration or module.default_duration_minutes,
            on_request=spec.on_request,
            position=position * 10,
        )
    return created
