"""Validation of care-pathway steps: clear messages for a bad RRULE, anchors and windows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from dateutil.rrule import rrulestr
from django.utils.translation import gettext as _

# Parts of an RRULE the pathway controls itself: the start comes from the anchor.
FORBIDDEN_RRULE_PARTS = ("DTSTART",)


def rrule_error(text: str) -> str | None:
    """A human sentence when ``text`` is not a usable RFC 5545 RRULE, else ``None``."""
    text = (text or "").strip()
    if not text:
        return None
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    upper = text.upper()
    if any(part in upper for part in FORBIDDEN_RRULE_PARTS):
        return _("Leave DTSTART out: the step's anchor and offset give the first date.")
    if "FREQ=" not in upper:
        return _("An RRULE needs a frequency, e.g. FREQ=WEEKLY;INTERVAL=4.")
    try:
        rule = rrulestr(text, dtstart=dt.datetime(2026, 1, 1))  # noqa: DTZ001 (dates only)
        next(iter(rule), None)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return _("This is not a valid RFC 5545 recurrence rule (%(error)s).") % {"error": exc}
    return None


def normalize_rrule(text: str) -> str:
    text = (text or "").strip()
    return text[6:] if text.upper().startswith("RRULE:") else text


def step_errors(step: Any) -> dict[str, str]:
    """Field errors of one step on its own (anchors across steps: :func:`anchor_cycle`)."""
    errors: dict[str, str] = {}
    message = rrule_error(step.rrule)
    if message:
        errors["rrule"] = message
    if step.anchor == "step":
        if not step.anchor_step_id:
            errors["anchor_step"] = _("Choose the step this one is anchored on.")
        elif step.pk and step.anchor_step_id == step.pk:
            errors["anchor_step"] = _("A step cannot be anchored on itself.")
        else:
            anchor = step.anchor_step
            owner_ok = (anchor.program_id, anchor.template_id) == (
                step.program_id,
                step.template_id,
            )
            if not owner_ok:
                errors["anchor_step"] = _("Anchor a step on a step of the same pathway.")
            elif step.pk and anchor_cycle(step.pk, step.anchor_step_id, _anchor_map(step)):
                errors["anchor_step"] = _(
                    "These anchors form a cycle: a step would wait for itself."
                )
    elif step.anchor_step_id:
        errors["anchor_step"] = _("Only a step anchored on another step names an anchor step.")
    if step.window_start and step.window_end and step.window_end <= step.window_start:
        errors["window_end"] = _("The time window must end after it starts.")
    if step.rrule and step.anchor == "step":
        errors["rrule"] = _(
            "A step anchored on another step follows its occurrences: leave the recurrence empty."
        )
    for field in ("risk_profiles", "required_skills"):
        value = getattr(step, field, None)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            errors[field] = _("Give a list of names.")
    return errors


def _anchor_map(step: Any) -> dict[int, int | None]:
    from ..models import CarePathwayStep

    siblings = CarePathwayStep.objects.filter(
        program_id=step.program_id, template_id=step.template_id
    ).values_list("pk", "anchor_step_id")
    return dict(siblings)


def anchor_cycle(step_id: int, anchor_id: int | None, anchors: dict[int, int | None]) -> bool:
    """Whether anchoring ``step_id`` on ``anchor_id`` closes a loop among ``anchors``."""
    seen = {step_id}
    current = anchor_id
    while current is not None:
        if current in seen:
            return True
        seen.add(current)
        current = anchors.get(current)
    return False


def pathway_cycles(edges: Iterable[tuple[Any, Any]]) -> list[Any]:
    """Keys of steps caught in an anchor cycle, from (step, anchor) pairs (``None``: a root)."""
    anchors = dict(edges)
    return [key for key, anchor in anchors.items() if anchor_cycle(key, anchor, anchors)]
