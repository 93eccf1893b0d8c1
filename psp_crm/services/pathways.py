"""Program design: validate a pathway, clone a template or a program to replicate it.

A clone copies the steps (anchors re-pointed at the copies), so editing a program never changes
the template it came from, and editing a template never changes the programs built from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from .. import access
from ..errors import AccessDenied, DomainError
from ..models import CarePathwayStep, Program, ProgramTemplate, User
from ..scheduling.rules import pathway_cycles, step_errors
from .audit import audit_write
from .programs import program_create

STEP_FIELDS = (
    "module_id",
    "name",
    "anchor",
    "offset_days",
    "rrule",
    "occurrence_limit",
    "end_after_days",
    "risk_profiles",
    "performer_role",
    "partner_id",
    "window_start",
    "window_end",
    "duration_minutes",
    "on_request",
    "position",
    "required_skills",
    "reschedule_policy",
    "reschedule_after_days",
    "max_reschedules",
)


def validate_step(step: CarePathwayStep) -> None:
    """Raise a DomainError with field messages when a step is not valid on its own."""
    errors = step_errors(step)
    if errors:
        raise DomainError(errors)


def validate_pathway(steps: Sequence[CarePathwayStep]) -> None:
    """Every step valid, and no anchor cycle among them (keys may be unsaved objects)."""
    errors: list[str] = []
    for step in steps:
        for field, message in step_errors(step).items():
            errors.append(f"{step.name or step.module}: {field}: {message}")
    cyclic = pathway_cycles(
        (id(s), id(s.anchor_step) if s.anchor == "step" and s.anchor_step_id else None)
        for s in steps
    )
    if cyclic:
        errors.append(_("These anchors form a cycle: a step would wait for itself."))
    if errors:
        raise DomainError(errors)


def _require_staff(actor: User) -> None:
    if not access.has_role(actor, "provider_staff"):
        raise AccessDenied(_("Only provider staff design programs."))


def _copy_steps(
    steps: Iterable[CarePathwayStep],
    *,
    program: Program | None = None,
    template: ProgramTemplate | None = None,
) -> int:
    """Copy steps to a new owner, roots first so that anchors can point at the copies."""
    source = list(steps)
    copies: dict[int, CarePathwayStep] = {}
    pending = source
    while pending:
        ready = [s for s in pending if s.anchor_step_id is None or s.anchor_step_id in copies]
        if not ready:
            raise DomainError(_("These anchors form a cycle: a step would wait for itself."))
        for step in ready:
            copy = CarePathwayStep(
                program=program,
                template=template,
                anchor_step=copies.get(step.anchor_step_id) if step.anchor_step_id else None,
                **{name: getattr(step, name) for name in STEP_FIELDS},
            )
            copy.save()
            copies[step.pk] = copy
        pending = [s for s in pending if s.pk not in copies]
    return len(copies)


@transaction.atomic
def template_clone(*, actor: User, template: ProgramTemplate, name: str) -> ProgramTemplate:
    """A copy of a template (modules and steps) under a new name."""
    _require_staff(actor)
    name = name.strip()
    if not name:
        raise DomainError({"name": _("Give the new template a name.")})
    if ProgramTemplate.objects.filter(name=name).exists():
        raise DomainError({"name": _("A template with this name already exists.")})
    clone = ProgramTemplate.objects.create(
        name=name, pathology=template.pathology, description=template.description
    )
    clone.modules.set(template.modules.all())
    count = _copy_steps(template.pathway_steps.all(), template=clone)
    audit_write(
        actor=actor,
        action="create",
        verb="template.clone",
        obj=clone,
        detail={"from": template.pk, "steps": count},
    )
    return clone


@transaction.atomic
def program_from_template(*, actor: User, template: ProgramTemplate, program: Program) -> Program:
    """Give a program (in design) a copy of the template's pathway."""
    if not access.can_manage_program(actor, program):
        raise AccessDenied(_("Only provider staff of this program may design it."))
    if program.status != Program.Status.DESIGN:
        raise DomainError(_("Only a program in design can take a template's pathway."))
    if program.pathway_steps.exists():
        raise DomainError(_("This program already has a pathway."))
    count = _copy_steps(template.pathway_steps.all(), program=program)
    program.template = template
    program.save(update_fields=["template"])
    audit_write(
        actor=actor,
        action="update",
        verb="program.apply_template",
        obj=program,
        detail={"template": template.pk, "steps": count},
    )
    return program


@transaction.atomic
def program_clone(*, actor: User, program: Program, code: str, name: str = "") -> Program:
    """Replicate a program: same parties, products and pathway, in design, under a new code."""
    if not access.can_manage_program(actor, program):
        raise AccessDenied(_("Only provider staff of this program may replicate it."))
    clone = program_create(
        actor=actor,
        code=code,
        name=name or program.name,
        pathology=program.pathology,
        sponsor=program.sponsor,
        provider=program.provider,
        template=program.template,
        status=Program.Status.DESIGN,
        adverse_event_sla_hours=program.adverse_event_sla_hours,
        gamification_enabled=program.gamification_enabled,
        annual_budget_eur=program.annual_budget_eur,
    )
    clone.products.set(program.products.all())
    count = _copy_steps(program.pathway_steps.all(), program=clone)
    audit_write(
        actor=actor,
        action="create",
        verb="program.clone",
        obj=clone,
        detail={"from": program.pk, "steps": count},
    )
    return clone
