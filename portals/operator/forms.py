"""Operator portal forms: one outcome form per kind of module, reschedule, cancel, no-show."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portals.common.forms import AdverseEventFacts
from psp_crm.models import Activity, Case, Channel, Interaction
from psp_crm.selectors.call_list import CALL_KINDS

BP_PATTERN = re.compile(r"^\d{2,3}/\d{2,3}$")
NURSE_MODULES = frozenset({"home-infusion", "nurse-home-visit", "self-injection-training"})
CALL_CHANNELS = frozenset({"phone", "video"})


class OutcomeForm(forms.Form):
    """The common part: free notes. Subclasses add the module's structured outcome."""

    kind = "generic"
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, activity: Activity, **kwargs: Any) -> None:
        self.activity = activity
        super().__init__(*args, **kwargs)

    def outcome(self) -> dict[str, Any]:
        return {}

    def proof(self) -> str:
        return ""


class NurseVisitForm(OutcomeForm):
    """Nurse visit report with the drug-administration record (counts toward adherence)."""

    kind = "nurse_visit"
    administered = forms.BooleanField(
        label=_("Drug administered"),
        required=False,
        initial=True,
        help_text=_("Recorded in the therapy diary as a dose given by the nurse."),
    )
    dose = forms.CharField(label=_("Dose given"), max_length=100, required=False)
    blood_pressure = forms.CharField(
        label=_("Blood pressure (mmHg)"),
        max_length=7,
        required=False,
        help_text=_("e.g. 120/80"),
    )
    reaction = forms.ChoiceField(
        label=_("Reaction"),
        choices=[("none", _("None")), ("mild", _("Mild")), ("severe", _("Severe"))],
        initial="none",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dose"].initial = self.activity.enrolment.dose

    def clean_blood_pressure(self) -> str:
        value = self.cleaned_data["blood_pressure"].strip()
        if value and not BP_PATTERN.match(value):
            raise forms.ValidationError(_("Write the pressure as systolic/diastolic, e.g. 120/80."))
        return value

    def outcome(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "administered": data["administered"],
            "dose": data["dose"],
            "blood_pressure": data["blood_pressure"],
            "reaction": data["reaction"],
        }


class DeliveryForm(OutcomeForm):
    """Drug delivery: proof of delivery and, for cold-chain drugs, the temperature at hand-over."""

    kind = "delivery"
    proof_of_delivery = forms.CharField(
        label=_("Proof of delivery"),
        max_length=200,
        help_text=_("Who signed, or the OTP the patient confirmed."),
    )
    temperature = forms.DecimalField(
        label=_("Temperature at hand-over (°C)"),
        required=False,
        max_digits=4,
        decimal_places=1,
        min_value=-30,
        max_value=50,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.activity.cold_chain:
            self.fields["temperature"].required = True
        else:
            del self.fields["temperature"]

    def outcome(self) -> dict[str, Any]:
        if "temperature" in self.cleaned_data:
            return {"temperature": str(self.cleaned_data["temperature"])}
        return {}

    def proof(self) -> str:
        return self.cleaned_data["proof_of_delivery"]


class PickupForm(OutcomeForm):
    """Medical-waste pickup: containers collected and the proof."""

    kind = "pickup"
    proof_of_delivery = forms.CharField(
        label=_("Proof of pickup"), max_length=200, initial=_("Container collected and sealed")
    )
    containers = forms.IntegerField(label=_("Containers collected"), min_value=0, initial=1)

    def outcome(self) -> dict[str, Any]:
        return {"containers": self.cleaned_data["containers"]}

    def proof(self) -> str:
        return self.cleaned_data["proof_of_delivery"]


class CallForm(OutcomeForm):
    """A call or video session: reached or not, doses the patient says were missed."""

    kind = "call"
    reached = forms.BooleanField(label=_("Patient reached"), required=False, initial=True)
    doses_missed_reported = forms.IntegerField(
        label=_("Doses missed (reported)"), min_value=0, initial=0, required=False
    )

    def outcome(self) -> dict[str, Any]:
        return {
            "reached": self.cleaned_data["reached"],
            "doses_missed_reported": self.cleaned_data["doses_missed_reported"] or 0,
        }


def outcome_form_class(activity: Activity) -> type[OutcomeForm]:
    code = activity.module.code
    if code == "drug-delivery":
        return DeliveryForm
    if code == "waste-pickup":
        return PickupForm
    if code in NURSE_MODULES:
        return NurseVisitForm
    if activity.module.channel in CALL_CHANNELS:
        return CallForm
    return OutcomeForm


class RescheduleForm(forms.Form):
    """A new window for the activity, with the reason."""

    date = forms.DateField(label=_("New date"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(label=_("To"), widget=forms.TimeInput(attrs={"type": "time"}))
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", _("The window must end after it starts."))
        return data

    def window(self) -> tuple[dt.datetime, dt.datetime]:
        tz = timezone.get_current_timezone()
        day = self.cleaned_data["date"]
        return (
            dt.datetime.combine(day, self.cleaned_data["start"], tzinfo=tz),
            dt.datetime.combine(day, self.cleaned_data["end"], tzinfo=tz),
        )


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class NoShowForm(forms.Form):
    reason = forms.CharField(
        label=_("What happened"),
        max_length=200,
        required=False,
        help_text=_("e.g. nobody at home at the agreed time"),
    )


# --- the contact centre: log a contact, open a case, find the caller -------------------------


DURATION_PATTERN = re.compile(r"^(\d{1,3})(?::([0-5]?\d))?$")
CASE_CATEGORIES = [
    ("request", _("Request")),
    ("complaint", _("Complaint")),
    ("logistics", _("Logistics problem")),
    ("adverse_event_suspicion", _("Adverse-event suspicion")),
    ("information", _("Information")),
]


def parse_duration(value: str) -> int | None:
    """Seconds from "7" (minutes) or "7:30" (minutes:seconds); None when empty."""
    value = (value or "").strip()
    if not value:
        return None
    match = DURATION_PATTERN.match(value)
    if match is None:
        raise forms.ValidationError(
            _("Write the duration in minutes (7) or minutes and seconds (7:30).")
        )
    return int(match.group(1)) * 60 + int(match.group(2) or 0)


def _program_choices(programs) -> list[tuple[str, str]]:
    return [("", _("Not tied to a program"))] + [(p.code, p.code) for p in programs]


class InteractionForm(forms.Form):
    """Log a contact with the patient: reason, outcome, duration and notes."""

    channel = forms.ChoiceField(
        label=_("Channel"), choices=Interaction.Channel.choices, initial="phone"
    )
    direction = forms.ChoiceField(
        label=_("Direction"), choices=Interaction.Direction.choices, initial="in"
    )
    program = forms.ChoiceField(label=_("Program"), required=False)
    reason = forms.ChoiceField(
        label=_("Reason"),
        required=False,
        choices=[("", "—"), *Interaction.Reason.choices],
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", "—"), *Interaction.Outcome.choices],
    )
    duration = forms.CharField(
        label=_("Duration"),
        max_length=10,
        required=False,
        help_text=_("Minutes (7) or minutes:seconds (7:30)."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "7:30"}),
    )
    summary = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, programs=(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].choices = _program_choices(programs)

    def clean_duration(self) -> int | None:
        return parse_duration(self.cleaned_data["duration"])


class CaseForm(forms.Form):
    """Open a contact-centre case for the patient, with its owner."""

    subject = forms.CharField(label=_("Subject"), max_length=200)
    category = forms.ChoiceField(label=_("Category"), choices=CASE_CATEGORIES)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Case.Priority.choices, initial="normal"
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    assigned_to = forms.TypedChoiceField(
        label=_("Owner"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_("Left empty, the case is yours."),
    )
    program = forms.ChoiceField(label=_("Program"), required=False)

    def __init__(self, *args: Any, programs=(), owners=(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].choices = _program_choices(programs)
        self.owners = {user.pk: user for user in owners}
        self.fields["assigned_to"].choices = [
            (user.pk, user.get_full_name() or user.email) for user in owners
        ]

    def owner(self):
        """The chosen owner (None: whoever opens the case)."""
        return self.owners.get(self.cleaned_data.get("assigned_to"))


class AdverseEventForm(AdverseEventFacts):
    """Flag a suspected adverse event from the timeline: the program and the contact it was
    reported in come first."""

    program = forms.ChoiceField(label=_("Program"))
    source_interaction = forms.TypedChoiceField(
        label=_("Reported during the contact"), coerce=int, required=False, empty_value=None
    )
    field_order = ["program", "reaction"]

    def __init__(self, *args: Any, programs=(), interactions=(), **kwargs: Any) -> None:
        programs = list(programs)
        if len(programs) == 1:
            kwargs.setdefault("initial", {}).setdefault("program", programs[0].code)
        super().__init__(*args, **kwargs)
        self.fields["program"].choices = [(p.code, f"{p.code} — {p.name}") for p in programs]
        self.fields["first_known_at"].help_text = _(
            "When the provider first heard of it: the forwarding clock starts here."
        )
        interactions = list(interactions)
        self.interactions = {i.pk: i for i in interactions}
        if interactions:
            self.fields["source_interaction"].choices = [("", _("None"))] + [
                (
                    i.pk,
                    f"{timezone.localtime(i.occurred_at):%d/%m %H:%M} · "
                    f"{i.get_channel_display()}"
                    + (f" · {i.get_reason_display()}" if i.reason else ""),
                )
                for i in interactions
            ]
        else:
            del self.fields["source_interaction"]

    def interaction(self):
        return self.interactions.get(self.cleaned_data.get("source_interaction"))


class CallerSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Phone number, name or patient code"),
        max_length=100,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )


class MessageForm(forms.Form):
    """A message to the patient from her timeline (sent only on a channel she consented to)."""

    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial="sms")
    program = forms.ChoiceField(label=_("Program"), required=False)
    text = forms.CharField(
        label=_("Message"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, programs=(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].choices = _program_choices(programs)


class CallListFilterForm(forms.Form):
    """The outbound call list: one kind of call or all, one program or all (both optional)."""

    kind = forms.ChoiceField(label=_("Calls"), required=False)
    program = forms.ChoiceField(label=_("Program"), required=False)

    def __init__(self, *args, programs=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.programs = {p.code: p for p in programs}
        self.fields["kind"].choices = [("", _("All calls")), *CALL_KINDS]
        self.fields["program"].choices = [("", _("All programs"))] + [
            (p.code, f"{p.code} — {p.name}") for p in programs
        ]

    def filters(self) -> dict:
        """The selector's keyword arguments (an invalid filter is ignored, not an error)."""
        if not self.is_valid():
            return {"kind": "", "program": None}
        return {
            "kind": self.cleaned_data["kind"],
            "program": self.programs.get(self.cleaned_data["program"]),
        }
