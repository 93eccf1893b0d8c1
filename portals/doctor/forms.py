"""Doctor portal forms."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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


class AdverseEventForm(forms.Form):
    """Flag a suspected adverse event of a followed patient (from the diary or the visit)."""

    reaction = forms.CharField(
        label=_("Reaction"), max_length=200, help_text=_("e.g. rash on both arms")
    )
    onset_date = forms.DateField(
        label=_("Onset date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    seriousness = forms.ChoiceField(
        label=_("Seriousness"), choices=AdverseEvent.Seriousness.choices, initial="non_serious"
    )
    suspect_product = forms.TypedChoiceField(
        label=_("Suspect product"), coerce=int, required=False, empty_value=None
    )
    reporter_type = forms.ChoiceField(
        label=_("First reported by"),
        choices=[
            (AdverseEvent.Reporter.DOCTOR, AdverseEvent.Reporter.DOCTOR.label),
            (AdverseEvent.Reporter.PATIENT, AdverseEvent.Reporter.PATIENT.label),
        ],
        initial=AdverseEvent.Reporter.DOCTOR,
    )
    first_known_at = forms.DateTimeField(
        label=_("First known at"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("When you first knew of it: the forwarding clock starts here."),
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, products=(), **kwargs) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault(
            "first_known_at", timezone.localtime().replace(second=0, microsecond=0)
        )
        super().__init__(*args, **kwargs)
        self.products = {product.pk: product for product in products}
        self.fields["suspect_product"].choices = [("", _("The patient's current product"))] + [
            (product.pk, product.name) for product in products
        ]

    def clean_onset_date(self):
        day = self.cleaned_data["onset_date"]
        if day is not None and day > timezone.localdate():
            raise forms.ValidationError(_("The onset date cannot be in the future."))
        return day

    def product(self):
        return self.products.get(self.cleaned_data.get("suspect_product"))
