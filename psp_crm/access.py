"""The access policy: the one module that decides who sees and does what, on django-guardian.

Scope is granted at **program level** through guardian's direct foreign-key permission models
(``ProgramUserObjectPermission`` / ``ProgramGroupObjectPermission``), plus **relations** that narrow
it to patients (a doctor follows an enrolment, an operator is assigned to it, a caregiver holds a
delegation). Single-enrolment exceptions (a covering doctor) use the enrolment-level permission
models. Every selector of the domain starts from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from django.contrib.auth.models import Group, Permission
from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import (
    Activity,
    Delegation,
    DiaryEntry,
    Enrolment,
    EnrolmentGroupObjectPermission,
    EnrolmentUserObjectPermission,
    Operator,
    Organization,
    Patient,
    Program,
    ProgramGroupObjectPermission,
    ProgramUserObjectPermission,
    Report,
    User,
)

Role = Literal["provider_staff", "client", "doctor", "patient", "caregiver", "operator"]
ROLES: tuple[Role, ...] = ("provider_staff", "client", "doctor", "operator", "patient", "caregiver")

# Role groups hold model-level defaults; object scope always comes from grants and relations.
ROLE_GROUPS: dict[Role, str] = {
    "provider_staff": "Provider staff",
    "client": "Client users",
    "doctor": "Doctors",
    "operator": "Operators",
    "patient": "Patients",
    "caregiver": "Caregivers",
}
# What provider staff may do in the admin site (scoped further by program grants).
PROVIDER_STAFF_MODEL_PERMS = ("view", "add", "change")
PROVIDER_STAFF_READ_ONLY_MODELS = ("auditevent", "deviceevent")

# Program-level permissions granted per role.
PROGRAM_PERMS_BY_ROLE: dict[Role, tuple[str, ...]] = {
    "provider_staff": ("view_program", "manage_program", "view_program_kpis"),
    "client": ("view_program_kpis",),
    "doctor": ("view_program", "follow_program"),
    "operator": ("view_program", "staff_program"),
}


# --- roles ------------------------------------------------------------------------------------


# Role → the model whose row (keyed by ``user``) makes a user play that role.
_PROFILE_OF_ROLE: dict[Role, str] = {
    "client": "ClientUser",
    "doctor": "Doctor",
    "operator": "Operator",
    "patient": "Patient",
    "caregiver": "Caregiver",
}


def roles_of(user: User) -> set[Role]:
    """The roles a signed-in user plays, from their profiles (one query)."""
    if not user.is_authenticated or not user.is_active:
        return set()
    from . import models as m

    flags = (
        User.objects.filter(pk=user.pk)
        .annotate(
            **{
                f"is_{role}": Exists(getattr(m, model).objects.filter(user=OuterRef("pk")))
                for role, model in _PROFILE_OF_ROLE.items()
            },
            is_provider_staff=Exists(m.ProviderStaff.objects.filter(user=OuterRef("pk"))),
        )
        .values(*(f"is_{role}" for role in _PROFILE_OF_ROLE), "is_provider_staff")
        .first()
    )
    if flags is None:
        return set()
    roles: set[Role] = {role for role in _PROFILE_OF_ROLE if flags[f"is_{role}"]}
    if user.is_superuser or (user.is_staff and flags["is_provider_staff"]):
        roles.add("provider_staff")
    return roles


def has_role(user: User, role: Role) -> bool:
    return role in roles_of(user)


def ensure_role_groups() -> dict[Role, Group]:
    """Create the role groups and give them their model-level defaults (idempotent)."""
    groups: dict[Role, Group] = {}
    for role, name in ROLE_GROUPS.items():
        groups[role], _ = Group.objects.get_or_create(name=name)
    staff_perms = Permission.objects.filter(content_type__app_label="psp_crm").exclude(
        content_type__model__in=(
            "programuserobjectpermission",
            "programgroupobjectpermission",
            "enrolmentuserobjectpermission",
            "enrolmentgroupobjectpermission",
        )
    )
    wanted = [
        p
        for p in staff_perms
        if p.codename.split("_", 1)[0] in PROVIDER_STAFF_MODEL_PERMS
        and not (
            p.codename.split("_", 1)[0] != "view"
            and p.content_type.model in PROVIDER_STAFF_READ_ONLY_MODELS
        )
    ]
    groups["provider_staff"].permissions.set(wanted)
    return groups


def role_group(role: Role) -> Group:
    """The role group of ``role`` (its model permissions are set by ``ensure_role_groups``)."""
    group, _ = Group.objects.get_or_create(name=ROLE_GROUPS[role])
    return group


def ensure_role_groups_after_migrate(**kwargs) -> None:
    ensure_role_groups()


def provider_staff_group(provider: Organization) -> Group:
    """The group through which a provider's staff hold their program grants."""
    group, _ = Group.objects.get_or_create(name=f"staff of {provider.name} [{provider.pk}]")
    return group


def client_group(sponsor: Organization) -> Group:
    """The group through which a pharma company's users hold their program grants."""
    group, _ = Group.objects.get_or_create(name=f"client users of {sponsor.name} [{sponsor.pk}]")
    return group


# --- grants (the only writes to guardian) -----------------------------------------------------


def _program_perm(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="psp_crm", codename=codename)


def grant_program_perms(holder: User | Group, program: Program, codenames: Iterable[str]) -> None:
    """Grant program-level permissions to a user or a group (idempotent)."""
    for codename in codenames:
        perm = _program_perm(codename)
        if isinstance(holder, Group):
            ProgramGroupObjectPermission.objects.get_or_create(
                group=holder, permission=perm, content_object=program
            )
        else:
            ProgramUserObjectPermission.objects.get_or_create(
                user=holder, permission=perm, content_object=program
            )


def revoke_program_perms(holder: User | Group, program: Program, codenames: Iterable[str]) -> None:
    model = (
        ProgramGroupObjectPermission if isinstance(holder, Group) else ProgramUserObjectPermission
    )
    holder_field = "group" if isinstance(holder, Group) else "user"
    model.objects.filter(
        **{holder_field: holder}, content_object=program, permission__codename__in=list(codenames)
    ).delete()


def grant_enrolment_perm(
    user: User, enrolment: Enrolment, codename: str = "view_enrolment"
) -> None:
    perm = Permission.objects.get(content_type__app_label="psp_crm", codename=codename)
    EnrolmentUserObjectPermission.objects.get_or_create(
        user=user, permission=perm, content_object=enrolment
    )


def grant_role_programs(user: User, role: Role, programs: Iterable[Program]) -> None:
    """Give a doctor/operator the program-level grants of their role and add them to its group."""
    user.groups.add(role_group(role))
    for program in programs:
        grant_program_perms(user, program, PROGRAM_PERMS_BY_ROLE[role])


# --- program scope ----------------------------------------------------------------------------


def programs_for(user: User, perm: str = "view_program") -> QuerySet[Program]:
    """Programs on which the user holds ``perm``, directly or through a group."""
    if not user.is_authenticated or not user.is_active:
        return Program.objects.none()
    if user.is_superuser:
        return Program.objects.all()
    direct = ProgramUserObjectPermission.objects.filter(
        user=user, permission__codename=perm, content_object=OuterRef("pk")
    )
    via_group = ProgramGroupObjectPermission.objects.filter(
        group__user=user, permission__codename=perm, content_object=OuterRef("pk")
    )
    return Program.objects.filter(Q(Exists(direct)) | Q(Exists(via_group)))


def has_program_perm(user: User, program: Program, perm: str) -> bool:
    return programs_for(user, perm).filter(pk=program.pk).exists()


# --- patient scope ----------------------------------------------------------------------------


def _enrolment_grant(user: User, codename: str) -> Q:
    direct = EnrolmentUserObjectPermission.objects.filter(
        user=user, permission__codename=codename, content_object=OuterRef("pk")
    )
    via_group = EnrolmentGroupObjectPermission.objects.filter(
        group__user=user, permission__codename=codename, content_object=OuterRef("pk")
    )
    return Q(Exists(direct)) | Q(Exists(via_group))


def _enrolment_scope(user: User, role: Role) -> Q | None:
    """The filter of enrolments a user may see in one role; None when the role sees none."""
    if role == "provider_staff":
        if user.is_superuser:
            return Q()
        return Q(program__in=programs_for(user, "manage_program"))
    if role == "doctor":
        doctor = user.doctor_profile
        followed = Enrolment.doctors.through.objects.filter(enrolment=OuterRef("pk"), doctor=doctor)
        return (
            Q(program__in=programs_for(user, "follow_program")) & Q(Exists(followed))
        ) | _enrolment_grant(user, "view_enrolment")
    if role == "operator":
        operator = user.operator_profile
        staffed = Q(program__in=programs_for(user, "staff_program"))
        if operator.role in Operator.PROGRAM_WIDE_ROLES:
            return staffed
        assigned = Enrolment.operators.through.objects.filter(
            enrolment=OuterRef("pk"), operator=operator
        )
        has_activity = Activity.objects.filter(enrolment=OuterRef("pk"), assignee=operator)
        return staffed & (Q(Exists(assigned)) | Q(Exists(has_activity)))
    if role == "patient":
        return Q(patient__user=user)
    if role == "caregiver":
        delegated = Delegation.objects.active().filter(
            caregiver__user=user, patient=OuterRef("patient")
        )
        return Q(Exists(delegated))
    return None  # client users never see enrolments, only aggregates


def _roles(user: User, role: Role | None) -> list[Role]:
    mine = roles_of(user)
    if role is None:
        return [r for r in ROLES if r in mine]
    return [role] if role in mine else []


def enrolments_for(user: User, *, role: Role | None = None) -> QuerySet[Enrolment]:
    """Enrolments the user may see, in one role (a portal) or in any of theirs."""
    scope: Q | None = None
    for r in _roles(user, role):
        q = _enrolment_scope(user, r)
        if q is not None:
            scope = q if scope is None else scope | q
    if scope is None:
        return Enrolment.objects.none()
    return Enrolment.objects.filter(scope)


def patients_for(user: User, *, role: Role | None = None) -> QuerySet[Patient]:
    """Patients the user may see: through an enrolment they may see, or herself."""
    visible = enrolments_for(user, role=role).filter(patient=OuterRef("pk"))
    scope = Q(Exists(visible))
    if "patient" in _roles(user, role):
        scope |= Q(user=user)
    return Patient.objects.filter(scope)


def sees_clinical_data(user: User, role: Role) -> bool:
    """Logistics operators see addresses and items, never diaries, reports or adverse events."""
    if role == "operator":
        return user.operator_profile.is_clinical
    return role in ("provider_staff", "doctor", "patient", "caregiver")


def _clinical_roles(user: User, role: Role | None) -> list[Role]:
    return [r for r in _roles(user, role) if r != "client" and sees_clinical_data(user, r)]


def diary_entries_for(user: User, *, role: Role | None = None) -> QuerySet[DiaryEntry]:
    """Diary entries of enrolments the user may see, for roles that may read clinical data."""
    roles = _clinical_roles(user, role)
    if not roles:
        return DiaryEntry.objects.none()
    scope = Q(pk__in=[])
    for r in roles:
        scope |= Q(enrolment__in=enrolments_for(user, role=r))
    return DiaryEntry.objects.filter(scope)


def reports_for(user: User, *, role: Role | None = None) -> QuerySet[Report]:
    """Reports of enrolments the user may see, for roles that may read clinical data."""
    roles = _clinical_roles(user, role)
    if not roles:
        return Report.objects.none()
    scope = Q(pk__in=[])
    for r in roles:
        scope |= Q(enrolment__in=enrolments_for(user, role=r))
    return Report.objects.filter(scope)


def activities_for(user: User, *, role: Role | None = None) -> QuerySet[Activity]:
    """Activities the user may see: an operator's own work, or those of visible enrolments."""
    scope: Q | None = None
    for r in _roles(user, role):
        if r == "client":
            continue
        if r == "operator":
            q = Q(assignee=user.operator_profile)
            if user.operator_profile.is_clinical:
                q |= Q(enrolment__in=enrolments_for(user, role="operator"))
        else:
            q = Q(enrolment__in=enrolments_for(user, role=r))
        scope = q if scope is None else scope | q
    if scope is None:
        return Activity.objects.none()
    return Activity.objects.filter(scope)


# --- object checks ----------------------------------------------------------------------------


def can_view_enrolment(user: User, enrolment: Enrolment, *, role: Role | None = None) -> bool:
    return enrolments_for(user, role=role).filter(pk=enrolment.pk).exists()


def can_manage_program(user: User, program: Program) -> bool:
    return user.is_superuser or has_program_perm(user, program, "manage_program")


def can_manage_enrolment(user: User, enrolment: Enrolment) -> bool:
    """Provider staff of the enrolment's program may change its status, team and consents."""
    return can_manage_program(user, enrolment.program)


def can_refer_to_program(user: User, program: Program) -> bool:
    return can_manage_program(user, program) or (
        has_role(user, "doctor") and has_program_perm(user, program, "follow_program")
    )


def can_act_for_patient(user: User, patient: Patient, right: str | None = None) -> bool:
    """The patient herself, or a caregiver whose active delegation carries ``right``."""
    if patient.user_id is not None and patient.user_id == user.pk:
        return True
    delegations = Delegation.objects.active().filter(caregiver__user=user, patient=patient)
    if right:
        delegations = delegations.filter(**{right: True})
    return delegations.exists()


def takes_calls_for(user: User, patient: Patient) -> bool:
    """A clinical operator who may open the patient's timeline (a counsellor of her programs)."""
    return (
        has_role(user, "operator")
        and sees_clinical_data(user, "operator")
        and patients_for(user, role="operator").filter(pk=patient.pk).exists()
    )


def can_manage_delegations(user: User, patient: Patient) -> bool:
    """The patient herself, or provider staff of one of her programs."""
    if patient.user_id is not None and patient.user_id == user.pk:
        return True
    if not has_role(user, "provider_staff"):
        return False
    return enrolments_for(user, role="provider_staff").filter(patient=patient).exists()
