"""Server-side SVG charts (pygal, no script, no CDN) for the dashboards' KPI tables.

A chart only draws what its table shows: a suppressed cell is a gap, never its raw number. Each
chart is decorative beside its accessible table (the table is the source of truth for screen
readers), so the SVG carries a title and is labelled by the table's caption.
"""

from __future__ import annotations

import re

import pygal
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from pygal.style import Style

_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#212529",
    foreground_strong="#212529",
    foreground_subtle="#6c757d",
    colors=("#0b5ed7", "#198754", "#fd7e14", "#6f42c1"),
    font_family="system-ui, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    value_font_size=12,
    title_font_size=14,
    no_data_font_size=16,
)


def _number(cell: object) -> float | None:
    value = getattr(cell, "value", None)
    return None if value is None else float(value)


def _top(values: list[float]) -> int:
    """A round axis maximum above the largest value (at least 5)."""
    top = max([5.0, *values])
    step = 10 ** max(0, len(str(int(top))) - 1)
    return int(-(-top // step) * step)


def _ticks(top: int) -> list[int]:
    step = max(1, top // 5)
    return list(range(0, top + 1, step))


def chart_svg(table) -> SafeString:  # table: selectors.programs.KpiTable
    """The table as an inline SVG chart; empty when the table is not charted."""
    if not table.chart:
        return mark_safe("")
    if table.chart_rows is not None:
        rows = table.rows[: table.chart_rows]
    else:
        rows = table.rows[:-1] if table.has_total else table.rows
    chart_class = pygal.Line if table.chart == "line" else pygal.Bar
    series = {index: [_number(cells[index]) for _, cells in rows] for index in table.chart_columns}
    shown = [v for values in series.values() for v in values if v is not None]
    percent = any(
        type(cells[i]).__name__ == "Share" for _, cells in rows for i in table.chart_columns
    )
    chart = chart_class(
        js=[],  # no script: STACK.md, no CDN anywhere
        style=STYLE,
        width=640,
        height=300,
        show_legend=len(table.chart_columns) > 1,
        x_label_rotation=30 if len(rows) > 6 else 0,
        print_values=False,
        allow_interruptions=True,
        disable_xml_declaration=True,
        explicit_size=False,
        title=str(table.title),
        value_formatter=(lambda v: f"{v:.0%}") if percent else (lambda v: f"{v:.0f}"),
        range=(0, 1) if percent else (0, _top(shown)),
        y_labels=None if percent else _ticks(_top(shown)),
        include_x_axis=True,
        no_data_text=gettext("Every count here is below the privacy threshold"),
    )
    chart.x_labels = [str(label) for label, _ in rows]
    for index, values in series.items():
        chart.add(str(table.columns[index]), values)
    svg = chart.render(is_unicode=True)
    # pygal adds a configuration script and credits even with js=[]: a chart needs neither.
    svg = _SCRIPT.sub("", svg)
    svg = _COMMENT.sub("", svg)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(table.title)}" ', 1)
    return mark_safe(svg)  # pygal escapes the labels; the numbers are our suppressed cells
