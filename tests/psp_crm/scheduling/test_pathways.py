"""Program design: step validation (RRULE, anchors, cycles, windows) and cloning."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from psp_crm.errors import AccessDenied, DomainError
from psp_crm.models import CarePathwayStep, ProgramTemplate
from psp_crm.scheduling.rules import rrule_error
from psp_crm.services.pathways import (
    program_clone,
    template_clone,
    validate_pathway,
    validate_step,
)
from tests.factories import OperatorFactory

from .conftest import module


@pytest.mark.parametrize(
    ("rrule", "fragment"),
    [
        ("FREQ=FORTNIGHTLY", "valid RFC 5545"),
        ("INTERVAL=2", "needs a frequency"),
        ("FREQ=WEEKLY;BYDAY=XX", "valid RFC 5545"),
        ("DTSTART:20260101\nRRULE:FREQ=DAILY", "DTSTART"),
    ],
)
def test_bad_rrules_get_a_clear_message(rrule, fragment):
    assert fragment in rrule_error(rrule)


@pytest.mark.parametrize("rrule", ["", "FREQ=WEEKLY;INTERVAL=4", "RRULE:FREQ=MONTHLY;COUNT=6"])
def test_good_rrules_pass(rrule):
    assert rrule_error(rrule) is None


def test_model_clean_refuses_a_bad_step(pw):
    pw.call.rrule = "FREQ=NEVER"
    with pytest.raises(ValidationError) as error:
        pw.call.full_clean()
    assert "rrule" in error.value.error_dict
    with pytest.raises(DomainError):
        validate_step(pw.call)


def test_self_anchor_and_cycles_are_refused(pw):
    pw.pickup.anchor_step = pw.pickup
    with pytest.raises(DomainError, match="itself"):
        validate_step(pw.pickup)
    # infusion → pickup → infusion
    pw.pickup.anchor_step = pw.infusion
    pw.infusion.anchor = "step"
    pw.infusion.anchor_step = pw.pickup
    with pytest.raises(DomainError, match="cycle"):
        validate_pathway([pw.infusion, pw.pickup])


def test_window_must_end_after_it_starts(pw):
    pw.call.window_start, pw.call.window_end = dt.time(14), dt.time(9)
    with pytest.raises(DomainError) as error:
        validate_step(pw.call)
    assert "window_end" in error.value.error_dict


def test_clone_program_copies_the_pathway_with_its_anchors(pw):
    clone = program_clone(actor=pw.staff, program=pw.program, code="FAC-CLONE-1")
    steps = {s.name: s for s in clone.pathway_steps.all()}
    assert set(steps) == set(pw.program.pathway_steps.values_list("name", flat=True))
    assert steps["Pickup"].anchor_step == steps["Infusion"]
    assert clone.status == "design" and clone.provider == pw.program.provider
    # Editing the clone never changes the original.
    steps["Infusion"].rrule = "FREQ=WEEKLY;INTERVAL=2"
    steps["Infusion"].save()
    pw.infusion.refresh_from_db()
    assert pw.infusion.rrule == "FREQ=WEEKLY;INTERVAL=4"


def test_only_staff_of_the_program_may_clone(pw):
    operator = OperatorFactory(programs=[pw.program])
    with pytest.raises(AccessDenied):
        program_clone(actor=operator.user, program=pw.program, code="FAC-NOPE")


def test_clone_template(pw):
    template = ProgramTemplate.objects.create(name="Factory template", pathology="ms")
    first = CarePathwayStep.objects.create(
        template=template, module=module("home-infusion"), rrule="FREQ=WEEKLY;INTERVAL=4"
    )
    CarePathwayStep.objects.create(
        template=template, module=module("waste-pickup"), anchor="step", anchor_step=first
    )
    clone = template_clone(actor=pw.staff, template=template, name="Factory template (copy)")
    copies = list(clone.pathway_steps.order_by("pk"))
    assert len(copies) == 2 and copies[1].anchor_step == copies[0]
    with pytest.raises(DomainError):
        template_clone(actor=pw.staff, template=template, name="Factory template (copy)")
