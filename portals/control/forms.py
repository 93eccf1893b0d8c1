"""Control room forms: the activity filters and the assign action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from psp_crm.models import Activity


class FilterForm(forms.Form):
    """Filters of the activity list (all optional; a bad value is a field error, not a 500)."""

    program = forms.TypedChoiceField(
        label=_("Program"), required=False, coerce=int, empty_value=None
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Activity.Status.choices]
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    operator = forms.TypedChoiceField(
        label=_("Operator"), required=False, coerce=int, empty_value=None
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    at_risk = forms.BooleanField(label=_("At risk only"), required=False)

    def __init__(self, *args: Any, programs=(), operators=(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].choices = [("", _("All programs"))] + [
            (p.pk, p.code) for p in programs
        ]
        self.fields["operator"].choices = [("", _("Anyone"))] + [
            (o.pk, f"{o.user.get_full_name() or o.user.email} ({o.get_role_display()})")
            for o in operators
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The range must end on or after the day it starts."))
        return data


class AssignForm(forms.Form):
    operator = forms.TypedChoiceField(
        label=_("Operator"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args: Any, operators=(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["operator"].choices = [("", _("Nobody (back to the queue)"))] + [
            (o.pk, o.user.get_full_name() or o.user.email) for o in operators
        ]
