"""The contact centre's outbound call list, call scripts and the people who may own a case.

``outbound_calls_for`` gathers, for a counsellor (or another clinical operator), the calls to make:

(a) phone activities due by the end of today, not done or cancelled, hers or unassigned in her
    programs;
(b) daily therapies with no dose taken on both of the last two days, or two doses reported
    missed on consecutive days (the last week);
(c) a drug delivery missed or no-show in the last week with no delivery completed since;
(d) her open cases that wait for the patient, asked for a call back or ran past their deadline;
(e) appointments the patient asked to change (``services.appointments``) that are still open and
    not over.

An entry leaves the list once an outbound phone call with the matching reason is logged for the
patient after what triggered it. Every rule is one query over all the patients at once (no query
per patient), and phone consent is read in one more query.

``call_list_page`` is what the page shows: one program or all, one kind or all, the counts per
kind (what is waiting), and one page of ``CALLS_PER_PAGE`` items, soonest due first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import F, OuterRef, Q, Subquery
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import access
from ..errors import AccessDenied
from ..models import (
    Activity,
    CallScript,
    Case,
    Consent,
    DiaryEntry,
    Enrolment,
    Interaction,
    Operator,
    Patient,
    Product,
    Program,
    ServiceModule,
    User,
)
from .appointments import change_requests

DELIVERY_MODULE = "drug-delivery"
LOOKBACK_DAYS = 7
DAILY_DOSES_PER_WEEK = 7
TAKEN = (DiaryEntry.DoseStatus.TAKEN, DiaryEntry.DoseStatus.LATE)
# Phone activities → the reason of the call they ask for.
MODULE_REASON: dict[str, str] = {
    "adherence-check-call": Interaction.Reason.ADHERENCE_CHECK,
    "counselling-call": Interaction.Reason.ADHERENCE_CHECK,
    "pharmacist-call": Interaction.Reason.THERAPY_QUESTION,
    "hospital-visit-reminder": Interaction.Reason.APPOINTMENT,
}
# Case categories → the reason of the call back.
CATEGORY_REASON: dict[str, str] = {
    "logistics": Interaction.Reason.LOGISTICS,
    "complaint": Interaction.Reason.COMPLAINT,
    "adverse_event_suspicion": Interaction.Reason.SIDE_EFFECT,
    "information": Interaction.Reason.INFORMATION,
    "request": Interaction.Reason.OTHER,
}
SCRIPT_FALLBACK_LANGUAGES = ("it", "en")
CALLS_PER_PAGE = 50
# The kinds of entry, in the order the page offers them.
CALL_KINDS: tuple[tuple[str, str], ...] = (
    ("activity", gettext_lazy("Planned calls")),
    ("missed_doses", gettext_lazy("Missed doses")),
    ("missed_delivery", gettext_lazy("Missed deliveries")),
    ("case", gettext_lazy("Cases waiting")),
    ("appointment_change", gettext_lazy("Appointments to change")),
)
# A request to change an appointment is due this soon after it came (or by the appointment).
CHANGE_REQUEST_ANSWER_WITHIN = dt.timedelta(hours=4)


@dataclass
class CallListItem:
    """One call to make: whom, why (in plain words), by when, and whether she may be phoned."""

    patient: Patient
    reason: str
    why: str
    due: dt.datetime
    program: Program | None
    phone_consent: bool = False
    kind: str = ""  # one of CALL_KINDS
    enrolment: Enrolment | None = None
    activity: Activity | None = None
    case: Case | None = None
    trigger_at: dt.datetime | None = field(default=None, repr=False)

    @property
    def reason_label(self) -> str:
        return str(Interaction.Reason(self.reason).label)

    @property
    def is_overdue(self) -> bool:
        return self.due < timezone.now()


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _day(day: dt.date) -> str:
    return formats.date_format(day, "j M")


def _two_days(first: dt.date, second: dt.date) -> dict[str, str]:
    """ "1" and "2 Dec" within a month, "30 Nov" and "1 Dec" across two."""
    same_month = (first.year, first.month) == (second.year, second.month)
    return {
        "first": formats.date_format(first, "j") if same_month else _day(first),
        "second": _day(second),
    }


def _require_call_centre(actor: User) -> None:
    if "operator" not in access.roles_of(actor) or not access.sees_clinical_data(actor, "operator"):
        raise AccessDenied(_("The call list is for counsellors and clinical staff."))


@dataclass
class CallListPage:
    """One page of the call list, with how many calls of each kind wait (before paging)."""

    items: list[CallListItem]
    counts: dict[str, int]
    total: int
    page: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def call_list_programs(actor: User) -> list[Program]:
    """The programs whose patients the actor may call (the call list's program filter)."""
    _require_call_centre(actor)
    enrolments = access.enrolments_for(actor, role="operator")
    return list(Program.objects.filter(pk__in=enrolments.values("program_id")).order_by("code"))


def call_list_page(
    actor: User,
    *,
    kind: str = "",
    program: Program | None = None,
    page: object = 1,
    per_page: int | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> CallListPage:
    """A page of the actor's outbound calls: of one kind (or all), in one program (or all).

    The counts are per kind within the program filter, so the tabs say what waits elsewhere.
    A page past the end shows the last one.
    """
    items = outbound_calls_for(actor, program=program, today=today, now=now, with_consent=False)
    counts = {code: 0 for code, _label in CALL_KINDS}
    for item in items:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    if kind in counts:
        items = [item for item in items if item.kind == kind]
    per_page = per_page or CALLS_PER_PAGE
    pages = max(1, -(-len(items) // per_page))
    try:
        number = min(max(1, int(page)), pages)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        number = 1
    start = (number - 1) * per_page
    shown = items[start : start + per_page]
    _mark_phone_consent(shown)
    return CallListPage(items=shown, counts=counts, total=len(items), page=number, pages=pages)


def outbound_calls_for(
    actor: User,
    *,
    program: Program | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    with_consent: bool = True,
) -> list[CallListItem]:
    """The outbound calls the actor should make today, soonest due first (in one program)."""
    _require_call_centre(actor)
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    operator = actor.operator_profile
    enrolments = access.enrolments_for(actor, role="operator")
    programs = access.programs_for(actor, "staff_program")
    if program is not None:
        enrolments = enrolments.filter(program=program)
        programs = programs.filter(pk=program.pk)

    items: list[CallListItem] = []
    items += _due_call_activities(operator, enrolments, programs, today)
    items += _missed_doses(enrolments, today)
    items += _missed_deliveries(enrolments, today, now)
    items += _case_call_backs(actor, enrolments, now)
    items += _change_requests(enrolments, now)
    items = _drop_answered(items)
    if with_consent:
        _mark_phone_consent(items)
    items.sort(key=lambda item: (item.due, item.patient.last_name, item.patient.pk))
    return items


def _due_call_activities(
    operator: Operator, enrolments, programs, today: dt.date
) -> list[CallListItem]:
    rows = (
        Activity.objects.filter(
            enrolment__in=enrolments,
            module__channel=ServiceModule.Channel.PHONE,
            status__in=Activity.OPEN_STATUSES,
            scheduled_start__lt=_midnight(today + dt.timedelta(days=1)),
        )
        .filter(Q(assignee=operator) | Q(assignee__isnull=True, enrolment__program__in=programs))
        .select_related("module", "enrolment__patient", "enrolment__program")
        .order_by("scheduled_start", "pk")
    )
    items = []
    for activity in rows:
        local = timezone.localtime(activity.scheduled_start)
        items.append(
            CallListItem(
                patient=activity.enrolment.patient,
                reason=MODULE_REASON.get(activity.module.code, Interaction.Reason.OTHER),
                why=_("%(module)s planned for %(day)s")
                % {"module": activity.module.name, "day": _day(local.date())},
                due=activity.scheduled_end,
                program=activity.enrolment.program,
                kind="activity",
                enrolment=activity.enrolment,
                activity=activity,
                trigger_at=_midnight(local.date()),
            )
        )
    return items


def _missed_doses(enrolments, today: dt.date) -> list[CallListItem]:
    """Daily therapies: no dose taken on both of the last two days, or two missed in a row.

    The first rule is a ``NOT IN`` in the database; the second reads only the doses reported
    missed in the last week (and the taken ones of those enrolments). Only flagged enrolments are
    loaded, with their patient, in one query; each pair of days is formatted once.
    """
    day_before, yesterday = today - dt.timedelta(days=2), today - dt.timedelta(days=1)
    window_start = today - dt.timedelta(days=LOOKBACK_DAYS)
    daily = enrolments.filter(
        status=Enrolment.Status.ACTIVE, doses_per_week__gte=DAILY_DOSES_PER_WEEK
    ).filter(
        Q(therapy_start_date__isnull=True) | Q(therapy_start_date__lte=day_before),
        Q(start_date__isnull=True) | Q(start_date__lte=day_before),
    )
    doses = DiaryEntry.objects.filter(kind=DiaryEntry.Kind.DOSE, superseded_by__isnull=True)
    taken_lately = doses.filter(
        dose_status__in=TAKEN,
        occurred_at__gte=_midnight(day_before),
        occurred_at__lt=_midnight(today),
    )
    week = doses.filter(occurred_at__gte=_midnight(window_start), occurred_at__lt=_midnight(today))
    zone = timezone.get_current_timezone()  # ``timezone.localtime`` without its per-row checks
    missed: set[tuple[int, dt.date]] = {
        (enrolment_id, at.astimezone(zone).date())
        for enrolment_id, at in week.exclude(dose_status__in=TAKEN)
        .filter(enrolment__in=daily.values("pk"))
        .values_list("enrolment_id", "occurred_at")
    }
    taken: set[tuple[int, dt.date]] = set()
    if missed:
        taken = {
            (enrolment_id, at.astimezone(zone).date())
            for enrolment_id, at in week.filter(
                dose_status__in=TAKEN, enrolment__in={pk for pk, _day in missed}
            ).values_list("enrolment_id", "occurred_at")
        }
    missed_pair: dict[int, tuple[dt.date, dt.date]] = {}
    for pk in sorted({pk for pk, _day in missed}):
        day = yesterday
        while day > window_start:
            previous = day - dt.timedelta(days=1)
            pair = ((pk, previous), (pk, day))
            if all(p in missed and p not in taken for p in pair):
                missed_pair[pk] = (previous, day)
                break
            day = previous
    rows = (
        # NOT IN over the window's taken doses runs once (a hashed subplan); a correlated
        # NOT EXISTS was planned as a nested loop over every pair (4 s at 10,000 therapies).
        daily.filter(
            ~Q(pk__in=taken_lately.values("enrolment_id")) | Q(pk__in=list(missed_pair))
        ).select_related("patient")
    )
    programs = {p.pk: p for p in Program.objects.filter(pk__in=daily.values("program_id"))}
    no_dose = _("No dose logged on %(first)s and %(second)s")
    reported = _("Doses reported missed on %(first)s and %(second)s")
    days: dict[tuple[dt.date, dt.date], dict[str, str]] = {}
    items = []
    for enrolment in rows:
        pk = enrolment.pk
        if pk not in missed_pair or not ((pk, day_before) in taken or (pk, yesterday) in taken):
            (first, second), why = (day_before, yesterday), no_dose
        else:
            (first, second), why = missed_pair[enrolment.pk], reported
        if (first, second) not in days:
            days[first, second] = _two_days(first, second)
        enrolment.program = programs[enrolment.program_id]
        trigger = _midnight(second + dt.timedelta(days=1))
        items.append(
            CallListItem(
                patient=enrolment.patient,
                reason=Interaction.Reason.MISSED_DOSES,
                why=why % days[first, second],
                due=trigger + dt.timedelta(hours=18),  # within the working day after
                program=enrolment.program,
                kind="missed_doses",
                enrolment=enrolment,
                trigger_at=trigger,
            )
        )
    return items


def _missed_deliveries(enrolments, today: dt.date, now: dt.datetime) -> list[CallListItem]:
    """A delivery missed in the last week with no delivery completed after it."""
    missed = list(
        Activity.objects.filter(
            enrolment__in=enrolments,
            module__code=DELIVERY_MODULE,
            status=Activity.Status.MISSED,
            scheduled_start__gte=_midnight(today - dt.timedelta(days=LOOKBACK_DAYS)),
            scheduled_start__lte=now,
        )
        .select_related("enrolment__patient", "enrolment__program")
        .order_by("-scheduled_start", "-pk")
    )
    if not missed:
        return []
    done = Activity.objects.filter(
        enrolment__in={a.enrolment_id for a in missed},
        module__code=DELIVERY_MODULE,
        status=Activity.Status.DONE,
    ).values_list("enrolment_id", "scheduled_start")
    last_done: dict[int, dt.datetime] = {}
    for enrolment_id, start in done:
        if enrolment_id not in last_done or start > last_done[enrolment_id]:
            last_done[enrolment_id] = start
    items = []
    seen: set[int] = set()
    for activity in missed:  # the latest miss per enrolment
        if activity.enrolment_id in seen:
            continue
        seen.add(activity.enrolment_id)
        completed = last_done.get(activity.enrolment_id)
        if completed is not None and completed > activity.scheduled_start:
            continue
        day = _day(timezone.localtime(activity.scheduled_start).date())
        why = _("Delivery of %(day)s was missed") % {"day": day}
        if activity.status_reason:
            why = f"{why}: {activity.status_reason}"
        items.append(
            CallListItem(
                patient=activity.enrolment.patient,
                reason=Interaction.Reason.MISSED_DELIVERY,
                why=why,
                due=activity.scheduled_end + dt.timedelta(hours=24),
                program=activity.enrolment.program,
                kind="missed_delivery",
                enrolment=activity.enrolment,
                activity=activity,
                trigger_at=activity.scheduled_start,
            )
        )
    return items


def _case_call_backs(actor: User, enrolments, now: dt.datetime) -> list[CallListItem]:
    """Her open cases waiting for the patient, asking for a call back, or past their deadline."""
    callback = (
        Interaction.objects.filter(case=OuterRef("pk"), outcome=Interaction.Outcome.CALLBACK)
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    rows = (
        Case.objects.filter(
            Q(enrolment__in=enrolments) | Q(enrolment__isnull=True),
            assigned_to=actor,
            status__in=[Case.Status.OPEN, Case.Status.WAITING],
        )
        .annotate(callback_at=Subquery(callback))
        .filter(
            Q(status=Case.Status.WAITING)
            | Q(callback_at__isnull=False)
            | Q(sla_paused_at__isnull=True, due_at__lt=now)
        )
        .select_related("patient", "enrolment__program")
        .order_by(F("due_at").asc(nulls_last=True), "pk")
    )
    items = []
    for case in rows:
        if case.status == Case.Status.WAITING:
            why = _("Case #%(id)s waits for the patient: %(subject)s")
            trigger = case.sla_paused_at or case.opened_at
        elif case.callback_at is not None:
            why = _("Call back requested on case #%(id)s: %(subject)s")
            trigger = case.callback_at
        else:
            why = _("Case #%(id)s is past its deadline: %(subject)s")
            trigger = case.due_at
        items.append(
            CallListItem(
                patient=case.patient,
                reason=CATEGORY_REASON.get(case.category, Interaction.Reason.OTHER),
                why=why % {"id": case.pk, "subject": case.subject},
                due=case.due_at or now,
                program=case.enrolment.program if case.enrolment else None,
                kind="case",
                enrolment=case.enrolment,
                case=case,
                trigger_at=trigger,
            )
        )
    return items


def _change_requests(enrolments, now: dt.datetime) -> list[CallListItem]:
    """Appointments she asked to change, still open and not over: call her to agree another."""
    rows = (
        change_requests(enrolments, now)
        .select_related("module", "enrolment__patient", "enrolment__program")
        .order_by("scheduled_start", "pk")
    )
    items = []
    for activity in rows:
        asked = activity.patient_answered_at or now
        local = timezone.localtime(activity.scheduled_start)
        items.append(
            CallListItem(
                patient=activity.enrolment.patient,
                reason=Interaction.Reason.APPOINTMENT,
                why=_("Asks to change %(module)s of %(day)s at %(time)s")
                % {
                    "module": activity.module.name,
                    "day": _day(local.date()),
                    "time": formats.time_format(local.time(), "TIME_FORMAT"),
                },
                due=min(asked + CHANGE_REQUEST_ANSWER_WITHIN, activity.scheduled_start),
                program=activity.enrolment.program,
                kind="appointment_change",
                enrolment=activity.enrolment,
                activity=activity,
                trigger_at=asked,
            )
        )
    return items


def _drop_answered(items: list[CallListItem]) -> list[CallListItem]:
    """Leave out what an outbound phone call with the same reason answered after the trigger."""
    if not items:
        return items
    earliest = min(item.trigger_at or item.due for item in items)
    calls = Interaction.objects.filter(
        patient_id__in={item.patient.pk for item in items},
        channel=Interaction.Channel.PHONE,
        direction=Interaction.Direction.OUTBOUND,
        reason__in={item.reason for item in items},
        occurred_at__gte=earliest,
    ).values_list("patient_id", "reason", "occurred_at")
    latest: dict[tuple[int, str], dt.datetime] = {}
    for patient_id, reason, occurred_at in calls:
        key = (patient_id, reason)
        if key not in latest or occurred_at > latest[key]:
            latest[key] = occurred_at
    kept = []
    for item in items:
        called = latest.get((item.patient.pk, item.reason))
        if called is not None and called >= (item.trigger_at or item.due):
            continue
        kept.append(item)
    return kept


def _mark_phone_consent(items: list[CallListItem]) -> None:
    """The same rule as ``messaging.policy.consented_channels`` (``phone``), for all at once."""
    if not items:
        return
    consented = set(
        Consent.objects.filter(
            patient_id__in={item.patient.pk for item in items},
            kind=Consent.Kind.CHANNEL_PHONE,
            withdrawn_at__isnull=True,
        ).values_list("patient_id", flat=True)
    )
    for item in items:
        item.phone_consent = item.patient.pk in consented


# --- call scripts ---------------------------------------------------------------------------


def script_for(program: Program | None, reason: str, language: str = "it") -> CallScript | None:
    """The active script for a call of this reason: the program's own, else the default one.

    Without a script in ``language`` the Italian, then the English one is used.
    """
    if reason not in Interaction.Reason.values:
        return None
    languages = [language, *(code for code in SCRIPT_FALLBACK_LANGUAGES if code != language)]
    scope = Q(program__isnull=True)
    if program is not None:
        scope |= Q(program=program)
    scripts = list(
        CallScript.objects.filter(scope, reason=reason, is_active=True, language__in=languages)
    )
    for code in languages:
        for own in (True, False):
            for script in scripts:
                if script.language == code and (script.program_id is not None) == own:
                    return script
    return None


# --- who may own a case -----------------------------------------------------------------------


def case_owner_choices(*, actor: User, patient: Patient) -> list[User]:
    """People who may own a case of this patient (the actor first), as the owner select lists.

    Candidates are the clinical operators and doctors around the patient's enrolments; each is
    confirmed with the same rule the services apply (``services.interactions.writer_role``).
    """
    from ..services.interactions import writer_role

    visible = access.enrolments_for(actor, role=None).filter(patient=patient)
    enrolment_ids = list(visible.values_list("pk", flat=True))
    candidates = (
        User.objects.filter(is_active=True)
        .filter(
            Q(operator_profile__role__in=Operator.PROGRAM_WIDE_ROLES)
            | Q(
                operator_profile__role__in=Operator.CLINICAL_ROLES,
                operator_profile__assigned_enrolments__in=enrolment_ids,
            )
            | Q(
                operator_profile__role__in=Operator.CLINICAL_ROLES,
                operator_profile__activities__enrolment_id__in=enrolment_ids,
            )
            | Q(doctor_profile__followed_enrolments__in=enrolment_ids)
            | Q(pk=actor.pk)
        )
        .distinct()
        .order_by("last_name", "first_name", "pk")[:100]
    )
    owners = [user for user in candidates if writer_role(user, patient) is not None]
    owners.sort(key=lambda user: user.pk != actor.pk)
    return owners


# --- what the adverse-event form offers -------------------------------------------------------


def program_products(programs) -> list[Product]:
    """The products of these (already visible) programs: the suspect-product choices."""
    return list(
        Product.objects.filter(programs__in=[p.pk for p in programs]).distinct().order_by("name")
    )


def recent_interactions(
    *, actor: User, role: access.Role, patient: Patient, limit: int = 10
) -> list[Interaction]:
    """The patient's latest contacts the actor may link an adverse event to (newest first)."""
    if not access.patients_for(actor, role=role).filter(pk=patient.pk).exists():
        return []
    enrolments = access.enrolments_for(actor, role=role).filter(patient=patient)
    return list(
        Interaction.objects.filter(
            Q(enrolment__in=enrolments) | Q(enrolment__isnull=True), patient=patient
        ).order_by("-occurred_at", "-pk")[:limit]
    )


def symptom_entry_for(
    *, actor: User, role: access.Role, enrolment: Enrolment, entry_id: object
) -> DiaryEntry | None:
    """A current symptom entry of this enrolment the actor may read (None when not found)."""
    try:
        pk = int(entry_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return (
        access.diary_entries_for(actor, role=role)
        .filter(
            pk=pk,
            enrolment=enrolment,
            kind=DiaryEntry.Kind.SYMPTOM,
            superseded_by__isnull=True,
        )
        .first()
    )
