"""Patient portal forms: diary entries by kind, corrections, reports, delegations and contact
preferences.

The forms only read input; the rules (units, plausible ranges, rights, the edit window) live in
the services, whose field messages are put back on the form by ``apply_domain_errors``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from psp_crm.models import Channel, DiaryEntry
from psp_crm.models.diary import symptoms_for_pathology
from psp_crm.services.diary import UNIT_CONVERSIONS

INJECTION_SITES = ("abdomen", "left thigh", "right thigh", "upper arm", "other")
MOODS = (
    (1, _("1 · very low")),
    (2, _("2 · low")),
    (3, _("3 · so-so")),
    (4, _("4 · good")),
    (5, _("5 · very good")),
)


def apply_domain_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's field messages on the form's fields (or on top when it has no such field)."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            target = field if field in form.fields else None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def _now_local() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


class DiaryEntryForm(forms.Form):
    """One diary entry of ``kind``; the fields shown depend on the kind."""

    enrolment = forms.TypedChoiceField(label=_("Program"), coerce=int)
    occurred_at = forms.DateTimeField(label=_("When"), widget=LocalDateTimeInput())
    dose_status = forms.ChoiceField(
        label=_("Dose"), choices=DiaryEntry.DoseStatus.choices, widget=forms.RadioSelect
    )
    injection_site = forms.ChoiceField(
        label=_("Injection site"),
        required=False,
        choices=[("", _("Not an injection / not noted"))] + [(s, _(s)) for s in INJECTION_SITES],
    )
    symptom = forms.ChoiceField(label=_("Symptom"))
    severity = forms.IntegerField(
        label=_("Severity (0 = none, 10 = worst)"),
        widget=forms.NumberInput(attrs={"min": 0, "max": 10, "inputmode": "numeric"}),
    )
    measurement = forms.ChoiceField(label=_("Measurement"), choices=DiaryEntry.Measurement.choices)
    value = forms.CharField(
        label=_("Value (systolic for blood pressure)"),
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    value_secondary = forms.CharField(
        label=_("Diastolic (blood pressure only)"),
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    unit = forms.ChoiceField(
        label=_("Unit"),
        required=False,
        choices=[("", _("Usual unit"))]
        + [(u, u) for units in UNIT_CONVERSIONS.values() for u in units],
        help_text=_("Glucose in mg/dL or mmol/L, weight in kg or lb, temperature in °C or °F."),
    )
    mood = forms.TypedChoiceField(
        label=_("Mood"), choices=MOODS, coerce=int, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )

    KIND_FIELDS: dict[str, tuple[str, ...]] = {
        "dose": ("dose_status", "injection_site"),
        "symptom": ("symptom", "severity"),
        "measurement": ("measurement", "value", "value_secondary", "unit"),
        "mood": ("mood",),
        "note": (),
    }

    def __init__(self, *args: Any, kind: str, enrolments=(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        keep = {"enrolment", "occurred_at", "note", "reason", *self.KIND_FIELDS[kind]}
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        enrolments = list(enrolments)
        self.fields["enrolment"].choices = [(e.pk, e.program.name) for e in enrolments]
        if len(enrolments) == 1:
            self.fields["enrolment"].initial = enrolments[0].pk
            self.fields["enrolment"].widget = forms.HiddenInput()
        self.fields["occurred_at"].initial = _now_local()
        if kind == "symptom":
            symptoms: list[str] = []
            for enrolment in enrolments:
                for s in symptoms_for_pathology(enrolment.program.pathology):
                    if s not in symptoms:
                        symptoms.append(s)
            if "other" in symptoms:  # "other" always last
                symptoms.remove("other")
                symptoms.append("other")
            self.fields["symptom"].choices = [(s, _(s).capitalize()) for s in symptoms]
        if kind == "note":
            self.fields["note"].required = True

    def service_values(self) -> dict[str, Any]:
        """The values the diary service takes (everything but enrolment and time)."""
        data = self.cleaned_data
        return {f: data.get(f) for f in (*self.KIND_FIELDS[self.kind], "note")}


class CorrectionForm(DiaryEntryForm):
    """A correction of an entry: the same fields, prefilled, plus the reason."""

    reason = forms.CharField(label=_("Why are you correcting it?"), max_length=200, required=False)

    def __init__(self, *args: Any, entry: DiaryEntry, **kwargs: Any) -> None:
        initial = {
            "enrolment": entry.enrolment_id,
            "occurred_at": timezone.localtime(entry.occurred_at).strftime("%Y-%m-%dT%H:%M"),
            **{f: getattr(entry, f) for f in ("dose_status", "injection_site", "symptom")},
            "severity": entry.severity,
            "measurement": entry.measurement,
            "value": f"{entry.value.normalize():f}" if entry.value is not None else "",
            "value_secondary": (
                f"{entry.value_secondary.normalize():f}"
                if entry.value_secondary is not None
                else ""
            ),
            "unit": entry.unit,
            "mood": entry.mood,
            "note": entry.note,
        }
        kwargs.setdefault("initial", initial)
        super().__init__(*args, kind=entry.kind, enrolments=[entry.enrolment], **kwargs)
        self.fields["occurred_at"].initial = initial["occurred_at"]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented recipe)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg,image/*"})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class ReportForm(forms.Form):
    """A report to the doctor, with attachments (PDF, PNG or JPEG)."""

    enrolment = forms.TypedChoiceField(label=_("Program"), coerce=int)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Your message"), widget=forms.Textarea(attrs={"rows": 5}))
    attachments = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_("PDF, PNG or JPEG; up to 5 files of 5 MB each."),
    )

    def __init__(self, *args: Any, enrolments=(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        enrolments = list(enrolments)
        self.fields["enrolment"].choices = [(e.pk, e.program.name) for e in enrolments]
        if len(enrolments) == 1:
            self.fields["enrolment"].initial = enrolments[0].pk
            self.fields["enrolment"].widget = forms.HiddenInput()


class DelegationGrantForm(forms.Form):
    """Let a caregiver act for me, with the rights I choose."""

    caregiver_email = forms.EmailField(label=_("Caregiver's e-mail"))
    relationship = forms.CharField(label=_("Relationship"), max_length=50, required=False)
    can_log_diary = forms.BooleanField(label=_("May log doses and symptoms"), required=False)
    can_send_reports = forms.BooleanField(label=_("May send reports to my doctor"), required=False)


class DelegationChangeForm(forms.Form):
    """Limit or widen a caregiver's rights, or revoke the delegation."""

    can_log_diary = forms.BooleanField(label=_("May log doses and symptoms"), required=False)
    can_send_reports = forms.BooleanField(label=_("May send reports to my doctor"), required=False)
    revoke = forms.BooleanField(required=False, widget=forms.HiddenInput)


# --- contact preferences ----------------------------------------------------------------------


class ChannelConsentForm(forms.Form):
    """Give or withdraw the consent to be contacted on one channel."""

    channel = forms.ChoiceField(label=_("Channel"))
    given = forms.TypedChoiceField(
        label=_("Consent"),
        choices=(("1", _("Given")), ("0", _("Withdrawn"))),
        coerce=lambda value: value == "1",
    )

    def __init__(self, *args: Any, channels=(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = list(channels)


class CaregiverCopiesForm(forms.Form):
    """A caregiver's e-mail copies of the patient's reminders and notices: on or off."""

    delegation = forms.TypedChoiceField(label=_("Caregiver"), coerce=int)
    enabled = forms.TypedChoiceField(
        label=_("Copies"),
        choices=(("1", _("On")), ("0", _("Off"))),
        coerce=lambda value: value == "1",
    )

    def __init__(self, *args: Any, delegations=(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delegations = {d.pk: d for d in delegations}
        self.fields["delegation"].choices = [(d.pk, str(d.caregiver.user)) for d in delegations]


class ChannelPreferencesForm(forms.Form):
    """The purpose × channel grid: one checkbox per cell; cells without consent are read-only."""

    def __init__(self, *args: Any, grid=(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = []
        for row in grid:
            cells = []
            for cell in row.cells:
                name = self.cell_name(row.purpose, cell.channel)
                self.fields[name] = forms.BooleanField(
                    label=f"{row.label}: {Channel(cell.channel).label}",
                    required=False,
                    initial=cell.wanted,
                    disabled=not cell.consented,
                )
                cells.append((cell, name))
            self.rows.append((row, cells))

    @property
    def columns(self) -> list[tuple[str, Any]]:
        """The switchable channels, with their labels, for the grid's header."""
        if not self.rows:
            return []
        return [(cell.channel, Channel(cell.channel).label) for cell, _name in self.rows[0][1]]

    def bound_rows(self) -> list[tuple[Any, list[tuple[Any, forms.BoundField]]]]:
        """Each purpose with its cells and their bound checkboxes, for the template."""
        return [(row, [(cell, self[name]) for cell, name in cells]) for row, cells in self.rows]

    @staticmethod
    def cell_name(purpose: str, channel: str) -> str:
        return f"{purpose}__{channel}"

    def changes(self) -> list[tuple[str, str, bool]]:
        """The cells whose box differs from the current choice: ``(purpose, channel, wanted)``."""
        changed = []
        for row, cells in self.rows:
            for cell, name in cells:
                if not cell.consented:
                    continue  # no consent: the choice is kept as it is
                wanted = bool(self.cleaned_data.get(name))
                if wanted != cell.wanted:
                    changed.append((row.purpose, cell.channel, wanted))
        return changed
