"""Program services: creating programs with their grants, staffing them, joining staff."""

from __future__ import annotations

import pytest

from psp_crm import access
from psp_crm.errors import AccessDenied, DomainError
from psp_crm.models import (
    AuditEvent,
    ClientUser,
    Program,
    ProgramUserObjectPermission,
    ProviderStaff,
)
from psp_crm.services.programs import (
    client_user_join,
    program_add_doctor,
    program_add_operator,
    program_create,
    provider_staff_join,
)
from tests.factories import (
    ClientUserFactory,
    DoctorFactory,
    HospitalFactory,
    OperatorFactory,
    ProviderStaffFactory,
    UserFactory,
    build_world,
    record_events,
)


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def pushed(monkeypatch):
    return record_events(monkeypatch)


def counts() -> tuple[int, int, int]:
    return (
        Program.objects.count(),
        AuditEvent.objects.count(),
        ProgramUserObjectPermission.objects.count(),
    )


def create(world, actor, **overrides) -> Program:
    fields = {
        "code": "NEW-PSP",
        "name": "New program",
        "pathology": "psoriasis",
        "sponsor": world.sponsor,
        "provider": world.provider,
    }
    fields.update(overrides)
    return program_create(actor=actor, **fields)


# --- program_create ---------------------------------------------------------------------------


def test_staff_creates_a_program_with_grants(world, pushed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        program = create(world, world.staff, status="active", adverse_event_sla_hours=12)

    assert (program.status, program.adverse_event_sla_hours) == ("active", 12)
    # The provider's staff manage it; the sponsor's users see its KPIs; nobody else.
    assert access.can_manage_program(world.staff, program)
    assert program in access.programs_for(world.client, "view_program_kpis")
    assert program not in access.programs_for(world.client, "view_program")
    assert not access.can_manage_program(world.outsider_staff, program)
    audit = AuditEvent.objects.get(verb="program.create", object_id=str(program.pk))
    assert (audit.actor, audit.action, audit.patient) == (world.staff, "create", None)
    assert pushed == []  # programs are not live objects of any portal yet


def test_superuser_creates_a_program_for_any_provider(world):
    program = create(world, world.superuser)
    assert access.can_manage_program(world.staff, program)


@pytest.mark.parametrize("who", ["outsider_staff", "doctor", "client", "patient_user"])
def test_create_forbidden_writes_nothing(world, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    before = counts()
    with pytest.raises(AccessDenied):
        create(world, actor)
    assert counts() == before


@pytest.mark.parametrize(
    ("field", "kind"),
    [("sponsor", "hospital"), ("provider", "pharma"), ("sponsor", "provider")],
)
def test_create_checks_the_parties(world, field, kind):
    wrong = {"hospital": HospitalFactory(), "pharma": world.sponsor, "provider": world.provider}
    before = counts()
    with pytest.raises(DomainError) as excinfo:
        create(world, world.superuser, **{field: wrong[kind]})
    assert field in excinfo.value.message_dict
    assert counts() == before


def test_create_refuses_a_duplicate_code(world):
    before = counts()
    with pytest.raises(DomainError) as excinfo:
        create(world, world.staff, code=world.program.code)
    assert "code" in excinfo.value.message_dict
    assert counts() == before


# --- program_add_doctor / program_add_operator ------------------------------------------------


def test_add_doctor_to_program(world):
    newcomer = DoctorFactory()
    assert world.program not in access.programs_for(newcomer.user, "follow_program")
    program_add_doctor(actor=world.staff, program=world.program, doctor=newcomer)
    assert world.program in access.programs_for(newcomer.user, "follow_program")
    assert newcomer.user.groups.filter(name=access.ROLE_GROUPS["doctor"]).exists()
    audit = AuditEvent.objects.get(verb="program.add_doctor", object_id=str(world.program.pk))
    assert (audit.actor, audit.detail) == (world.staff, {"doctor": newcomer.pk})


def test_add_operator_to_program(world):
    newcomer = OperatorFactory()
    program_add_operator(actor=world.staff, program=world.program, operator=newcomer)
    assert world.program in access.programs_for(newcomer.user, "staff_program")
    assert newcomer.user.groups.filter(name=access.ROLE_GROUPS["operator"]).exists()
    audit = AuditEvent.objects.get(verb="program.add_operator", object_id=str(world.program.pk))
    assert (audit.actor, audit.detail) == (world.staff, {"operator": newcomer.pk})


@pytest.mark.parametrize("who", ["outsider_staff", "doctor", "nurse", "client"])
def test_staffing_forbidden_writes_nothing(world, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    doctor, operator = DoctorFactory(), OperatorFactory()
    before = counts()
    with pytest.raises(AccessDenied):
        program_add_doctor(actor=actor, program=world.program, doctor=doctor)
    with pytest.raises(AccessDenied):
        program_add_operator(actor=actor, program=world.program, operator=operator)
    assert counts() == before
    assert not access.has_program_perm(doctor.user, world.program, "follow_program")
    assert not access.has_program_perm(operator.user, world.program, "staff_program")


# --- provider_staff_join / client_user_join ---------------------------------------------------


def test_superuser_joins_provider_staff(world):
    user = UserFactory()
    staff = ProviderStaff.objects.create(
        user=user, organization=world.provider, function=ProviderStaff.Function.QUALITY
    )
    provider_staff_join(actor=world.superuser, staff=staff)
    user.refresh_from_db()
    assert user.is_staff
    assert access.has_role(user, "provider_staff")
    assert access.can_manage_program(user, world.program)
    assert AuditEvent.objects.filter(verb="provider_staff.join", actor=world.superuser).exists()


def test_only_a_superuser_joins_provider_staff(world):
    user = UserFactory()
    staff = ProviderStaff.objects.create(
        user=user, organization=world.provider, function=ProviderStaff.Function.QUALITY
    )
    audits = AuditEvent.objects.count()
    with pytest.raises(AccessDenied):
        provider_staff_join(actor=world.staff, staff=staff)
    user.refresh_from_db()
    assert not user.is_staff
    assert not user.groups.exists()
    assert AuditEvent.objects.count() == audits


def test_superuser_joins_a_client_user(world):
    user = UserFactory()
    client = ClientUser.objects.create(user=user, organization=world.sponsor)
    client_user_join(actor=world.superuser, client=client)
    assert world.program in access.programs_for(user, "view_program_kpis")
    assert access.has_role(user, "client")
    assert AuditEvent.objects.filter(verb="client_user.join", object_id=str(client.pk)).exists()


def test_only_a_superuser_joins_a_client_user(world):
    client = ClientUserFactory.build(organization=world.sponsor, user=UserFactory())
    client.save()
    audits = AuditEvent.objects.count()
    with pytest.raises(AccessDenied):
        client_user_join(actor=world.staff, client=client)
    assert not client.user.groups.exists()
    assert AuditEvent.objects.count() == audits


def test_staff_factory_matches_the_join_service(world):
    staff = ProviderStaffFactory(organization=world.provider).user
    assert access.can_manage_program(staff, world.program)
