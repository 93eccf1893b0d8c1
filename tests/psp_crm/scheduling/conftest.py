"""A small pathway world for the engine tests, with a fixed ``TODAY`` passed explicitly."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from psp_crm.models import (
    CarePathwayStep,
    Enrolment,
    Operator,
    Program,
    ServiceModule,
    User,
)
from tests.factories import (
    ConsentFactory,
    EnrolmentFactory,
    LogisticsFactory,
    OperatorFactory,
    PatientFactory,
    ProductFactory,
    ProgramFactory,
    ProviderFactory,
    ProviderStaffFactory,
)

TODAY = dt.date(2027, 3, 1)  # a Monday, far from the demo world's own dates
STEP = CarePathwayStep.Anchor.STEP
THERAPY = CarePathwayStep.Anchor.THERAPY_START


@dataclass
class PathwayWorld:
    program: Program
    staff: User
    nurse: Operator
    driver: Operator
    counsellor: Operator
    infusion: CarePathwayStep
    delivery: CarePathwayStep
    pickup: CarePathwayStep
    call: CarePathwayStep
    dietitian: CarePathwayStep
    high_risk: CarePathwayStep
    on_request: CarePathwayStep
    partner_id: int

    def enrol(self, *, territory: str = "MI", risk: str = "low", **extra) -> Enrolment:
        patient = PatientFactory(territory=territory)
        ConsentFactory(patient=patient)
        return EnrolmentFactory(
            patient=patient,
            program=self.program,
            status=Enrolment.Status.ACTIVE,
            start_date=extra.pop("start_date", TODAY),
            therapy_start_date=extra.pop("therapy_start_date", TODAY),
            risk_profile=risk,
            product=self.program.products.first(),
            **extra,
        )


def module(code: str) -> ServiceModule:
    return ServiceModule.objects.get(code=code)


@pytest.fixture
def pw(demo_world) -> PathwayWorld:
    provider = ProviderFactory()
    partner = LogisticsFactory()
    program = ProgramFactory(provider=provider)
    product = ProductFactory(requires_cold_chain=True)
    program.products.add(product)
    staff = ProviderStaffFactory(organization=provider).user
    nurse = OperatorFactory(organization=provider, programs=[program], skills=["iv-infusion"])
    driver = OperatorFactory(
        organization=partner, role=Operator.Role.LOGISTICS, programs=[program], territories=[]
    )
    counsellor = OperatorFactory(
        organization=provider, role=Operator.Role.COUNSELLOR, programs=[program], territories=[]
    )

    def step(code: str, name: str, **fields) -> CarePathwayStep:
        m = module(code)
        fields.setdefault("performer_role", m.performer_role)
        return CarePathwayStep.objects.create(program=program, module=m, name=name, **fields)

    infusion = step(
        "home-infusion",
        "Infusion",
        anchor=THERAPY,
        rrule="FREQ=WEEKLY;INTERVAL=4",
        window_start=dt.time(9),
        window_end=dt.time(13),
        duration_minutes=120,
        required_skills=["iv-infusion"],
        reschedule_policy=CarePathwayStep.ReschedulePolicy.NEXT_DAY,
    )
    delivery = step(
        "drug-delivery",
        "Delivery",
        anchor=STEP,
        anchor_step=infusion,
        offset_days=-2,
        partner=partner,
        window_start=dt.time(8),
        window_end=dt.time(12),
    )
    pickup = step(
        "waste-pickup",
        "Pickup",
        anchor=STEP,
        anchor_step=infusion,
        offset_days=1,
        partner=partner,
        window_start=dt.time(14),
        window_end=dt.time(18),
    )
    call = step(
        "adherence-check-call",
        "Call",
        offset_days=14,
        rrule="FREQ=MONTHLY;INTERVAL=1",
        window_start=dt.time(10),
    )
    # Nobody staffs the program as a dietitian: this one lands in the unassigned queue.
    dietitian = step("dietitian-session", "Dietitian", offset_days=30)
    high_risk = step(
        "pharmacist-call", "Pharmacist", offset_days=21, risk_profiles=["high"], rrule=""
    )
    on_request = step("psychologist-session", "Psychologist", on_request=True)
    return PathwayWorld(
        program=program,
        staff=staff,
        nurse=nurse,
        driver=driver,
        counsellor=counsellor,
        infusion=infusion,
        delivery=delivery,
        pickup=pickup,
        call=call,
        dietitian=dietitian,
        high_risk=high_risk,
        on_request=on_request,
        partner_id=partner.pk,
    )
