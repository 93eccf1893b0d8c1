"""Doctor portal forms."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portals.common.forms import AdverseEventFacts
from psp_crm.models import AdverseEvent, Patient

ADHERENCE_THRESHOLDS = (("", _("Any adherence")), ("80", _("Below 80%")), ("50", _("Below 50%")))


class PatientSearchForm(forms.Form):
    """Search the followed patients by name or code; filter by program, adherence, unread."""

    q = forms.CharField(
        label=_("Name or code"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    program = forms.ChoiceField(label=_("Program"), required=False)
    below = forms.ChoiceField(
        label=_("Adherence (30 days)"), required=False, choices=ADHERENCE_THRESHOLDS
    )
    unread = forms.BooleanField(label=_("Unread reports only"), required=False)

    def __init__(self, *args, programs=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].choices = [("", _("All programs"))] + [
            (p.code, f"{p.code} — {p.name}") for p in programs
        ]

    def threshold(self) -> float | None:
        value = self.cleaned_data.get("below") if hasattr(self, "cleaned_data") else None
        return int(value) / 100 if value else None


class ReplyForm(forms.Form):
    """The doctor's answer to a report."""

    body = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 4}))


class NoteForm(forms.Form):
    """A private note only the doctor who writes it will read."""

    body = forms.CharField(
        label=_("Private note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text=_("Only you can read your notes."),
    )


class ReferralForm(forms.Form):
    """Refer a new patient to a program; the provider's staff then collect the consent."""

    program = forms.ChoiceField(label=_("Program"))
    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    birth_date = forms.DateField(
        label=_("Birth date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=Patient.Sex.choices, initial=Patient.Sex.OTHER)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    email = forms.EmailField(label=_("Contact e-mail"), required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    dose = forms.CharField(label=_("Dose"), max_length=100, required=False)
    frequency = forms.CharField(label=_("Frequency"), max_length=100, required=False)

    def __init__(self, *args, programs=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].choices = [(p.code, f"{p.code} — {p.name}") for p in programs]


class AdverseEventForm(AdverseEventFacts):
    """Flag a suspected adverse event of a followed patient (from the diary or the visit)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("initial", {}).setdefault("reporter_type", AdverseEvent.Reporter.DOCTOR)
        super().__init__(*args, **kwargs)
        self.fields["reporter_type"].choices = [
            (AdverseEvent.Reporter.DOCTOR, AdverseEvent.Reporter.DOCTOR.label),
            (AdverseEvent.Reporter.PATIENT, AdverseEvent.Reporter.PATIENT.label),
        ]
        self.fields["first_known_at"].help_text = _(
            "When you first knew of it: the forwarding clock starts here."
        )
