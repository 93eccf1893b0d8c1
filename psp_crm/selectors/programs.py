"""Program reads: the pharma client's aggregates (small cells suppressed) and program choices.

Client users never see a patient: these selectors return counts only, and a count between 1 and
``settings.PSP_CLIENT_MIN_CELL - 1`` leaves the selector as a suppressed cell, so no template can
print the raw number by mistake.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from .. import access
from ..analytics import kpis as kpis_module
from ..errors import NotFound
from ..models import Activity, AdverseEvent, Enrolment, Program, User

# Patients who went past the referral: consented, active, suspended or completed.
ENROLLED_STATUSES = ("consented", "active", "suspended", "completed")
SUMMARY_COLUMNS = ("enrolled", "active", "suspended", "referred", "withdrawn")


@dataclass(frozen=True)
class Cell:
    """One aggregate count as a client may see it: the value, or nothing when suppressed."""

    value: int | None
    min_cell: int | None = None  # the k it was suppressed with (default: the global setting)

    @property
    def suppressed(self) -> bool:
        return self.value is None

    def __str__(self) -> str:
        if self.value is None:
            return f"<{self.min_cell or settings.PSP_CLIENT_MIN_CELL}"
        return str(self.value)


def suppress(count: int, *, min_cell: int | None = None) -> Cell:
    """A count as a cell: 0 and counts of at least ``min_cell`` shown, the rest suppressed."""
    threshold = settings.PSP_CLIENT_MIN_CELL if min_cell is None else min_cell
    if 0 < count < threshold:
        return Cell(None, min_cell)
    return Cell(count, min_cell)


def suppress_parts(parts: dict[str, int], *, min_cell: int | None = None) -> dict[str, Cell]:
    """Cells of counts that add up to a shown total, with complementary suppression.

    When the total is shown, ``total − shown parts`` is the sum of the hidden parts. So that it
    gives nothing away, more parts are hidden (smallest non-zero first) until at least two parts
    are hidden and their sum reaches ``min_cell``; if no part is left to hide, the total is
    hidden too. The total is under ``"total"``.
    """
    threshold = settings.PSP_CLIENT_MIN_CELL if min_cell is None else min_cell
    cells = {key: suppress(value, min_cell=min_cell) for key, value in parts.items()}
    total = suppress(sum(parts.values()), min_cell=min_cell)
    hidden = {key for key, cell in cells.items() if cell.suppressed}
    while hidden and not total.suppressed:
        hidden_sum = sum(parts[key] for key in hidden)
        if len(hidden) >= 2 and hidden_sum >= threshold:
            break
        shown = sorted((value, key) for key, value in parts.items() if value and key not in hidden)
        if not shown:
            total = Cell(None, min_cell)
            break
        hidden.add(shown[0][1])
        cells[shown[0][1]] = Cell(None, min_cell)
    return {**cells, "total": total}


def _min_cell(program: Program) -> int:
    return kpis_module.analytics_settings_for(program).min_cell


def _enrolment_cells(program: Program) -> dict[str, Cell]:
    """Suppressed cells of every status, their ``total`` and ``enrolled`` (consented or beyond).

    One complementary suppression over the six statuses serves every face (the home table, the
    status breakdown and the dashboard funnel), so no two tables hide different cells of the same
    counts. ``enrolled`` is shown only when the visible cells already determine it.
    """
    k = _min_cell(program)
    parts = {status: getattr(program, f"n_{status}") for status in Enrolment.Status.values}
    cells = suppress_parts(parts, min_cell=k)
    enrolled = sum(parts[s] for s in ENROLLED_STATUSES)
    known = all(not cells[s].suppressed for s in ENROLLED_STATUSES) or (
        not cells["total"].suppressed
        and not cells["referred"].suppressed
        and not cells["withdrawn"].suppressed
    )
    cells["enrolled"] = suppress(enrolled, min_cell=k) if known else Cell(None, k)
    return cells


@dataclass(frozen=True)
class ProgramSummary:
    """A sponsored program with its enrolment counts (suppressed cells)."""

    program: Program
    cells: dict[str, Cell]


@dataclass(frozen=True)
class ModuleVolume:
    """Activity counts of one service module in a program (suppressed cells)."""

    module: str
    cells: dict[str, Cell]


@dataclass(frozen=True)
class ProgramDetail:
    """The client's view of one program: status breakdown, service volumes, safety counts."""

    program: Program
    products: list[str]
    statuses: list[tuple[str, Cell]]
    enrolled: Cell
    modules: list[ModuleVolume]
    adverse_events: dict[str, Cell]


def _status_counts() -> dict[str, Count]:
    return {
        f"n_{status}": Count("enrolments", filter=Q(enrolments__status=status))
        for status in Enrolment.Status.values
    }


def client_programs(*, actor: User) -> QuerySet[Program]:
    """Programs the client user's company sponsors and on which the user may read the KPIs."""
    if not access.has_role(actor, "client"):
        return Program.objects.none()
    sponsor_id = actor.client_profile.organization_id
    return access.programs_for(actor, "view_program_kpis").filter(sponsor_id=sponsor_id)


def client_program_summaries(*, actor: User) -> list[ProgramSummary]:
    """Per sponsored program: enrolled/active/suspended/referred/withdrawn counts, suppressed."""
    programs = (
        client_programs(actor=actor)
        .select_related("analytics_settings")
        .annotate(**_status_counts())
        .order_by("code")
    )
    summaries = []
    for program in programs:
        cells = _enrolment_cells(program)
        summaries.append(
            ProgramSummary(program=program, cells={c: cells[c] for c in SUMMARY_COLUMNS})
        )
    return summaries


def client_program_detail(*, actor: User, code: str) -> ProgramDetail:
    """One sponsored program's aggregates; another sponsor's (or unknown) program is NotFound."""
    scoped = client_programs(actor=actor).filter(code=code)
    program = (
        scoped.select_related("analytics_settings")
        .annotate(**_status_counts())
        .prefetch_related("products")
        .first()
    )
    if program is None:
        raise NotFound(_("No such program."))
    cells = _enrolment_cells(program)
    statuses = [(label, cells[value]) for value, label in Enrolment.Status.choices]
    open_statuses = list(Activity.OPEN_STATUSES)
    # Scoped through the program the access policy returned above, never all activities.
    volumes = (
        Activity.objects.filter(enrolment__program__in=scoped)
        .values("module__name")
        .annotate(
            done=Count("pk", filter=Q(status="done")),
            open=Count("pk", filter=Q(status__in=open_statuses)),
            missed=Count("pk", filter=Q(status="missed")),
            cancelled=Count("pk", filter=Q(status__in=("cancelled", "rescheduled"))),
        )
        .order_by("module__name")
    )
    k = _min_cell(program)
    modules = [
        ModuleVolume(
            module=row["module__name"],
            cells=suppress_parts(
                {key: row[key] for key in ("done", "open", "missed", "cancelled")}, min_cell=k
            ),
        )
        for row in volumes
    ]
    safety = AdverseEvent.objects.filter(enrolment__program__in=scoped).aggregate(
        total=Count("pk"),
        serious=Count("pk", filter=Q(seriousness="serious")),
        forwarded=Count("pk", filter=Q(status="forwarded")),
    )
    # Two partitions of the same events, each with complementary suppression.
    by_seriousness = suppress_parts(
        {"serious": safety["serious"], "non_serious": safety["total"] - safety["serious"]},
        min_cell=k,
    )
    by_forwarding = suppress_parts(
        {"forwarded": safety["forwarded"], "open": safety["total"] - safety["forwarded"]},
        min_cell=k,
    )
    return ProgramDetail(
        program=program,
        products=[str(product) for product in program.products.all()],
        statuses=statuses,
        enrolled=cells["enrolled"],
        modules=modules,
        adverse_events={
            "total": by_seriousness["total"],
            "serious": by_seriousness["serious"],
            "forwarded": by_forwarding["forwarded"],
        },
    )


def doctor_programs(*, actor: User) -> QuerySet[Program]:
    """Programs in which the doctor follows patients (the doctor portal's program filter)."""
    return access.programs_for(actor, "follow_program").order_by("code")


# --- the client dashboard (per sponsored program) ---------------------------------------------


@dataclass(frozen=True)
class Share:
    """A percentage a client may see, or nothing when its numerator or complement is small."""

    value: float | None

    @property
    def suppressed(self) -> bool:
        return self.value is None

    def __str__(self) -> str:
        return "—" if self.value is None else f"{self.value:.0%}"


def share(part: int, whole: int, *, min_cell: int) -> Share:
    """``part / whole`` unless ``whole < k`` or ``part`` or ``whole − part`` is a small cell."""
    if whole < min_cell or 0 < part < min_cell or 0 < whole - part < min_cell:
        return Share(None)
    return Share(part / whole)


@dataclass(frozen=True)
class KpiTable:
    """One dashboard block as its accessible table: rows of cells under labelled columns.

    The same object feeds the chart, the HTML table, the CSV export and the JSON API, so every
    face shows exactly the suppressed figures.
    """

    key: str
    title: str
    caption: str
    columns: tuple[str, ...]
    rows: list[tuple[str, tuple[Cell | Share | str, ...]]]
    chart: str = "bar"  # "bar", "line" or "" (table only)
    chart_columns: tuple[int, ...] = (0,)  # which columns the chart plots
    has_total: bool = True  # the last row is the total (not charted)
    chart_rows: int | None = None  # chart only the first N rows (default: all but the total)

    def as_dict(self) -> dict:
        def plain(cell: Cell | Share | str) -> object:
            if isinstance(cell, Cell):
                return cell.value
            if isinstance(cell, Share):
                return None if cell.value is None else round(cell.value, 4)
            return cell

        return {
            "key": self.key,
            "title": str(self.title),
            "columns": [str(c) for c in self.columns],
            "rows": [
                {"label": str(label), "values": [plain(c) for c in cells]}
                for label, cells in self.rows
            ],
        }


@dataclass(frozen=True)
class ClientDashboard:
    """A sponsored program's dashboard: aggregates only, every cell suppressed below k."""

    program: Program
    min_cell: int
    today: datetime.date
    tables: list[KpiTable]
    pdc_share: Share
    pdc_window: tuple[datetime.date, datetime.date] | None

    def table(self, key: str) -> KpiTable:
        return next(t for t in self.tables if t.key == key)


def client_program(*, actor: User, code: str) -> Program:
    """A program the client's company sponsors; another sponsor's or unknown one is NotFound."""
    program = client_programs(actor=actor).filter(code=code).first()
    if program is None:
        raise NotFound(_("No such program."))
    return program


def _parts_rows(
    labels: list[tuple[str, str]], cells: dict[str, Cell], total_label: str
) -> list[tuple[str, tuple[Cell | Share | str, ...]]]:
    rows: list[tuple[str, tuple[Cell | Share | str, ...]]] = [
        (label, (cells[key],)) for key, label in labels
    ]
    rows.append((total_label, (cells["total"],)))
    return rows


def dashboard_from_kpis(kpis: kpis_module.ProgramKpis, *, min_cell: int) -> ClientDashboard:
    """Suppress every figure of raw KPIs into the tables a client may see."""
    k = min_cell
    total = _("Total")
    tables: list[KpiTable] = []

    funnel = suppress_parts(kpis.statuses, min_cell=k)
    tables.append(
        KpiTable(
            key="funnel",
            title=_("Enrolment funnel"),
            caption=_("Patients by current enrolment status."),
            columns=(_("Patients"),),
            rows=_parts_rows(list(Enrolment.Status.choices), funnel, total),
        )
    )

    months = {m.isoformat(): n for m, n in kpis.new_by_month}
    # "Earlier" makes this table add up to the funnel's total, so the difference between the two
    # totals cannot reveal a small number of older enrolments.
    months["earlier"] = sum(kpis.statuses.values()) - sum(months.values())
    monthly = suppress_parts(months, min_cell=k)
    labels = [(m, m[:7]) for m in months if m != "earlier"] + [("earlier", _("Earlier"))]
    tables.append(
        KpiTable(
            key="new_enrolments",
            title=_("New enrolments per month"),
            caption=_("Referrals received in each of the last twelve months, and before."),
            columns=(_("New enrolments"),),
            rows=_parts_rows(labels, monthly, total),
            chart="line",
            chart_rows=len(labels) - 1,
        )
    )

    bins = suppress_parts(kpis.pdc_bins, min_cell=k)
    measured = sum(kpis.pdc_bins.values())
    top = kpis.pdc_bins.get(kpis_module.PDC_BIN_LABELS[-1], 0)
    pdc_share = share(top, measured, min_cell=k)
    if bins["total"].suppressed or bins[kpis_module.PDC_BIN_LABELS[-1]].suppressed:
        pdc_share = Share(None)
    tables.append(
        KpiTable(
            key="pdc_distribution",
            title=_("Adherence distribution (PDC, last 90 days)"),
            caption=_("Patients on therapy by proportion of days covered; 80% is the target."),
            columns=(_("Patients"),),
            rows=_parts_rows([(b, b) for b in kpis.pdc_bins], bins, total),
        )
    )

    trend_rows: list[tuple[str, tuple[Cell | Share | str, ...]]] = []
    for month, n, good in kpis.pdc_trend:
        trend_rows.append(
            (month.isoformat()[:7], (suppress(n, min_cell=k), share(good, n, min_cell=k)))
        )
    tables.append(
        KpiTable(
            key="pdc_trend",
            title=_("Share of patients with PDC ≥ 80%, by month"),
            caption=_(
                "Patients with at least one day of therapy in the month, and the share "
                "of them whose supply covered at least 80% of their days."
            ),
            columns=(_("Patients measured"), _("PDC ≥ 80%")),
            rows=trend_rows,
            chart="line",
            chart_columns=(1,),
            has_total=False,
        )
    )

    done = suppress_parts(kpis.services_done, min_cell=k)
    service_rows: list[tuple[str, tuple[Cell | Share | str, ...]]] = []
    for key in kpis_module.SERVICE_CATEGORIES:
        contract = kpis.services_contract.get(key)
        done_cell = done[key]
        versus: Share | str = "—"
        if contract and not done_cell.suppressed:
            versus = Share((done_cell.value or 0) / contract)
        service_rows.append(
            (SERVICE_LABELS[key], (done_cell, str(contract) if contract else "—", versus))
        )
    service_rows.append((total, (done["total"], "", "")))
    tables.append(
        KpiTable(
            key="services",
            title=_("Service volumes against the contract (last 12 months)"),
            caption=_("Activities done, the yearly volume in the contract and the share reached."),
            columns=(_("Done"), _("Contract"), _("Of contract")),
            rows=service_rows,
        )
    )

    punctual = suppress_parts(
        {"on_time": kpis.activities_on_time, "late": kpis.activities_late}, min_cell=k
    )
    done_total = kpis.activities_on_time + kpis.activities_late
    rate = share(kpis.activities_on_time, done_total, min_cell=k)
    if punctual["on_time"].suppressed or punctual["late"].suppressed:
        rate = Share(None)
    tables.append(
        KpiTable(
            key="on_time",
            title=_("On-time rate of activities"),
            caption=_("Activities done within their scheduled window (30 minutes' grace)."),
            columns=(_("Activities"),),
            rows=[
                (_("On time"), (punctual["on_time"],)),
                (_("Late"), (punctual["late"],)),
                (total, (punctual["total"],)),
                (_("On-time rate"), (rate,)),
            ],
            chart="",
        )
    )

    safety = suppress_parts(kpis.adverse_events, min_cell=k)
    tables.append(
        KpiTable(
            key="adverse_events",
            title=_("Adverse events by seriousness"),
            caption=_("Suspected adverse reactions captured in the program."),
            columns=(_("Events"),),
            rows=_parts_rows(list(AdverseEvent.Seriousness.choices), safety, total),
        )
    )

    regions = suppress_parts(kpis.regions, min_cell=k)
    tables.append(
        KpiTable(
            key="regions",
            title=_("Patients by territory"),
            caption=_("Enrolments of every status by the patient's province."),
            columns=(_("Patients"),),
            rows=_parts_rows([(r, r) for r in kpis.regions], regions, total),
        )
    )
    return ClientDashboard(
        program=kpis.program,
        min_cell=k,
        today=kpis.today,
        tables=tables,
        pdc_share=pdc_share,
        pdc_window=kpis.pdc_window,
    )


SERVICE_LABELS = {
    "visits": _("Home and hospital visits"),
    "infusions": _("Home infusions"),
    "calls": _("Calls"),
    "deliveries": _("Drug deliveries"),
    "pickups": _("Waste pickups"),
    "other": _("Other services"),
}


def client_program_dashboard(
    *, actor: User, code: str, today: datetime.date | None = None
) -> ClientDashboard:
    """The dashboard of one sponsored program, with the program's own k."""
    program = client_program(actor=actor, code=code)
    min_cell = kpis_module.analytics_settings_for(program).min_cell
    return dashboard_from_kpis(kpis_module.program_kpis(program, today=today), min_cell=min_cell)
