"""Who performs an activity: role, program staffing, territory, skills, absences, weekly capacity.

Everything is loaded once per batch (a few queries), then decided in memory, so that assigning
the work of 10,000 enrolments costs no query per activity. What nobody fits stays unassigned
(``assignee = None``): the control room's queue, never an error.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from ..models import (
    Activity,
    Operator,
    OperatorAbsence,
    ProgramGroupObjectPermission,
    ProgramUserObjectPermission,
    ServiceModule,
)

REMOTE_CHANNELS = frozenset(
    {ServiceModule.Channel.PHONE, ServiceModule.Channel.VIDEO, ServiceModule.Channel.DIGITAL}
)


def week_of(day: dt.date) -> tuple[int, int]:
    iso = day.isocalendar()
    return iso[0], iso[1]


@dataclass
class Candidate:
    pk: int
    user_id: int
    role: str
    organization_id: int
    territories: frozenset[str]
    skills: frozenset[str]
    capacity_minutes: int


@dataclass(frozen=True)
class Need:
    """What one activity asks of its performer."""

    program_id: int
    role: str
    partner_id: int | None
    territory: str
    remote: bool
    skills: frozenset[str]
    day: dt.date
    minutes: int
    team: frozenset[int] = frozenset()


def staffed_users(program_ids: Iterable[int]) -> dict[int, set[int]]:
    """Program → ids of users holding ``staff_program`` on it (directly or through a group)."""
    ids = list(set(program_ids))
    staffed: dict[int, set[int]] = defaultdict(set)
    direct = ProgramUserObjectPermission.objects.filter(
        content_object_id__in=ids, permission__codename="staff_program"
    ).values_list("content_object_id", "user_id")
    for program_id, user_id in direct:
        staffed[program_id].add(user_id)
    via_group = ProgramGroupObjectPermission.objects.filter(
        content_object_id__in=ids, permission__codename="staff_program"
    ).values_list("content_object_id", "group__user")
    for program_id, user_id in via_group:
        if user_id is not None:
            staffed[program_id].add(user_id)
    return staffed


class Assigner:
    """Assigns activities; keeps each operator's weekly load as it goes.

    One instance serves a whole materialization run: program staffing is loaded per program on
    first use, and the weekly loads with one aggregate query on the first pick.
    """

    def __init__(
        self,
        *,
        program_ids: Iterable[int] = (),
        start: dt.date,
        end: dt.date,
        exclude: Iterable[int] = (),
    ) -> None:
        self.start, self.end = start, end
        self.staffed: dict[int, set[int]] = {}
        self._load_staffing(program_ids)
        excluded = set(exclude)
        self.operators: list[Candidate] = [
            Candidate(
                pk=o.pk,
                user_id=o.user_id,
                role=o.role,
                organization_id=o.organization_id,
                territories=frozenset(o.territories or ()),
                skills=frozenset(o.skills or ()),
                capacity_minutes=o.weekly_capacity_hours * 60,
            )
            for o in Operator.objects.filter(is_available=True).only(
                "pk",
                "user_id",
                "role",
                "organization_id",
                "territories",
                "skills",
                "weekly_capacity_hours",
            )
            if o.pk not in excluded
        ]
        self.absences: dict[int, list[tuple[dt.date, dt.date]]] = defaultdict(list)
        for op_id, first, last in OperatorAbsence.objects.filter(
            ends_on__gte=start, starts_on__lte=end
        ).values_list("operator_id", "starts_on", "ends_on"):
            self.absences[op_id].append((first, last))
        self._load: dict[tuple[int, tuple[int, int]], int] | None = None
        self._pools: dict[tuple[int, str, int | None], list[Candidate]] = {}
        self._territory_pools: dict[tuple, list[Candidate]] = {}

    def _load_staffing(self, program_ids: Iterable[int]) -> None:
        missing = set(program_ids) - set(self.staffed)
        if missing:
            found = staffed_users(missing)
            for program_id in missing:
                self.staffed[program_id] = found.get(program_id, set())

    @property
    def load(self) -> dict[tuple[int, tuple[int, int]], int]:
        """Minutes of open work per (operator, ISO week), from one aggregate query."""
        if self._load is None:
            self._load = defaultdict(int)
            tz = timezone.get_default_timezone()
            monday = self.start - dt.timedelta(days=self.start.weekday())
            window_start = dt.datetime.combine(monday, dt.time.min, tzinfo=tz)
            window_end = dt.datetime.combine(
                self.end + dt.timedelta(days=8), dt.time.min, tzinfo=tz
            )
            rows = (
                Activity.objects.filter(
                    assignee__isnull=False,
                    status__in=Activity.OPEN_STATUSES,
                    scheduled_start__gte=window_start,
                    scheduled_start__lt=window_end,
                )
                .annotate(week=TruncWeek("scheduled_start", tzinfo=tz))
                .values("assignee_id", "week")
                .annotate(busy=Sum(F("scheduled_end") - F("scheduled_start")))
                .values_list("assignee_id", "week", "busy")
            )
            for op_id, week, busy in rows:
                if busy is not None:
                    self._load[(op_id, week_of(week.date()))] += int(busy.total_seconds() // 60)
        return self._load

    def _pool(self, program_id: int, role: str, partner_id: int | None) -> list[Candidate]:
        key = (program_id, role, partner_id)
        if key not in self._pools:
            self._load_staffing([program_id])
            staffed = self.staffed[program_id]
            self._pools[key] = [
                c
                for c in self.operators
                if c.user_id in staffed
                and (not role or c.role == role)
                and (partner_id is None or c.organization_id == partner_id)
            ]
        return self._pools[key]

    def _absent(self, op_id: int, day: dt.date) -> bool:
        return any(first <= day <= last for first, last in self.absences.get(op_id, ()))

    def fits(self, candidate: Candidate, need: Need) -> bool:
        if (
            not need.remote
            and need.territory
            and candidate.territories
            and need.territory not in candidate.territories
        ):
            return False
        if not need.skills <= candidate.skills:
            return False
        if self._absent(candidate.pk, need.day):
            return False
        used = self.load[(candidate.pk, week_of(need.day))]
        return used + need.minutes <= candidate.capacity_minutes

    def _local_pool(self, need: Need) -> list[Candidate]:
        # Home work: only operators covering the patient's territory (or every territory), so
        # that a network of hundreds of nurses is not scanned for every activity.
        pool = self._pool(need.program_id, need.role, need.partner_id)
        if need.remote or not need.territory:
            return pool
        key = (need.program_id, need.role, need.partner_id, need.territory)
        if key not in self._territory_pools:
            self._territory_pools[key] = [
                c for c in pool if not c.territories or need.territory in c.territories
            ]
        return self._territory_pools[key]

    def pick(self, need: Need) -> int | None:
        """The operator who should do it (care team first, then the least loaded), or None.

        The hot loop of materialization: ``fits`` inlined (territory is settled by the pool).
        """
        week = week_of(need.day)
        load, absences, team, minutes = self.load, self.absences, need.team, need.minutes
        best: Candidate | None = None
        best_key: tuple | None = None
        for candidate in self._local_pool(need):
            if need.skills and not need.skills <= candidate.skills:
                continue
            if candidate.pk in absences and self._absent(candidate.pk, need.day):
                continue
            used = load.get((candidate.pk, week), 0)
            if used + minutes > candidate.capacity_minutes:
                continue
            key = (candidate.pk not in team, used, candidate.pk)
            if best_key is None or key < best_key:
                best, best_key = candidate, key
        if best is None:
            return None
        load[(best.pk, week)] += minutes
        return best.pk
