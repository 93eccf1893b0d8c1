"""The words of a message: the variables each purpose offers, template lookup and rendering.

Templates use ``{name}`` placeholders (``str.format`` syntax without attribute or index access:
a template is written by staff and must never reach into the objects behind the values). Every
value is rendered as text; an unknown placeholder is refused when the template is saved, a
missing value when the message is rendered.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Q

from ..errors import DomainError
from ..models import Language, MessageTemplate, Program, Purpose

_ACTIVITY = frozenset({"first_name", "program", "activity", "date", "time", "window"})

# The variables each purpose offers to its templates.
VARIABLES: dict[str, frozenset[str]] = {
    Purpose.DOSE_REMINDER: frozenset({"first_name", "program", "product", "dose", "time"}),
    Purpose.ACTIVITY_CONFIRMATION: _ACTIVITY,
    Purpose.ACTIVITY_RESCHEDULED: _ACTIVITY,
    Purpose.REPORT_NOTIFICATION: frozenset({"first_name", "program", "author", "report_title"}),
    Purpose.CASE_UPDATE: frozenset({"first_name", "case", "status"}),
    Purpose.GENERAL: frozenset({"first_name", "program", "text"}),
}
# Templates fall back to this language when none exists in the patient's.
FALLBACK_LANGUAGE = Language.ITALIAN

_formatter = string.Formatter()


class TemplateVariableMissing(DomainError):
    """A template asks for a variable the message's context does not provide."""

    def __init__(self, missing: set[str], *, field: str = "body") -> None:
        self.missing = sorted(missing)
        names = ", ".join(f"{{{name}}}" for name in self.missing)
        noun = "variable" if len(self.missing) == 1 else "variables"
        super().__init__({field: f"The template needs the {noun} {names}, which is not given."})


def _pieces(text: str) -> list[tuple[str, str | None, str, str | None]]:
    """``string.Formatter().parse`` as a list; raises ValueError on a malformed template."""
    return list(_formatter.parse(text or ""))


def _check_field(name: str, spec: str) -> None:
    if not name:
        raise ValueError("an empty placeholder {} must name its variable, e.g. {first_name}")
    if not name.isidentifier():
        raise ValueError(f"{{{name}}} is not a variable name (no dots, brackets or spaces)")
    if "{" in spec or "}" in spec:
        raise ValueError(f"{{{name}}} has a nested placeholder in its format")


def template_variables(text: str) -> set[str]:
    """The variable names a template text uses; ValueError if the text is malformed."""
    names = set()
    for _literal, name, spec, _conversion in _pieces(text):
        if name is None:
            continue
        _check_field(name, spec or "")
        names.add(name)
    return names


def validate_template(subject: str, body: str, purpose: str) -> None:
    """Refuse placeholders the purpose does not offer, and malformed ones (DomainError)."""
    offered = VARIABLES.get(purpose, frozenset())
    listed = ", ".join(sorted(offered)) or "none"
    errors: dict[str, str] = {}
    for field, text in (("subject", subject), ("body", body)):
        try:
            used = template_variables(text)
        except ValueError as exc:
            errors[field] = (
                f"This text has a broken placeholder ({exc}). Write variables as {{first_name}};"
                " to show a brace, double it: {{ or }}."
            )
            continue
        unknown = sorted(used - offered)
        if unknown:
            names = ", ".join(f"{{{name}}}" for name in unknown)
            word = "variable" if len(unknown) == 1 else "variables"
            errors[field] = f"Unknown {word} {names}: this purpose offers {listed}."
    if errors:
        raise DomainError(errors)


def find_template(
    program: Program | None, purpose: str, channel: str, language: str
) -> MessageTemplate | None:
    """The active template to use, most specific first (one query).

    The program's own in the language, then the provider-wide default in the language, then
    the program's and the default in Italian.
    """
    languages = {language, FALLBACK_LANGUAGE}
    candidates = MessageTemplate.objects.filter(
        purpose=purpose, channel=channel, is_active=True, language__in=languages
    ).select_related("program")
    if program is not None:
        candidates = candidates.filter(program__isnull=True) | candidates.filter(program=program)
    else:
        candidates = candidates.filter(program__isnull=True)

    def rank(template: MessageTemplate) -> tuple[int, int]:
        return (template.language != language, template.program_id is None)

    found = sorted(candidates, key=rank)
    return found[0] if found else None


def _render_text(text: str, context: Mapping[str, Any], field: str) -> str:
    try:
        pieces = _pieces(text)
        for _literal, name, spec, _conversion in pieces:
            if name is not None:
                _check_field(name, spec or "")
    except ValueError as exc:
        raise DomainError({field: f"The template is broken: {exc}."}) from None
    missing = {name for _l, name, _s, _c in pieces if name is not None and name not in context}
    if missing:
        raise TemplateVariableMissing(missing, field=field)
    out = []
    for literal, name, spec, conversion in pieces:
        out.append(literal)
        if name is None:
            continue
        value: Any = context[name]
        value = "" if value is None else value
        if conversion == "r":
            value = repr(value)
        try:
            out.append(format(str(value) if conversion else value, spec or ""))
        except (TypeError, ValueError):
            out.append(str(value))
    return "".join(out)


def render(template_or_text: MessageTemplate | str, context: Mapping[str, Any]) -> tuple[str, str]:
    """``(subject, body)`` of a template (or of a free text) filled with ``context``.

    Raises ``TemplateVariableMissing`` naming every variable the context lacks.
    """
    if isinstance(template_or_text, MessageTemplate):
        subject_text, body_text = template_or_text.subject, template_or_text.body
    else:
        subject_text, body_text = "", template_or_text
    missing: set[str] = set()
    rendered = []
    for field, text in (("subject", subject_text), ("body", body_text)):
        try:
            rendered.append(_render_text(text, context, field))
        except TemplateVariableMissing as exc:
            missing.update(exc.missing)
    if missing:
        raise TemplateVariableMissing(missing)
    return rendered[0], rendered[1]


class TemplateCache:
    """``find_template`` for a bulk run: the templates of many programs loaded in one query.

    ``preload`` reads every active template of the given purposes, provider-wide or of the given
    programs; ``find`` then chooses exactly as ``find_template`` does (the program's own in the
    language, the default in the language, then the same in Italian). Anything not preloaded is
    looked up with ``find_template`` once and remembered.
    """

    def __init__(self) -> None:
        self._loaded: set[tuple[int | None, str]] = set()
        self._templates: dict[tuple[str, str], list[MessageTemplate]] = {}
        self._found: dict[tuple[int | None, str, str, str], MessageTemplate | None] = {}

    def preload(self, programs: Iterable[Program], purposes: Iterable[str]) -> None:
        program_ids = {program.pk for program in programs}
        wanted = {
            (program_id, purpose)
            for program_id in (*program_ids, None)
            for purpose in set(purposes)
        } - self._loaded
        if not wanted:
            return
        missing_programs = {program_id for program_id, _p in wanted if program_id is not None}
        missing_purposes = {purpose for _program_id, purpose in wanted}
        found = MessageTemplate.objects.filter(
            Q(program__isnull=True) | Q(program_id__in=missing_programs),
            purpose__in=missing_purposes,
            is_active=True,
        ).select_related("program")
        for template in found:
            key = (template.program_id, template.purpose)
            if key in self._loaded:
                continue  # already known
            self._templates.setdefault((template.purpose, template.channel), []).append(template)
        self._loaded |= wanted

    def find(
        self, program: Program | None, purpose: str, channel: str, language: str
    ) -> MessageTemplate | None:
        program_id = program.pk if program is not None else None
        key = (program_id, purpose, channel, language)
        if key in self._found:
            return self._found[key]
        if (program_id, purpose) in self._loaded and (None, purpose) in self._loaded:
            languages = {language, FALLBACK_LANGUAGE}
            candidates = [
                template
                for template in self._templates.get((purpose, channel), [])
                if template.language in languages and template.program_id in (None, program_id)
            ]
            candidates.sort(key=lambda t: (t.language != language, t.program_id is None))
            template = candidates[0] if candidates else None
        else:
            template = find_template(program, purpose, channel, language)
        self._found[key] = template
        return template
