"""Gamification: points for logging on time, streaks and badges that encourage without shaming.

Nothing is ever taken away: a missed dose logged honestly earns the same "diary kept" points as
any entry, and a broken streak simply starts again. Provider staff switch it off per program
(``Program.gamification_enabled``); then nothing is awarded and the progress page says so.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import access
from ..errors import AccessDenied
from ..events import program_control_group, send_event_on_commit
from ..models import BadgeAward, DiaryEntry, Enrolment, PointsAward, Program, User
from .audit import audit_write

ON_TIME = dt.timedelta(hours=24)  # a dose logged within a day counts as logged on time
DOSE_ON_TIME_POINTS = 10
DIARY_DAY_POINTS = 2
STREAK_LOOKBACK_DAYS = 60

BADGES: dict[str, tuple[str, str]] = {
    "first-entry": (_("First step"), _("You wrote your first diary entry.")),
    "first-week": (_("First week"), _("A week in the program, well done.")),
    "streak-7": (_("Seven days"), _("Diary kept seven days in a row.")),
    "diary-30-days": (_("Thirty days"), _("Diary kept for thirty days.")),
    "first-injection": (_("First injection"), _("Your first self-injection.")),
}
STREAK_BADGES = (("streak-7", 7), ("diary-30-days", 30))


def diary_days(enrolment_id: int, *, today: dt.date, lookback: int = STREAK_LOOKBACK_DAYS) -> set:
    """Local dates in the look-back period with at least one current diary entry."""
    since = timezone.now() - dt.timedelta(days=lookback + 1)
    stamps = DiaryEntry.objects.filter(
        enrolment_id=enrolment_id, occurred_at__gte=since, superseded_by__isnull=True
    ).values_list("occurred_at", flat=True)
    return {timezone.localtime(stamp).date() for stamp in stamps}


def streak_length(days: set, *, today: dt.date) -> int:
    """Consecutive days with an entry ending today (or yesterday: today is not over yet)."""
    day = today if today in days else today - dt.timedelta(days=1)
    length = 0
    while day in days:
        length += 1
        day -= dt.timedelta(days=1)
    return length


def gamification_award_for_entry(*, entry: DiaryEntry) -> list[PointsAward | BadgeAward]:
    """Award what a new entry earns (called inside ``diary_record``'s transaction)."""
    enrolment = entry.enrolment
    if not enrolment.program.gamification_enabled:
        return []
    awards: list[PointsAward | BadgeAward] = []
    now = timezone.now()
    on_time = entry.recorded_at - entry.occurred_at <= ON_TIME
    if entry.kind == DiaryEntry.Kind.DOSE and entry.dose_status != "missed" and on_time:
        awards.append(
            PointsAward.objects.create(
                enrolment=enrolment, points=DOSE_ON_TIME_POINTS, reason="Dose logged on time"
            )
        )
    today = timezone.localdate()
    day_start = timezone.make_aware(dt.datetime.combine(today, dt.time()))
    if not PointsAward.objects.filter(
        enrolment=enrolment, reason="Diary kept today", awarded_at__gte=day_start
    ).exists():
        awards.append(
            PointsAward.objects.create(
                enrolment=enrolment, points=DIARY_DAY_POINTS, reason="Diary kept today"
            )
        )
    earned = set(BadgeAward.objects.filter(enrolment=enrolment).values_list("code", flat=True))
    wanted = ["first-entry"]
    streak = streak_length(diary_days(enrolment.pk, today=today), today=today)
    wanted += [code for code, days in STREAK_BADGES if streak >= days]
    for code in wanted:
        if code not in earned:
            awards.append(BadgeAward.objects.create(enrolment=enrolment, code=code, awarded_at=now))
    return awards


@transaction.atomic
def gamification_set(*, actor: User, program: Program, enabled: bool) -> Program:
    """Switch gamification on or off for a program (provider staff of the program only)."""
    if not access.can_manage_program(actor, program):
        raise AccessDenied("Only provider staff of this program may change its gamification.")
    program.gamification_enabled = enabled
    program.save(update_fields=["gamification_enabled"])
    audit_write(
        actor=actor,
        action="update",
        verb="program.gamification",
        obj=program,
        detail={"enabled": enabled},
    )
    send_event_on_commit(
        "program.gamification_changed",
        groups=[program_control_group(program.pk)],
        program=program.pk,
    )
    return program


def enrolment_points(enrolment: Enrolment) -> int:
    from django.db.models import Sum

    return enrolment.points.aggregate(total=Sum("points"))["total"] or 0
