"""Doctor portal forms."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class PatientSearchForm(forms.Form):
    """Search the followed patients by name or pseudonymous code, optionally in one program."""

    q = forms.CharField(
        label=_("Name or code"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    program = forms.ChoiceField(label=_("Program"), required=False)

    def __init__(self, *args, programs=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].choices = [("", _("All programs"))] + [
            (p.code, f"{p.code} — {p.name}") for p in programs
        ]
