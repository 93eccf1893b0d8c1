"""Enrolment services: referral, the status machine (exhaustively) and the care team."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from psp_crm.errors import AccessDenied, DomainError, InvalidTransition
from psp_crm.models import AuditEvent, Consent, Enrolment, Program
from psp_crm.services.enrolments import (
    enrolment_add_doctor,
    enrolment_assign_operator,
    enrolment_refer,
    enrolment_transition,
)
from tests.factories import (
    ConsentFactory,
    DoctorFactory,
    EnrolmentFactory,
    OperatorFactory,
    PatientFactory,
    ProductFactory,
    ProgramFactory,
    build_world,
    record_events,
)

STATUSES = ("referred", "consented", "active", "suspended", "withdrawn", "completed")
# The machine as the product defines it, written out here so that a change to the model's
# table is a visible, reviewed change to this test too.
ALLOWED = {
    ("referred", "consented"),
    ("referred", "withdrawn"),
    ("consented", "active"),
    ("consented", "withdrawn"),
    ("active", "suspended"),
    ("active", "withdrawn"),
    ("active", "completed"),
    ("suspended", "active"),
    ("suspended", "withdrawn"),
    ("suspended", "completed"),
}
ALL_PAIRS = list(itertools.product(STATUSES, STATUSES))


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def pushed(monkeypatch):
    return record_events(monkeypatch)


def counts() -> tuple[int, int]:
    return Enrolment.objects.count(), AuditEvent.objects.count()


# --- enrolment_refer --------------------------------------------------------------------------


def test_doctor_refers_a_patient(world, pushed, django_capture_on_commit_callbacks):
    patient = PatientFactory()
    with django_capture_on_commit_callbacks(execute=True):
        enrolment = enrolment_refer(actor=world.doctor.user, patient=patient, program=world.program)

    assert enrolment.status == "referred"
    assert enrolment.referring_doctor == world.doctor
    assert list(enrolment.doctors.all()) == [world.doctor]
    audit = AuditEvent.objects.get(verb="enrolment.refer", object_id=str(enrolment.pk))
    assert (audit.actor, audit.patient, audit.action) == (world.doctor.user, patient, "create")
    assert pushed == [
        (
            sorted(
                [
                    f"enrolment.{enrolment.pk}",
                    f"program.{world.program.pk}.control",
                    f"program.{world.program.pk}.client",
                ]
            ),
            {"verb": "enrolment.referred", "enrolment": enrolment.pk, "program": world.program.pk},
        )
    ]


def test_staff_refers_without_a_referring_doctor(world):
    product = ProductFactory()
    world.program.products.add(product)
    enrolment = enrolment_refer(
        actor=world.staff,
        patient=PatientFactory(),
        program=world.program,
        product=product,
        dose="100 mg",
        frequency="weekly",
        doses_per_week=1,
    )
    assert enrolment.referring_doctor is None
    assert enrolment.doctors.count() == 0
    assert (enrolment.product, enrolment.dose) == (product, "100 mg")


def test_event_is_not_sent_before_commit(world, pushed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enrolment_refer(actor=world.staff, patient=PatientFactory(), program=world.program)
    assert pushed == []
    assert len(callbacks) == 1


@pytest.mark.parametrize("who", ["outsider_doctor", "outsider_staff", "patient_user", "client"])
def test_refer_forbidden_writes_nothing(world, pushed, django_capture_on_commit_callbacks, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    before = counts()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AccessDenied):
        enrolment_refer(actor=actor, patient=PatientFactory(), program=world.program)
    assert counts() == before
    assert pushed == []


def test_refer_to_a_program_not_active(world):
    program = ProgramFactory(
        provider=world.provider, sponsor=world.sponsor, status=Program.Status.DESIGN
    )
    before = counts()
    with pytest.raises(DomainError):
        enrolment_refer(actor=world.staff, patient=PatientFactory(), program=program)
    assert counts() == before


def test_refer_twice_is_refused_while_open_allowed_after_withdrawal(world):
    with pytest.raises(DomainError):
        enrolment_refer(actor=world.staff, patient=world.patient, program=world.program)
    world.enrolment.status = "withdrawn"
    world.enrolment.save()
    again = enrolment_refer(actor=world.staff, patient=world.patient, program=world.program)
    assert again.pk != world.enrolment.pk


def test_refer_with_a_product_the_program_does_not_support(world):
    before = counts()
    with pytest.raises(DomainError):
        enrolment_refer(
            actor=world.staff,
            patient=PatientFactory(),
            program=world.program,
            product=ProductFactory(),
        )
    assert counts() == before


# --- enrolment_transition: the status machine -------------------------------------------------


def test_the_model_table_is_the_documented_machine():
    table = {(s, t) for s, targets in Enrolment.TRANSITIONS.items() for t in targets}
    assert table == ALLOWED


@pytest.mark.parametrize(("source", "target"), ALL_PAIRS)
def test_status_machine(world, pushed, django_capture_on_commit_callbacks, source, target):
    enrolment = EnrolmentFactory(program=world.program, status=source)
    ConsentFactory(patient=enrolment.patient)
    audits = AuditEvent.objects.count()

    if (source, target) not in ALLOWED:
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidTransition):
            enrolment_transition(
                actor=world.staff, enrolment=enrolment, to_status=target, reason="why"
            )
        enrolment.refresh_from_db()
        assert enrolment.status == source
        assert AuditEvent.objects.count() == audits
        assert pushed == []
        return

    with django_capture_on_commit_callbacks(execute=True):
        result = enrolment_transition(
            actor=world.staff, enrolment=enrolment, to_status=target, reason="why"
        )
    enrolment.refresh_from_db()
    assert enrolment.status == result.status == target
    assert enrolment.status_reason == "why"
    audit = AuditEvent.objects.get(verb="enrolment.transition", object_id=str(enrolment.pk))
    assert audit.actor == world.staff
    assert audit.patient == enrolment.patient
    assert audit.detail == {"from": source, "to": target, "reason": "why"}
    assert pushed.verbs() == [f"enrolment.{target}"]
    assert set(pushed[0][1]) == {"verb", "enrolment", "program"}  # ids and a verb only
    if target == "active":
        assert enrolment.start_date is not None
    if target in ("withdrawn", "completed"):
        assert enrolment.end_date == timezone.localdate()


def test_activation_keeps_an_earlier_start_date(world):
    start = dt.date(2026, 1, 5)
    enrolment = EnrolmentFactory(program=world.program, status="suspended", start_date=start)
    ConsentFactory(patient=enrolment.patient)
    enrolment_transition(actor=world.staff, enrolment=enrolment, to_status="active")
    enrolment.refresh_from_db()
    assert enrolment.start_date == start


@pytest.mark.parametrize(
    "consent",
    ["none", "withdrawn", "other_kind"],
)
def test_activation_requires_an_active_participation_consent(world, consent):
    enrolment = EnrolmentFactory(program=world.program, status="consented")
    if consent == "withdrawn":
        ConsentFactory(
            patient=enrolment.patient,
            given_at=timezone.now() - dt.timedelta(days=3),
            withdrawn_at=timezone.now(),
        )
    elif consent == "other_kind":
        ConsentFactory(patient=enrolment.patient, kind=Consent.Kind.RESEARCH)
    audits = AuditEvent.objects.count()
    with pytest.raises(DomainError):
        enrolment_transition(actor=world.staff, enrolment=enrolment, to_status="active")
    enrolment.refresh_from_db()
    assert enrolment.status == "consented"
    assert AuditEvent.objects.count() == audits


def test_activation_ignores_a_consent_given_for_another_program(world):
    other = EnrolmentFactory(program=world.other_program, patient=world.patient)
    ConsentFactory(patient=world.patient, enrolment=other)
    world.enrolment.status = "consented"
    world.enrolment.save()
    with pytest.raises(DomainError):
        enrolment_transition(actor=world.staff, enrolment=world.enrolment, to_status="active")


def test_activation_accepts_a_consent_for_this_enrolment(world):
    world.enrolment.status = "consented"
    world.enrolment.save()
    ConsentFactory(patient=world.patient, enrolment=world.enrolment)
    enrolment_transition(actor=world.staff, enrolment=world.enrolment, to_status="active")
    world.enrolment.refresh_from_db()
    assert world.enrolment.status == "active"


@pytest.mark.parametrize("target", ["suspended", "withdrawn"])
@pytest.mark.parametrize("reason", ["", "   "])
def test_suspend_and_withdraw_need_a_reason(world, target, reason):
    enrolment = EnrolmentFactory(program=world.program, active=True)
    audits = AuditEvent.objects.count()
    with pytest.raises(DomainError) as excinfo:
        enrolment_transition(
            actor=world.staff, enrolment=enrolment, to_status=target, reason=reason
        )
    assert "reason" in excinfo.value.message_dict
    enrolment.refresh_from_db()
    assert enrolment.status == "active"
    assert AuditEvent.objects.count() == audits


def test_complete_needs_no_reason(world):
    enrolment = EnrolmentFactory(program=world.program, active=True)
    enrolment_transition(actor=world.staff, enrolment=enrolment, to_status="completed")
    enrolment.refresh_from_db()
    assert enrolment.status == "completed"


@pytest.mark.parametrize("who", ["doctor", "nurse", "outsider_staff", "patient_user", "client"])
def test_transition_forbidden_writes_nothing(
    world, pushed, django_capture_on_commit_callbacks, who
):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    enrolment = EnrolmentFactory(program=world.program, active=True)
    audits = AuditEvent.objects.count()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AccessDenied):
        enrolment_transition(
            actor=actor, enrolment=enrolment, to_status="suspended", reason="holiday"
        )
    enrolment.refresh_from_db()
    assert enrolment.status == "active"
    assert AuditEvent.objects.count() == audits
    assert pushed == []


def test_superuser_may_transition_any_enrolment(world):
    enrolment_transition(
        actor=world.superuser,
        enrolment=world.other_enrolment,
        to_status="withdrawn",
        reason="moved abroad",
    )
    world.other_enrolment.refresh_from_db()
    assert world.other_enrolment.status == "withdrawn"


def test_transition_uses_the_stored_status_not_a_stale_instance(world):
    stale = Enrolment.objects.get(pk=world.enrolment.pk)
    Enrolment.objects.filter(pk=stale.pk).update(status="withdrawn")
    with pytest.raises(InvalidTransition):
        enrolment_transition(actor=world.staff, enrolment=stale, to_status="consented")


# --- care team --------------------------------------------------------------------------------


def test_add_doctor(world, pushed, django_capture_on_commit_callbacks):
    colleague = DoctorFactory(programs=[world.program])
    with django_capture_on_commit_callbacks(execute=True):
        enrolment_add_doctor(actor=world.staff, enrolment=world.enrolment, doctor=colleague)
    assert colleague in world.enrolment.doctors.all()
    audit = AuditEvent.objects.get(verb="enrolment.add_doctor", object_id=str(world.enrolment.pk))
    assert (audit.actor, audit.patient, audit.detail) == (
        world.staff,
        world.patient,
        {"doctor": colleague.pk},
    )
    assert pushed.verbs() == ["enrolment.care_team_changed"]


def test_add_doctor_not_in_the_program(world):
    stranger = DoctorFactory()
    audits = AuditEvent.objects.count()
    with pytest.raises(DomainError):
        enrolment_add_doctor(actor=world.staff, enrolment=world.enrolment, doctor=stranger)
    assert stranger not in world.enrolment.doctors.all()
    assert AuditEvent.objects.count() == audits


@pytest.mark.parametrize("who", ["doctor", "outsider_staff", "patient_user"])
def test_add_doctor_forbidden(world, pushed, django_capture_on_commit_callbacks, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    colleague = DoctorFactory(programs=[world.program])
    audits = AuditEvent.objects.count()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AccessDenied):
        enrolment_add_doctor(actor=actor, enrolment=world.enrolment, doctor=colleague)
    assert colleague not in world.enrolment.doctors.all()
    assert AuditEvent.objects.count() == audits
    assert pushed == []


def test_assign_operator(world, pushed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        enrolment_assign_operator(
            actor=world.staff, enrolment=world.enrolment, operator=world.nurse
        )
    assert world.nurse in world.enrolment.operators.all()
    audit = AuditEvent.objects.get(
        verb="enrolment.assign_operator", object_id=str(world.enrolment.pk)
    )
    assert (audit.actor, audit.patient) == (world.staff, world.patient)
    assert pushed.verbs() == ["enrolment.care_team_changed"]


def test_assign_operator_not_staffing_the_program(world):
    stranger = OperatorFactory()
    with pytest.raises(DomainError):
        enrolment_assign_operator(actor=world.staff, enrolment=world.enrolment, operator=stranger)
    assert world.enrolment.operators.count() == 0


@pytest.mark.parametrize("who", ["nurse", "outsider_staff", "doctor"])
def test_assign_operator_forbidden(world, who):
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    audits = AuditEvent.objects.count()
    with pytest.raises(AccessDenied):
        enrolment_assign_operator(actor=actor, enrolment=world.enrolment, operator=world.nurse)
    assert world.enrolment.operators.count() == 0
    assert AuditEvent.objects.count() == audits
