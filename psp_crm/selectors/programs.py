"""Program reads: the pharma client's aggregates (small cells suppressed) and program choices.

Client users never see a patient: these selectors return counts only, and a count between 1 and
``settings.PSP_CLIENT_MIN_CELL - 1`` leaves the selector as a suppressed cell, so no template can
print the raw number by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from .. import access
from ..errors import NotFound
from ..models import Activity, AdverseEvent, Enrolment, Program, User

# Patients who went past the referral: consented, active, suspended or completed.
ENROLLED_STATUSES = ("consented", "active", "suspended", "completed")
SUMMARY_COLUMNS = ("enrolled", "active", "suspended", "referred", "withdrawn")


@dataclass(frozen=True)
class Cell:
    """One aggregate count as a client may see it: the value, or nothing when suppressed."""

    value: int | None

    @property
    def suppressed(self) -> bool:
        return self.value is None

    def __str__(self) -> str:
        if self.value is None:
            return f"<{settings.PSP_CLIENT_MIN_CELL}"
        return str(self.value)


def suppress(count: int, *, min_cell: int | None = None) -> Cell:
    """A count as a cell: 0 and counts of at least ``min_cell`` shown, the rest suppressed."""
    threshold = settings.PSP_CLIENT_MIN_CELL if min_cell is None else min_cell
    if 0 < count < threshold:
        return Cell(None)
    return Cell(count)


def suppress_parts(parts: dict[str, int], *, min_cell: int | None = None) -> dict[str, Cell]:
    """Cells of counts that add up to a shown total, with secondary suppression.

    When exactly one part is suppressed but the total is shown, the part could be computed by
    subtraction: the smallest other non-zero part is suppressed too. The total is under ``"total"``.
    """
    cells = {key: suppress(value, min_cell=min_cell) for key, value in parts.items()}
    total = suppress(sum(parts.values()), min_cell=min_cell)
    hidden = [key for key, cell in cells.items() if cell.suppressed]
    if not total.suppressed and len(hidden) == 1:
        shown = sorted((value, key) for key, value in parts.items() if value and key not in hidden)
        if shown:
            cells[shown[0][1]] = Cell(None)
    return {**cells, "total": total}


def _enrolment_cells(program: Program) -> dict[str, Cell]:
    """Suppressed cells of every status plus ``enrolled`` (the sum of the enrolled statuses)."""
    enrolled = suppress_parts({s: getattr(program, f"n_{s}") for s in ENROLLED_STATUSES})
    cells = {
        status: suppress(getattr(program, f"n_{status}")) for status in Enrolment.Status.values
    }
    cells.update({status: enrolled[status] for status in ENROLLED_STATUSES})
    cells["enrolled"] = enrolled["total"]
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
    programs = client_programs(actor=actor).annotate(**_status_counts()).order_by("code")
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
    program = scoped.annotate(**_status_counts()).prefetch_related("products").first()
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
    modules = [
        ModuleVolume(
            module=row["module__name"],
            cells=suppress_parts(
                {key: row[key] for key in ("done", "open", "missed", "cancelled")}
            ),
        )
        for row in volumes
    ]
    safety = AdverseEvent.objects.filter(enrolment__program__in=scoped).aggregate(
        total=Count("pk"),
        serious=Count("pk", filter=Q(seriousness="serious")),
        forwarded=Count("pk", filter=Q(status="forwarded")),
    )
    return ProgramDetail(
        program=program,
        products=[str(product) for product in program.products.all()],
        statuses=statuses,
        enrolled=cells["enrolled"],
        modules=modules,
        adverse_events={key: suppress(value) for key, value in safety.items()},
    )


def doctor_programs(*, actor: User) -> QuerySet[Program]:
    """Programs in which the doctor follows patients (the doctor portal's program filter)."""
    return access.programs_for(actor, "follow_program").order_by("code")
