"""Measurement charts rendered on the server as SVG with pygal (no script, nothing online)."""

from __future__ import annotations

import datetime as dt

import pygal
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from pygal.style import Style

from psp_crm.selectors.diary import Series

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    colors=("#0d6efd", "#d63384"),
    font_family="system-ui, sans-serif",
)


def _day(value: dt.datetime) -> str:
    # pygal hands back naive UTC date-times; show the day in the user's zone.
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return timezone.localtime(value).strftime("%d/%m")


def series_svg(series: Series) -> SafeString:
    """An inline SVG line chart of one measurement (two lines for blood pressure)."""
    chart = pygal.DateTimeLine(
        js=[],  # pygal would otherwise link its tooltip script from the internet
        style=STYLE,
        height=260,
        width=640,
        show_legend=series.measurement == "blood_pressure",
        legend_at_bottom=True,
        x_label_rotation=20,
        x_value_formatter=_day,
        disable_xml_declaration=True,
        explicit_size=False,
        title=f"{series.label} ({series.unit})",
        dots_size=2,
    )
    if series.measurement == "blood_pressure":
        chart.add("systolic", [(t, float(v)) for t, v, _ in series.points])
        chart.add("diastolic", [(t, float(s)) for t, _, s in series.points if s is not None])
    else:
        chart.add(series.label, [(t, float(v)) for t, v, _ in series.points])
    svg = chart.render(is_unicode=True)
    return mark_safe(svg)
