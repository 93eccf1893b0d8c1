"""The demo-world seeder: DEMO.md's accounts and profiles, idempotency, safety with real data."""

from __future__ import annotations

import datetime as dt
import random
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from psp_crm import access
from psp_crm.demo.crowd import _draw
from psp_crm.demo.world import DEMO_ACCOUNTS
from psp_crm.models import (
    Activity,
    AdverseEvent,
    CarePathwayStep,
    Delegation,
    Device,
    DiaryEntry,
    Enrolment,
    Organization,
    Patient,
    Product,
    Program,
    ProgramTemplate,
    ServiceModule,
    User,
)

DEMO_PASSWORD = "demo-psp-2026"
CODES = {"MS-ADHERE", "PSO-CARE", "RA-HOME"}


def _counts() -> dict[str, int]:
    """Rows of every model of the project (and the auth groups and memberships)."""
    counts = {m._meta.label: m.objects.count() for m in apps.get_app_config("psp_crm").get_models()}
    counts["auth.Group"] = Group.objects.count()
    counts["user_groups"] = User.groups.through.objects.count()
    return counts


def _codes(programs) -> set[str]:
    return set(programs.values_list("code", flat=True))


def _wipe_demo_world() -> None:
    """Delete the demo world inside the test's transaction (rolled back afterwards)."""
    AdverseEvent.objects.all().delete()
    Activity.objects.all().delete()
    Device.objects.all().delete()
    Enrolment.objects.all().delete()
    Patient.objects.all().delete()
    CarePathwayStep.objects.filter(anchor_step__isnull=False).delete()
    CarePathwayStep.objects.all().delete()
    Program.objects.all().delete()
    ProgramTemplate.objects.all().delete()
    ServiceModule.objects.all().delete()
    Product.objects.all().delete()
    User.objects.filter(is_demo=True).delete()
    Organization.objects.all().delete()


@pytest.fixture
def run_seed():
    def run(**options) -> str:
        out = StringIO()
        call_command("seed_demo", stdout=out, **{"crowd": 12, "force": True, **options})
        return out.getvalue()

    return run


# --- idempotency and refusals -------------------------------------------------------------------


def test_second_run_changes_nothing(demo_world, run_seed, django_assert_max_num_queries):
    before = _counts()
    with django_assert_max_num_queries(3):  # detecting the world is all it does
        run_seed(verbosity=0)
    assert _counts() == before


def test_second_run_says_the_world_is_present(demo_world, run_seed):
    out = run_seed(verbosity=1)
    assert "demo world already present" in out
    assert "anna.conti@example.com" in out  # the accounts table


def test_refuses_when_debug_is_off(settings, demo_world, run_seed):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", crowd=0, verbosity=0)
    assert "demo world already present" in run_seed(verbosity=1)  # --force goes ahead


def test_refuses_a_demo_address_held_by_a_real_account(demo_world, run_seed):
    User.objects.filter(email="luca.conti@example.com").update(is_demo=False)
    before = _counts()
    with pytest.raises(CommandError, match=r"luca\.conti@example\.com .*non-demo"):
        run_seed(verbosity=0)
    assert _counts() == before


def test_refuses_a_partial_world(demo_world, run_seed):
    User.objects.filter(email="marco.ferri@example.com").delete()
    with pytest.raises(CommandError, match="only partly present"):
        run_seed(verbosity=0)


def test_fresh_seed_leaves_non_demo_data_alone(demo_world, run_seed):
    _wipe_demo_world()
    charlie = User.objects.create_user(
        "charlie@outsider.example", password="not-the-demo-one", first_name="Charlie"
    )
    provider = Organization.objects.create(name="Other Care", kind=Organization.Kind.PROVIDER)
    sponsor = Organization.objects.create(name="Other Pharma", kind=Organization.Kind.PHARMA)
    program = Program.objects.create(
        code="CARDIO-ONE", name="Heart failure", pathology="heart failure", sponsor=sponsor,
        provider=provider, status=Program.Status.ACTIVE,
    )  # fmt: skip
    carla = Patient.objects.create(first_name="Carla", last_name="Esterna", user=charlie)
    Enrolment.objects.create(patient=carla, program=program)
    snapshot = (
        User.objects.filter(pk=charlie.pk).values().get(),
        Patient.objects.filter(pk=carla.pk).values().get(),
    )

    out = run_seed(crowd=3, verbosity=1)

    assert "Seeded the demo world with 3 background patients" in out
    assert snapshot == (
        User.objects.filter(pk=charlie.pk).values().get(),
        Patient.objects.filter(pk=carla.pk).values().get(),
    )
    assert list(User.objects.filter(is_demo=False)) == [charlie]
    assert not charlie.groups.exists()
    assert program.enrolments.count() == 1
    assert Enrolment.objects.filter(patient=carla).count() == 1
    assert charlie.check_password("not-the-demo-one")
    assert _codes(Program.objects.all()) == CODES | {"CARDIO-ONE"}


def test_crowd_is_deterministic():
    today = dt.date(2026, 12, 3)
    first = [_draw(random.Random(2026), i, today) for i in range(3)]
    again = [_draw(random.Random(2026), i, today) for i in range(3)]
    assert [(d.patient.last_name, d.program, d.status, d.start) for d in first] == [
        (d.patient.last_name, d.program, d.status, d.start) for d in again
    ]


# --- the accounts of DEMO.md --------------------------------------------------------------------


@pytest.mark.parametrize("email", [a.email for a in DEMO_ACCOUNTS])
def test_every_demo_account_logs_in_with_the_demo_password(demo_world, email):
    user = authenticate(None, email=email, password=DEMO_PASSWORD)
    assert user is not None and user.email == email
    assert user.is_demo and user.first_name and user.last_name


def test_provider_accounts(demo_user):
    admin, ops = demo_user("admin@curaplus.example"), demo_user("ops@curaplus.example")
    assert admin.is_superuser and admin.is_staff
    assert admin.provider_staff_profile.organization.name == "CuraPlus Home Care"
    assert ops.is_staff and not ops.is_superuser
    assert ops.provider_staff_profile.function == "operations"
    assert access.roles_of(ops) == {"provider_staff"}
    assert _codes(access.programs_for(ops, "manage_program")) == CODES


def test_client_accounts_see_only_their_sponsored_programs(demo_user):
    northwind = demo_user("medical@northwind.example")
    southwind = demo_user("medical@southwind.example")
    assert northwind.client_profile.organization.name == "Northwind Pharma"
    assert _codes(access.programs_for(northwind, "view_program_kpis")) == {"MS-ADHERE", "PSO-CARE"}
    assert _codes(access.programs_for(southwind, "view_program_kpis")) == {"RA-HOME"}
    assert not access.enrolments_for(northwind).exists()


def test_doctors_follow_their_patients(demo_user):
    rossi, bianchi = demo_user("dr.rossi@sanluca.example"), demo_user("dr.bianchi@sanluca.example")
    assert rossi.doctor_profile.specialty == "Neurology"
    assert rossi.doctor_profile.hospital.name == "Ospedale San Luca"
    assert _codes(access.programs_for(rossi, "follow_program")) == {"MS-ADHERE"}
    assert _codes(access.programs_for(bianchi, "follow_program")) == {"PSO-CARE", "RA-HOME"}
    assert access.patients_for(rossi).filter(user__email="anna.conti@example.com").exists()
    assert access.patients_for(bianchi).filter(user__email="marco.ferri@example.com").exists()
    assert not access.patients_for(rossi).filter(user__email="marco.ferri@example.com").exists()


def test_patients_are_enrolled_active_with_their_care_team(demo_user):
    anna = Enrolment.objects.get(patient__user=demo_user("anna.conti@example.com"))
    assert (anna.program.code, anna.status) == ("MS-ADHERE", "active")
    assert anna.referring_doctor.user.email == "dr.rossi@sanluca.example"
    operators = set(anna.operators.values_list("user__email", flat=True))
    assert {"nurse.verdi@curaplus.example", "driver.gallo@swiftmed.example"} <= operators
    assert anna.consents.filter(kind="participation", withdrawn_at__isnull=True).exists()
    marco = Enrolment.objects.get(patient__user=demo_user("marco.ferri@example.com"))
    assert (marco.program.code, marco.status) == ("PSO-CARE", "active")
    assert marco.doctors.filter(user__email="dr.bianchi@sanluca.example").exists()


def test_luca_acts_for_anna_within_his_delegation(demo_user):
    luca = demo_user("luca.conti@example.com")
    anna = demo_user("anna.conti@example.com").patient_profile
    delegation = Delegation.objects.active().get(caregiver__user=luca)
    assert delegation.patient == anna
    assert access.can_act_for_patient(luca, anna, "can_log_diary")
    assert not access.can_act_for_patient(luca, anna, "can_send_reports")
    assert list(access.patients_for(luca)) == [anna]


def test_operators_staff_their_programs(demo_user):
    verdi = demo_user("nurse.verdi@curaplus.example")
    neri = demo_user("counsellor.neri@curaplus.example")
    gallo = demo_user("driver.gallo@swiftmed.example")
    assert (verdi.operator_profile.role, verdi.operator_profile.organization.name) == (
        "nurse",
        "CuraPlus Home Care",
    )
    assert _codes(access.programs_for(verdi, "staff_program")) == {"MS-ADHERE", "RA-HOME"}
    assert neri.operator_profile.role == "counsellor"
    assert _codes(access.programs_for(neri, "staff_program")) == CODES
    assert gallo.operator_profile.role == "logistics"
    assert gallo.operator_profile.organization.name == "SwiftMed Logistics"
    assert "MS-ADHERE" in _codes(access.programs_for(gallo, "staff_program"))
    assert not access.diary_entries_for(gallo).exists()  # no clinical data for logistics


# --- the world they log in to -------------------------------------------------------------------


def test_nurse_verdi_has_work_today_and_this_week(demo_user):
    mine = Activity.objects.filter(assignee__user=demo_user("nurse.verdi@curaplus.example"))
    today = timezone.localdate()
    assert mine.filter(scheduled_start__date=today, module__code="home-infusion").exists()
    week = mine.filter(scheduled_start__date__range=(today, today + dt.timedelta(days=6)))
    assert week.count() >= 4
    assert {"home-infusion", "nurse-home-visit"} <= set(week.values_list("module__code", flat=True))


def test_driver_gallo_has_deliveries_and_pickups_today(demo_user):
    mine = Activity.objects.filter(assignee__user=demo_user("driver.gallo@swiftmed.example"))
    today = mine.filter(scheduled_start__date=timezone.localdate())
    delivery = today.filter(module__code="drug-delivery", cold_chain=True).first()
    pickup = today.filter(module__code="waste-pickup").first()
    assert delivery is not None and delivery.items
    assert pickup is not None and pickup.linked_to.module.code == "home-infusion"
    assert pickup.partner.name == "SwiftMed Logistics"


def test_counsellor_neri_has_calls(demo_user):
    mine = Activity.objects.filter(assignee__user=demo_user("counsellor.neri@curaplus.example"))
    assert mine.filter(module__code="counselling-call").exists()
    assert mine.filter(scheduled_start__date=timezone.localdate()).exists()


def test_anna_has_months_of_diary_some_by_luca(demo_user):
    anna = demo_user("anna.conti@example.com")
    diary = DiaryEntry.objects.filter(enrolment__patient__user=anna)
    assert diary.filter(author__email="luca.conti@example.com").exists()
    assert set(diary.values_list("kind", flat=True)) == {
        "dose",
        "symptom",
        "measurement",
        "mood",
        "note",
    }
    units = set(diary.filter(kind="measurement").values_list("unit", flat=True))
    assert {"mmHg", "kg", "bpm"} <= units
    first = diary.order_by("occurred_at").first().occurred_at
    assert timezone.now() - first > dt.timedelta(days=75)
    assert not diary.filter(occurred_at__gt=timezone.now()).exists()
    reports = set(anna.patient_profile.enrolments.get().reports.values_list("kind", flat=True))
    assert reports == {"patient_to_doctor", "doctor_reply", "visit", "adherence"}


def test_pathways_follow_demo_md(demo_world):
    steps = {
        (s.program.code, s.module.code): s
        for s in CarePathwayStep.objects.filter(program__isnull=False).select_related("program")
    }
    infusion = steps[("MS-ADHERE", "home-infusion")]
    pickup = steps[("MS-ADHERE", "waste-pickup")]
    assert infusion.rrule and infusion.performer_role == "nurse"
    assert pickup.anchor == "step" and pickup.anchor_step == infusion
    assert pickup.partner.name == "SwiftMed Logistics"
    assert steps[("MS-ADHERE", "psychologist-session")].on_request
    assert steps[("PSO-CARE", "counselling-call")].rrule == "FREQ=WEEKLY;INTERVAL=2"
    assert steps[("RA-HOME", "physiotherapy")].rrule == "FREQ=MONTHLY;INTERVAL=3"
    assert not ServiceModule.objects.get(code="drug-delivery").is_clinical
    for program in Program.objects.filter(code__in=CODES):
        assert program.status == "active" and program.products.exists()
        assert program.template.pathway_steps.count() == program.pathway_steps.count()


def test_the_crowd_has_history(demo_world):
    crowd = Enrolment.objects.filter(patient__user__isnull=True)
    assert crowd.count() >= 12
    assert DiaryEntry.objects.filter(enrolment__in=crowd).exists()
    assert Activity.objects.filter(enrolment__in=crowd, status="done").exists()
    assert Device.objects.filter(events__isnull=False).exists()
    assert crowd.filter(status="active").exists()
