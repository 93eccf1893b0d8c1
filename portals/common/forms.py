"""Forms more than one portal uses."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from psp_crm.models import (
    Activity,
    AdverseEvent,
    ContactPreferences,
    Enrolment,
    Language,
    Patient,
    User,
)
from psp_crm.selectors.timeline import CHANNELS
from psp_crm.services.adverse_events import adverse_event_capture
from psp_crm.services.interactions import SUMMARY_MAX


class TimelineFilterForm(forms.Form):
    """Filter a patient's timeline by channel and program (both optional)."""

    channel = forms.MultipleChoiceField(
        label=_("Channels"),
        choices=CHANNELS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    program = forms.ChoiceField(label=_("Program"), required=False)

    def __init__(self, *args, programs=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.programs = {p.code: p for p in programs}
        self.fields["program"].choices = [("", _("All programs"))] + [
            (p.code, f"{p.code} — {p.name}") for p in programs
        ]

    def filters(self) -> dict:
        """The selector's keyword arguments (an invalid filter is ignored, not an error)."""
        if not self.is_valid():
            return {"channels": None, "program": None}
        return {
            "channels": self.cleaned_data["channel"] or None,
            "program": self.programs.get(self.cleaned_data["program"]),
        }


class AdverseEventFacts(forms.Form):
    """The facts of a suspected adverse event every portal asks for (pharmacovigilance needs
    them later); a portal's form adds where it was reported from.

    ``capture`` hands the valid facts to the capture service: the rules live there.
    """

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
        label=_("First reported by"), choices=AdverseEvent.Reporter.choices, initial="patient"
    )
    first_known_at = forms.DateTimeField(
        label=_("First known at"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("When it was first known: the forwarding clock starts here."),
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, products=(), **kwargs: Any) -> None:
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

    def capture(
        self, *, actor: User, patient: Patient, enrolment: Enrolment, **source: Any
    ) -> AdverseEvent:
        """Record the event through the service (``source``: channel and where it came from)."""
        data = self.cleaned_data
        return adverse_event_capture(
            actor=actor,
            patient=patient,
            enrolment=enrolment,
            reaction=data["reaction"],
            description=data["description"],
            onset_date=data["onset_date"],
            seriousness=data["seriousness"],
            suspect_product=self.products.get(data.get("suspect_product")),
            reporter_type=data["reporter_type"],
            first_known_at=data["first_known_at"],
            **source,
        )


# --- contact choices (the patient's portal, and the contact centre on her call) ---------------


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", **kwargs)


class ContactPreferencesForm(forms.Form):
    """Language, quiet hours and the time of dose reminders."""

    language = forms.ChoiceField(label=_("Language of messages"), choices=Language.choices)
    quiet_start = forms.TimeField(
        label=_("Quiet hours from"),
        required=False,
        widget=TimeInput(),
        help_text=_("No SMS, e-mail or push in the quiet hours; leave both empty for none."),
    )
    quiet_end = forms.TimeField(label=_("Quiet hours until"), required=False, widget=TimeInput())
    reminder_time = forms.TimeField(label=_("Dose reminders at"), widget=TimeInput())

    @classmethod
    def for_preferences(
        cls, prefs: ContactPreferences, data: Any = None, *, prefix: str = "contact"
    ) -> ContactPreferencesForm:
        """The form filled with the patient's current choices (bound to ``data`` when posted)."""
        initial = {
            "language": prefs.language,
            "quiet_start": prefs.quiet_start,
            "quiet_end": prefs.quiet_end,
            "reminder_time": prefs.reminder_time,
        }
        return cls(data, initial=initial, prefix=prefix)


class AppointmentAnswerForm(forms.Form):
    """Her answer to an appointment: she will be there, or she asks to change it (why, when)."""

    answer = forms.ChoiceField(
        label=_("Answer"),
        choices=[
            (Activity.PatientAnswer.CONFIRMED, _("I will be there")),
            (Activity.PatientAnswer.CHANGE_REQUESTED, _("I need to change it")),
        ],
    )
    note = forms.CharField(
        label=_("A note for the team (optional)"),
        help_text=_("e.g. the days and times that suit you better"),
        required=False,
        max_length=SUMMARY_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
