"""The access policy's selectors, on small factory-built worlds (one per test)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from psp_crm import access
from psp_crm.models import Operator
from tests.factories import (
    ActivityFactory,
    DelegationFactory,
    DiaryEntryFactory,
    DoctorFactory,
    EnrolmentFactory,
    OperatorFactory,
    ProgramFactory,
    ReportFactory,
    UserFactory,
    build_world,
)


@pytest.fixture
def world(db):
    return build_world()


def ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


# --- roles ------------------------------------------------------------------------------------


def test_roles_of_each_person(world):
    assert access.roles_of(world.staff) == {"provider_staff"}
    assert access.roles_of(world.doctor.user) == {"doctor"}
    assert access.roles_of(world.nurse.user) == {"operator"}
    assert access.roles_of(world.patient_user) == {"patient"}
    assert access.roles_of(world.caregiver_user) == {"caregiver"}
    assert access.roles_of(world.client) == {"client"}
    assert "provider_staff" in access.roles_of(world.superuser)
    assert access.roles_of(AnonymousUser()) == set()


def test_staff_flag_without_profile_is_not_provider_staff(world):
    user = UserFactory(is_staff=True)
    assert access.roles_of(user) == set()
    world.staff.is_staff = False
    assert "provider_staff" not in access.roles_of(world.staff)


# --- doctors ----------------------------------------------------------------------------------


def test_doctor_sees_followed_enrolments_within_followed_programs(world):
    unfollowed = EnrolmentFactory(program=world.program)
    assert ids(access.enrolments_for(world.doctor.user)) == {world.enrolment.pk}
    assert unfollowed.pk not in ids(access.enrolments_for(world.doctor.user, role="doctor"))
    assert ids(access.patients_for(world.doctor.user)) == {world.patient.pk}


def test_doctor_following_an_enrolment_of_a_program_he_left_sees_nothing(world):
    access.revoke_program_perms(world.doctor.user, world.program, ["follow_program"])
    assert not access.enrolments_for(world.doctor.user).exists()
    assert not access.patients_for(world.doctor.user).exists()


def test_doctor_following_in_a_program_he_does_not_take_part_in(world):
    stray = EnrolmentFactory(program=world.other_program, doctors=[world.doctor])
    assert stray.pk not in ids(access.enrolments_for(world.doctor.user))


def test_covering_doctor_sees_one_enrolment_by_grant(world):
    covering = DoctorFactory()
    assert not access.enrolments_for(covering.user).exists()
    access.grant_enrolment_perm(covering.user, world.other_enrolment)
    assert ids(access.enrolments_for(covering.user)) == {world.other_enrolment.pk}
    assert ids(access.patients_for(covering.user)) == {world.other_patient.pk}
    assert access.can_view_enrolment(covering.user, world.other_enrolment)
    assert not access.can_view_enrolment(covering.user, world.enrolment)


def test_doctor_reads_clinical_data_of_his_patients_only(world):
    mine = DiaryEntryFactory(enrolment=world.enrolment)
    other = DiaryEntryFactory(enrolment=world.other_enrolment)
    report = ReportFactory(enrolment=world.enrolment)
    assert ids(access.diary_entries_for(world.doctor.user)) == {mine.pk}
    assert other.pk not in ids(access.diary_entries_for(world.doctor.user))
    assert ids(access.reports_for(world.doctor.user)) == {report.pk}


def test_doctor_may_refer_only_to_programs_he_follows(world):
    assert access.can_refer_to_program(world.doctor.user, world.program)
    assert not access.can_refer_to_program(world.doctor.user, world.other_program)


# --- operators --------------------------------------------------------------------------------


def test_nurse_sees_assigned_enrolments(world):
    assert not access.enrolments_for(world.nurse.user).exists()
    world.enrolment.operators.add(world.nurse)
    assert ids(access.enrolments_for(world.nurse.user)) == {world.enrolment.pk}
    assert ids(access.patients_for(world.nurse.user)) == {world.patient.pk}


def test_nurse_sees_enrolments_where_she_has_an_activity(world):
    visit = ActivityFactory(enrolment=world.enrolment, assignee=world.nurse)
    ActivityFactory(enrolment=EnrolmentFactory(program=world.program))
    assert ids(access.enrolments_for(world.nurse.user)) == {world.enrolment.pk}
    assert ids(access.activities_for(world.nurse.user)) == {visit.pk}


def test_nurse_sees_nothing_in_programs_she_does_not_staff(world):
    world.other_enrolment.operators.add(world.nurse)
    ActivityFactory(enrolment=world.other_enrolment, assignee=world.nurse)
    assert world.other_enrolment.pk not in ids(access.enrolments_for(world.nurse.user))


def test_nurse_reads_the_diary_of_her_patients(world):
    world.enrolment.operators.add(world.nurse)
    entry = DiaryEntryFactory(enrolment=world.enrolment)
    assert ids(access.diary_entries_for(world.nurse.user)) == {entry.pk}
    assert access.sees_clinical_data(world.nurse.user, "operator")


def test_counsellor_sees_every_enrolment_of_staffed_programs(world):
    second = EnrolmentFactory(program=world.program)
    visible = ids(access.enrolments_for(world.counsellor.user))
    assert visible == {world.enrolment.pk, second.pk}
    assert world.other_enrolment.pk not in visible
    assert Operator.Role.COUNSELLOR in Operator.PROGRAM_WIDE_ROLES


def test_logistics_sees_his_deliveries_but_no_clinical_data(world):
    delivery = ActivityFactory(enrolment=world.enrolment, assignee=world.driver)
    ActivityFactory(enrolment=world.enrolment)  # somebody else's visit
    DiaryEntryFactory(enrolment=world.enrolment)
    ReportFactory(enrolment=world.enrolment)
    assert ids(access.activities_for(world.driver.user)) == {delivery.pk}
    assert ids(access.enrolments_for(world.driver.user)) == {world.enrolment.pk}
    assert not access.diary_entries_for(world.driver.user).exists()
    assert not access.reports_for(world.driver.user).exists()
    assert not access.sees_clinical_data(world.driver.user, "operator")


# --- caregivers and patients ------------------------------------------------------------------


def test_caregiver_sees_delegated_patients_while_active(world):
    assert ids(access.patients_for(world.caregiver_user)) == {world.patient.pk}
    assert ids(access.enrolments_for(world.caregiver_user)) == {world.enrolment.pk}
    assert access.can_act_for_patient(world.caregiver_user, world.patient, "can_log_diary")
    assert not access.can_act_for_patient(world.caregiver_user, world.patient, "can_send_reports")
    world.delegation.revoked_at = timezone.now()
    world.delegation.save()
    assert not access.patients_for(world.caregiver_user).exists()
    assert not access.can_act_for_patient(world.caregiver_user, world.patient)


def test_caregiver_loses_access_when_the_delegation_expires(world):
    world.delegation.valid_until = timezone.now() - dt.timedelta(minutes=1)
    world.delegation.save()
    assert not access.enrolments_for(world.caregiver_user).exists()
    assert not access.diary_entries_for(world.caregiver_user).exists()


def test_caregiver_delegation_not_yet_valid(world):
    later = DelegationFactory(
        caregiver=world.caregiver,
        patient=world.other_patient,
        valid_from=timezone.now() + dt.timedelta(days=2),
    )
    assert later.patient.pk not in ids(access.patients_for(world.caregiver_user))


def test_patient_sees_only_herself(world):
    EnrolmentFactory(program=world.program)
    assert ids(access.patients_for(world.patient_user)) == {world.patient.pk}
    assert ids(access.enrolments_for(world.patient_user)) == {world.enrolment.pk}
    mine = DiaryEntryFactory(enrolment=world.enrolment)
    DiaryEntryFactory(enrolment=world.other_enrolment)
    assert ids(access.diary_entries_for(world.patient_user)) == {mine.pk}
    assert access.can_act_for_patient(world.patient_user, world.patient)
    assert not access.can_act_for_patient(world.patient_user, world.other_patient)


# --- clients, provider staff, superusers, inactive users --------------------------------------


def test_client_sees_no_enrolment_or_patient(world):
    assert not access.enrolments_for(world.client).exists()
    assert not access.patients_for(world.client).exists()
    assert not access.activities_for(world.client).exists()
    assert not access.diary_entries_for(world.client).exists()
    assert ids(access.programs_for(world.client, "view_program_kpis")) == {world.program.pk}
    assert not access.programs_for(world.client, "view_program").exists()


def test_provider_staff_see_only_their_providers_programs(world):
    second = ProgramFactory(provider=world.provider)
    assert ids(access.programs_for(world.staff, "manage_program")) == {world.program.pk, second.pk}
    visible = ids(access.enrolments_for(world.staff, role="provider_staff"))
    assert world.enrolment.pk in visible
    assert world.other_enrolment.pk not in visible
    patients = ids(access.patients_for(world.staff, role="provider_staff"))
    assert world.patient.pk in patients
    assert world.other_patient.pk not in patients
    assert access.can_manage_enrolment(world.staff, world.enrolment)
    assert not access.can_manage_enrolment(world.staff, world.other_enrolment)
    assert access.can_manage_delegations(world.staff, world.patient)
    assert not access.can_manage_delegations(world.staff, world.other_patient)


def test_superuser_sees_everything(world):
    assert ids(access.enrolments_for(world.superuser)) >= {
        world.enrolment.pk,
        world.other_enrolment.pk,
    }
    assert ids(access.programs_for(world.superuser, "manage_program")) >= {
        world.program.pk,
        world.other_program.pk,
    }
    assert access.can_manage_enrolment(world.superuser, world.other_enrolment)


@pytest.mark.parametrize(
    "who", ["staff", "doctor", "nurse", "counsellor", "patient_user", "caregiver_user", "client"]
)
def test_inactive_user_sees_nothing(world, who):
    user = getattr(world, who)
    user = getattr(user, "user", user)
    world.enrolment.operators.add(world.nurse)
    user.is_active = False
    user.save()
    assert access.roles_of(user) == set()
    assert not access.programs_for(user).exists()
    assert not access.programs_for(user, "view_program_kpis").exists()
    assert not access.enrolments_for(user).exists()
    assert not access.patients_for(user).exists()
    assert not access.activities_for(user).exists()
    assert not access.diary_entries_for(user).exists()


def test_role_argument_narrows_to_one_portal(world):
    # A doctor who is also a patient elsewhere sees her own record only in the patient portal.
    doctor_user = world.doctor.user
    own = EnrolmentFactory(program=world.other_program, patient__user=doctor_user)
    assert own.pk not in ids(access.enrolments_for(doctor_user, role="doctor"))
    assert ids(access.enrolments_for(doctor_user, role="patient")) == {own.pk}
    assert ids(access.enrolments_for(doctor_user)) == {world.enrolment.pk, own.pk}
    assert not access.enrolments_for(doctor_user, role="operator").exists()


def test_grants_are_idempotent(world):
    new_operator = OperatorFactory(programs=[world.program])
    access.grant_role_programs(new_operator.user, "operator", [world.program])
    assert access.programs_for(new_operator.user, "staff_program").count() == 1
