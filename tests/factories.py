"""factory_boy factories for the domain. Names and codes come from sequences, so they never clash
with the demo world the test database is seeded with.

Programs are created through ``program_create``'s grants (provider staff group, client group);
people get their role groups and program grants through ``psp_crm.access`` like the services do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from psp_crm import access
from psp_crm.models import (
    Activity,
    AdverseEvent,
    Caregiver,
    CarePathwayStep,
    Channel,
    ClientUser,
    Consent,
    Delegation,
    Device,
    DeviceEvent,
    DiaryEntry,
    Doctor,
    Enrolment,
    Message,
    Operator,
    Organization,
    Patient,
    Product,
    Program,
    ProviderStaff,
    Purpose,
    Report,
    ServiceModule,
    User,
)

PASSWORD = "factory-pass-2026"


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Factory Org {n}")
    kind = Organization.Kind.PROVIDER
    city = "Milano"

    class Params:
        provider = factory.Trait(kind=Organization.Kind.PROVIDER)
        pharma = factory.Trait(kind=Organization.Kind.PHARMA)
        hospital = factory.Trait(kind=Organization.Kind.HOSPITAL)
        logistics = factory.Trait(kind=Organization.Kind.LOGISTICS)


class ProviderFactory(OrganizationFactory):
    name = factory.Sequence(lambda n: f"Factory Provider {n}")
    kind = Organization.Kind.PROVIDER


class PharmaFactory(OrganizationFactory):
    name = factory.Sequence(lambda n: f"Factory Pharma {n}")
    kind = Organization.Kind.PHARMA


class HospitalFactory(OrganizationFactory):
    name = factory.Sequence(lambda n: f"Factory Hospital {n}")
    kind = Organization.Kind.HOSPITAL


class LogisticsFactory(OrganizationFactory):
    name = factory.Sequence(lambda n: f"Factory Logistics {n}")
    kind = Organization.Kind.LOGISTICS


class UserFactory(DjangoModelFactory):
    """A login identified by e-mail (the custom User has no username)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@factory.example")
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")
    password = factory.django.Password(PASSWORD)
    is_active = True


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Factorimab {n}")
    atc_code = "L04AA"
    form = Product.Form.INJECTION
    manufacturer = factory.SubFactory(PharmaFactory)


class ServiceModuleFactory(DjangoModelFactory):
    class Meta:
        model = ServiceModule

    code = factory.Sequence(lambda n: f"factory-module-{n}")
    name = factory.Sequence(lambda n: f"Factory module {n}")
    performer_role = Operator.Role.NURSE
    channel = ServiceModule.Channel.HOME_VISIT


class ProgramFactory(DjangoModelFactory):
    """An active program whose provider staff and sponsor's users hold their grants."""

    class Meta:
        model = Program
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"FAC-{n}")
    name = factory.Sequence(lambda n: f"Factory program {n}")
    pathology = "multiple sclerosis"
    sponsor = factory.SubFactory(PharmaFactory)
    provider = factory.SubFactory(ProviderFactory)
    status = Program.Status.ACTIVE

    @factory.post_generation
    def grants(self, create: bool, extracted, **kwargs) -> None:
        # The same grants as services.programs.program_create gives.
        if not create:
            return
        access.grant_program_perms(
            access.provider_staff_group(self.provider),
            self,
            access.PROGRAM_PERMS_BY_ROLE["provider_staff"],
        )
        access.grant_program_perms(
            access.client_group(self.sponsor), self, access.PROGRAM_PERMS_BY_ROLE["client"]
        )


class CarePathwayStepFactory(DjangoModelFactory):
    class Meta:
        model = CarePathwayStep

    program = factory.SubFactory(ProgramFactory)
    module = factory.SubFactory(ServiceModuleFactory)
    name = factory.Sequence(lambda n: f"Step {n}")
    rrule = "FREQ=MONTHLY;INTERVAL=1"


class PatientFactory(DjangoModelFactory):
    class Meta:
        model = Patient
        skip_postgeneration_save = True

    first_name = factory.Sequence(lambda n: f"Paziente{n}")
    last_name = factory.Sequence(lambda n: f"Factory{n}")
    birth_date = dt.date(1980, 5, 17)
    sex = Patient.Sex.FEMALE
    city = "Milano"
    territory = "MI"

    class Params:
        with_login = factory.Trait(user=factory.SubFactory(UserFactory))

    @factory.post_generation
    def role_group(self, create: bool, extracted, **kwargs) -> None:
        if create and self.user_id:
            self.user.groups.add(access.ensure_role_groups()["patient"])


class DoctorFactory(DjangoModelFactory):
    """A doctor; ``programs=[...]`` makes him take part in them (follow_program)."""

    class Meta:
        model = Doctor
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    specialty = "neurology"
    hospital = factory.SubFactory(HospitalFactory)

    @factory.post_generation
    def programs(self, create: bool, extracted, **kwargs) -> None:
        if create:
            access.grant_role_programs(self.user, "doctor", extracted or [])


class OperatorFactory(DjangoModelFactory):
    """An operator; ``programs=[...]`` staffs them in those programs (staff_program)."""

    class Meta:
        model = Operator
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    role = Operator.Role.NURSE
    organization = factory.SubFactory(ProviderFactory)
    territories = factory.LazyFunction(lambda: ["MI"])

    @factory.post_generation
    def programs(self, create: bool, extracted, **kwargs) -> None:
        if create:
            access.grant_role_programs(self.user, "operator", extracted or [])


class CaregiverFactory(DjangoModelFactory):
    class Meta:
        model = Caregiver
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    relationship_note = "son"

    @factory.post_generation
    def role_group(self, create: bool, extracted, **kwargs) -> None:
        if create:
            self.user.groups.add(access.ensure_role_groups()["caregiver"])


class ProviderStaffFactory(DjangoModelFactory):
    """A provider employee with admin access and their provider's program grants."""

    class Meta:
        model = ProviderStaff
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, is_staff=True)
    organization = factory.SubFactory(ProviderFactory)
    function = ProviderStaff.Function.OPERATIONS

    @factory.post_generation
    def join(self, create: bool, extracted, **kwargs) -> None:
        # What services.programs.provider_staff_join does.
        if not create:
            return
        if not self.user.is_staff:
            self.user.is_staff = True
            self.user.save(update_fields=["is_staff"])
        self.user.groups.add(
            access.ensure_role_groups()["provider_staff"],
            access.provider_staff_group(self.organization),
        )


class ClientUserFactory(DjangoModelFactory):
    class Meta:
        model = ClientUser
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(PharmaFactory)
    job_title = "Medical manager"

    @factory.post_generation
    def join(self, create: bool, extracted, **kwargs) -> None:
        if create:
            self.user.groups.add(
                access.ensure_role_groups()["client"], access.client_group(self.organization)
            )


class EnrolmentFactory(DjangoModelFactory):
    """An enrolment (referred by default); ``doctors=[...]``/``operators=[...]`` set the team."""

    class Meta:
        model = Enrolment
        skip_postgeneration_save = True

    patient = factory.SubFactory(PatientFactory)
    program = factory.SubFactory(ProgramFactory)
    status = Enrolment.Status.REFERRED
    risk_profile = Enrolment.RiskProfile.LOW

    class Params:
        active = factory.Trait(
            status=Enrolment.Status.ACTIVE,
            start_date=factory.LazyFunction(timezone.localdate),
            doses_per_week=1,
        )

    @factory.post_generation
    def doctors(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted:
            self.doctors.add(*extracted)

    @factory.post_generation
    def operators(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted:
            self.operators.add(*extracted)


class ConsentFactory(DjangoModelFactory):
    class Meta:
        model = Consent

    patient = factory.SubFactory(PatientFactory)
    kind = Consent.Kind.PARTICIPATION
    document_version = "1.0"


def sms_dose_reminder() -> Message:
    """A queued SMS dose reminder to a patient with a login and a phone number (no consent)."""
    patient = PatientFactory(with_login=True, phone="+39 333 1234567", email="anna@example.com")
    return Message.objects.create(
        patient=patient,
        recipient=patient.user,
        purpose=Purpose.DOSE_REMINDER,
        channel=Channel.SMS,
        to_address=patient.phone,
        subject="Dose",
        body="Ciao Anna, è ora della dose.",
    )


class DelegationFactory(DjangoModelFactory):
    class Meta:
        model = Delegation

    patient = factory.SubFactory(PatientFactory)
    caregiver = factory.SubFactory(CaregiverFactory)
    relationship = "son"
    can_log_diary = True
    valid_from = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))


class ActivityFactory(DjangoModelFactory):
    class Meta:
        model = Activity

    enrolment = factory.SubFactory(EnrolmentFactory)
    module = factory.SubFactory(ServiceModuleFactory)
    scheduled_start = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=1))
    scheduled_end = factory.LazyAttribute(lambda a: a.scheduled_start + dt.timedelta(hours=1))


def confirmation_sms(activity: Activity, *, hours_ago: float = 1) -> Message:
    """The day-before SMS about ``activity``, sent ``hours_ago``."""
    when = timezone.now() - dt.timedelta(hours=hours_ago)
    patient = activity.enrolment.patient
    return Message.objects.create(
        patient=patient,
        enrolment=activity.enrolment,
        activity=activity,
        purpose="activity_confirmation",
        channel="sms",
        to_address=patient.phone,
        body="Reply YES to confirm or NO to change it.",
        status=Message.Status.SENT,
        sent_at=when,
        created_at=when,
    )


class DiaryEntryFactory(DjangoModelFactory):
    class Meta:
        model = DiaryEntry

    enrolment = factory.SubFactory(EnrolmentFactory)
    kind = DiaryEntry.Kind.DOSE
    dose_status = DiaryEntry.DoseStatus.TAKEN
    occurred_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=2))
    author = factory.LazyAttribute(lambda d: d.enrolment.patient.user)


class ReportFactory(DjangoModelFactory):
    class Meta:
        model = Report

    enrolment = factory.SubFactory(EnrolmentFactory)
    kind = Report.Kind.PATIENT_TO_DOCTOR
    subject = factory.Sequence(lambda n: f"Report {n}")
    body = "Feeling tired after the last dose."


class AdverseEventFactory(DjangoModelFactory):
    class Meta:
        model = AdverseEvent

    enrolment = factory.SubFactory(EnrolmentFactory)
    channel = "phone"
    description = "Rash after injection."
    seriousness = AdverseEvent.Seriousness.NON_SERIOUS
    forward_due_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(hours=24))


class DeviceFactory(DjangoModelFactory):
    class Meta:
        model = Device

    serial = factory.Sequence(lambda n: f"FAC-DEV-{n:06d}")
    kind = Device.Kind.BLISTER
    enrolment = factory.SubFactory(EnrolmentFactory)


class DeviceEventFactory(DjangoModelFactory):
    class Meta:
        model = DeviceEvent

    device = factory.SubFactory(DeviceFactory)
    seq = factory.Sequence(lambda n: n + 1)
    kind = "pill_extracted"
    occurred_at = factory.LazyFunction(timezone.now)


# --- a small world of every role around one program (and an outsider program) ----------------


@dataclass
class World:
    """One provider's program with a person in every role, and a second provider's program.

    Named by role like the house style: ``staff`` manages ``program``; ``outsider_staff`` works
    for the other provider; ``patient_user`` is ``patient``'s login; ``caregiver_user`` holds an
    active delegation for her.
    """

    provider: Organization
    sponsor: Organization
    program: Program
    other_program: Program
    staff: User
    outsider_staff: User
    superuser: User
    client: User
    doctor: Doctor
    outsider_doctor: Doctor
    nurse: Operator
    counsellor: Operator
    driver: Operator
    patient: Patient
    patient_user: User
    enrolment: Enrolment
    caregiver: Caregiver
    caregiver_user: User
    delegation: Delegation
    other_patient: Patient
    other_enrolment: Enrolment


def build_world() -> World:
    provider = ProviderFactory()
    sponsor = PharmaFactory()
    program = ProgramFactory(provider=provider, sponsor=sponsor)
    other_program = ProgramFactory()
    staff = ProviderStaffFactory(organization=provider).user
    outsider_staff = ProviderStaffFactory(organization=other_program.provider).user
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client = ClientUserFactory(organization=sponsor).user
    doctor = DoctorFactory(programs=[program])
    outsider_doctor = DoctorFactory(programs=[other_program])
    nurse = OperatorFactory(organization=provider, programs=[program])
    counsellor = OperatorFactory(
        organization=provider, role=Operator.Role.COUNSELLOR, programs=[program]
    )
    driver = OperatorFactory(
        organization=LogisticsFactory(), role=Operator.Role.LOGISTICS, programs=[program]
    )
    patient = PatientFactory(with_login=True)
    enrolment = EnrolmentFactory(patient=patient, program=program, doctors=[doctor])
    caregiver = CaregiverFactory()
    delegation = DelegationFactory(patient=patient, caregiver=caregiver)
    other_patient = PatientFactory()
    other_enrolment = EnrolmentFactory(
        patient=other_patient, program=other_program, doctors=[outsider_doctor]
    )
    return World(
        provider=provider,
        sponsor=sponsor,
        program=program,
        other_program=other_program,
        staff=staff,
        outsider_staff=outsider_staff,
        superuser=superuser,
        client=client,
        doctor=doctor,
        outsider_doctor=outsider_doctor,
        nurse=nurse,
        counsellor=counsellor,
        driver=driver,
        patient=patient,
        patient_user=patient.user,
        enrolment=enrolment,
        caregiver=caregiver,
        caregiver_user=caregiver.user,
        delegation=delegation,
        other_patient=other_patient,
        other_enrolment=other_enrolment,
    )


class EventRecorder(list):
    """Live events pushed after commit, as ``(groups, message)`` pairs."""

    def verbs(self) -> list[str]:
        return [message["verb"] for _groups, message in self]


def record_events(monkeypatch) -> EventRecorder:
    """Capture what ``psp_crm.events`` pushes to the channel layer (call with monkeypatch)."""
    from psp_crm import events

    recorder = EventRecorder()
    monkeypatch.setattr(events, "_push", lambda groups, message: recorder.append((groups, message)))
    return recorder
