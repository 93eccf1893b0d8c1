"""Small presentation helpers shared by the portal templates."""

from __future__ import annotations

from django import template

register = template.Library()

STATUS_CLASSES = {
    # enrolments
    "referred": "text-bg-info",
    "consented": "text-bg-info",
    "active": "text-bg-success",
    "suspended": "text-bg-warning",
    "withdrawn": "text-bg-secondary",
    "completed": "text-bg-dark",
    # activities
    "planned": "text-bg-light border",
    "confirmed": "text-bg-primary",
    "done": "text-bg-success",
    "missed": "text-bg-danger",
    "cancelled": "text-bg-secondary",
    "rescheduled": "text-bg-warning",
    # programs
    "design": "text-bg-light border",
    "closed": "text-bg-secondary",
}


@register.filter
def status_class(status: str) -> str:
    """The Bootstrap badge class of a status value."""
    return STATUS_CLASSES.get(status, "text-bg-light border")


@register.filter
def display_name(user) -> str:
    """A user's full name, or their e-mail address when they gave no name."""
    if user is None:
        return ""
    return user.get_full_name() or user.email


@register.filter
def bootstrap_widget(field) -> str:
    """Render a bound field's widget with the Bootstrap class (aria attributes come from Django)."""
    widget_type = field.widget_type
    if widget_type in ("checkbox", "radioselect", "checkboxselectmultiple"):
        css = "form-check-input"
    elif widget_type in ("select", "selectmultiple"):
        css = "form-select"
    else:
        css = "form-control"
    existing = field.field.widget.attrs.get("class", "")
    classes = " ".join(c for c in (existing, css, "is-invalid" if field.errors else "") if c)
    return field.as_widget(attrs={"class": classes})
