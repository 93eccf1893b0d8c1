"""Program writes: creating programs and granting who works in them."""

from __future__ import annotations

from django.db import transaction

from .. import access
from ..errors import AccessDenied, DomainError
from ..models import ClientUser, Doctor, Operator, Organization, Program, ProviderStaff, User
from .audit import audit_write


def _require_program_manager(actor: User, program: Program) -> None:
    if not access.can_manage_program(actor, program):
        raise AccessDenied("Only provider staff of this program may change who works in it.")


@transaction.atomic
def program_create(
    *,
    actor: User,
    code: str,
    name: str,
    pathology: str,
    sponsor: Organization,
    provider: Organization,
    **fields,
) -> Program:
    """Create a program and give the provider's staff and the sponsor's users their grants."""
    staff_profile = getattr(actor, "provider_staff_profile", None)
    if not actor.is_superuser and (
        staff_profile is None or staff_profile.organization_id != provider.pk
    ):
        raise AccessDenied("Only the provider's staff may create its programs.")
    if sponsor.kind != Organization.Kind.PHARMA:
        raise DomainError({"sponsor": "The sponsor must be a pharma company."})
    if provider.kind != Organization.Kind.PROVIDER:
        raise DomainError({"provider": "The provider must be a PSP provider."})
    if Program.objects.filter(code=code).exists():
        raise DomainError({"code": f"A program with code {code} already exists."})
    program = Program.objects.create(
        code=code, name=name, pathology=pathology, sponsor=sponsor, provider=provider, **fields
    )
    access.grant_program_perms(
        access.provider_staff_group(provider),
        program,
        access.PROGRAM_PERMS_BY_ROLE["provider_staff"],
    )
    access.grant_program_perms(
        access.client_group(sponsor), program, access.PROGRAM_PERMS_BY_ROLE["client"]
    )
    audit_write(actor=actor, action="create", verb="program.create", obj=program)
    return program


@transaction.atomic
def program_add_doctor(*, actor: User, program: Program, doctor: Doctor) -> None:
    """Let a doctor take part in a program (he then sees the patients he follows in it)."""
    _require_program_manager(actor, program)
    access.grant_role_programs(doctor.user, "doctor", [program])
    audit_write(
        actor=actor,
        action="grant",
        verb="program.add_doctor",
        obj=program,
        detail={"doctor": doctor.pk},
    )


@transaction.atomic
def program_add_operator(*, actor: User, program: Program, operator: Operator) -> None:
    """Staff a program with an operator."""
    _require_program_manager(actor, program)
    access.grant_role_programs(operator.user, "operator", [program])
    audit_write(
        actor=actor,
        action="grant",
        verb="program.add_operator",
        obj=program,
        detail={"operator": operator.pk},
    )


@transaction.atomic
def provider_staff_join(*, actor: User, staff: ProviderStaff) -> None:
    """Put a provider employee in the groups that hold their provider's program grants."""
    if not actor.is_superuser:
        raise AccessDenied("Only an administrator may add provider staff.")
    staff.user.is_staff = True
    staff.user.save(update_fields=["is_staff"])
    staff.user.groups.add(
        access.role_group("provider_staff"), access.provider_staff_group(staff.organization)
    )
    audit_write(actor=actor, action="grant", verb="provider_staff.join", obj=staff)


@transaction.atomic
def client_user_join(*, actor: User, client: ClientUser) -> None:
    """Put a pharma user in the group that holds their company's program grants."""
    if not actor.is_superuser:
        raise AccessDenied("Only an administrator may add client users.")
    client.user.groups.add(access.role_group("client"), access.client_group(client.organization))
    audit_write(actor=actor, action="grant", verb="client_user.join", obj=client)
