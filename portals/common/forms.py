"""Forms more than one portal uses."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from psp_crm.selectors.timeline import CHANNELS


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
