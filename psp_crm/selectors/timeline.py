"""The patient's omnichannel timeline and the contact centre's patient finder.

The timeline merges, newest first, the patient's interactions and cases (with their SLA clock and
any suspected adverse event), messages and reminders with their delivery status, diary entries,
activities done or missed, reports, device events and consents given or withdrawn (on which
channel: the portal, a call, an SMS reply). Each source is read through the access
policy and limited to the requested page's window (``page × per_page`` rows at most), so a page
costs a fixed handful of queries whatever the history's length.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Replace
from django.utils import formats
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from .. import access
from ..access import Role
from ..errors import NotFound
from ..models import (
    Activity,
    Case,
    Consent,
    DeviceEvent,
    Enrolment,
    Interaction,
    Message,
    Patient,
    Program,
    User,
)

PER_PAGE = 25
SEARCH_LIMIT = 20
# Channels a timeline item can be filtered on: the interaction channels and the activities' extra.
CHANNELS: list[tuple[str, str]] = [
    *Interaction.Channel.choices,
    ("video", _("Video call")),
    ("logistics", _("Logistics")),
    ("hospital", _("Hospital")),
]
CHANNEL_VALUES = frozenset(value for value, _label in CHANNELS)
# Diary sources → timeline channels.
DIARY_CHANNEL = {"app": "app", "web": "web", "device": "device", "nurse": "visit"}
# Service-module channels → timeline channels.
MODULE_CHANNEL = {"home_visit": "visit", "digital": "app"}
REPORT_CHANNEL = "web"  # reports travel through the portals


@dataclass(frozen=True)
class TimelineItem:
    """One touchpoint of the timeline."""

    when: dt.datetime
    kind: str  # interaction, case, message, diary, activity, report, device, consent
    channel: str
    direction: str  # "in", "out" or "" when it does not apply
    who: str
    subject: str
    outcome: str
    program: str = ""
    tone: str = ""  # "warning" or "danger" when the row needs attention (a failed send, overdue)


@dataclass(frozen=True)
class Timeline:
    patient: Patient
    role: Role
    items: list[TimelineItem]
    page: int
    has_next: bool
    programs: list[Program]


def _name(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.email


def clinical_patient(*, actor: User, role: Role, patient_code: str) -> Patient:
    """A patient whose clinical record the actor may open in ``role``; otherwise the same 404."""
    if role == "client" or role not in access.roles_of(actor):
        raise NotFound(_("No such patient."))
    if not access.sees_clinical_data(actor, role):
        raise NotFound(_("No such patient."))
    patient = access.patients_for(actor, role=role).filter(code=patient_code).first()
    if patient is None:
        raise NotFound(_("No such patient."))
    return patient


def timeline_programs(*, actor: User, role: Role, patient: Patient) -> list[Program]:
    """The programs of the patient's enrolments the actor sees (the timeline's program filter)."""
    enrolments = access.enrolments_for(actor, role=role).filter(patient=patient)
    return list(Program.objects.filter(pk__in=enrolments.values("program_id")).order_by("name"))


def _wanted(channels: frozenset[str] | None, channel: str) -> bool:
    return channels is None or channel in channels


def patient_timeline(
    *,
    actor: User,
    role: Role,
    patient: Patient,
    channels: list[str] | None = None,
    program: Program | None = None,
    page: object = 1,
    per_page: int = PER_PAGE,
) -> Timeline:
    """One page of the patient's timeline, newest first, as the actor may see it in ``role``."""
    if role == "client" or role not in access.roles_of(actor):
        raise NotFound(_("No such patient."))
    if not access.sees_clinical_data(actor, role):
        raise NotFound(_("No such patient."))
    if not access.patients_for(actor, role=role).filter(pk=patient.pk).exists():
        raise NotFound(_("No such patient."))
    try:
        page_number = max(1, int(page))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        page_number = 1
    window = page_number * per_page + 1  # one more than needed tells whether a next page exists
    wanted = frozenset(c for c in channels or [] if c in CHANNEL_VALUES) or None

    enrolments = access.enrolments_for(actor, role=role).filter(patient=patient)
    programs = timeline_programs(actor=actor, role=role, patient=patient)
    if program is not None:
        enrolments = enrolments.filter(program=program)
    enrolment_ids = list(enrolments.values_list("pk", flat=True))
    # Contacts not tied to a program belong to the patient; a program filter leaves them out.
    own = Q(enrolment_id__in=enrolment_ids)
    if program is None:
        own |= Q(enrolment__isnull=True)

    items: list[TimelineItem] = []
    items += _interactions(patient, own, wanted, window)
    items += _messages(patient, own, wanted, window)
    items += _consents(patient, own, wanted, window)
    if wanted is None:
        items += _cases(patient, own, window)
    items += _diary(actor, role, enrolment_ids, wanted, window)
    items += _activities(actor, role, enrolment_ids, wanted, window)
    if _wanted(wanted, REPORT_CHANNEL):
        items += _reports(actor, role, enrolment_ids, window)
    if _wanted(wanted, "device"):
        items += _device_events(enrolment_ids, window)

    items.sort(key=lambda item: item.when, reverse=True)
    start = (page_number - 1) * per_page
    return Timeline(
        patient=patient,
        role=role,
        items=items[start : start + per_page],
        page=page_number,
        has_next=len(items) > start + per_page,
        programs=programs,
    )


def _interactions(
    patient: Patient, own: Q, wanted: frozenset[str] | None, window: int
) -> list[TimelineItem]:
    rows: QuerySet[Interaction] = Interaction.objects.filter(own, patient=patient)
    if wanted is not None:
        rows = rows.filter(channel__in=wanted)
    rows = rows.select_related(
        "handled_by", "enrolment__program", "case", "activity__module"
    ).order_by("-occurred_at", "-pk")
    result = []
    for row in rows[:window]:
        reason, outcome, notes = split_summary(row.summary)
        reason = row.get_reason_display() if row.reason else reason
        outcome = row.get_outcome_display() if row.outcome else outcome
        if row.duration_seconds:
            outcome = " · ".join(p for p in (outcome, duration_label(row.duration_seconds)) if p)
        subject = " — ".join(part for part in (reason, notes[:300]) if part)
        if row.case_id:
            subject = f"{subject} (case #{row.case_id})"
        if row.activity is not None and row.channel == Interaction.Channel.SMS:
            when = localtime(row.activity.scheduled_start)
            subject += " · " + _("reply about %(activity)s on %(when)s") % {
                "activity": row.activity.module.name,
                "when": formats.date_format(when, "SHORT_DATETIME_FORMAT"),
            }
        result.append(
            TimelineItem(
                when=row.occurred_at,
                kind="interaction",
                channel=row.channel,
                direction=row.direction,
                who=_name(row.handled_by) or (_("the patient") if row.direction == "in" else ""),
                subject=subject,
                outcome=outcome,
                program=row.enrolment.program.code if row.enrolment else "",
            )
        )
    return result


def duration_label(seconds: int) -> str:
    """A call's length as people say it: ``7 min 30 s``, ``45 s``."""
    minutes, rest = divmod(int(seconds), 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def split_summary(summary: str) -> tuple[str, str, str]:
    """(reason, outcome, notes) of a summary written by ``services.interactions``."""
    reason = outcome = ""
    notes = []
    for line in summary.splitlines():
        if line.startswith("Reason: ") and not reason:
            reason = line.removeprefix("Reason: ")
        elif line.startswith("Outcome: ") and not outcome:
            outcome = line.removeprefix("Outcome: ")
        else:
            notes.append(line.strip())
    return reason, outcome, " ".join(n for n in notes if n)


def _cases(patient: Patient, own: Q, window: int) -> list[TimelineItem]:
    rows = (
        Case.objects.filter(own, patient=patient)
        .select_related("opened_by", "assigned_to", "enrolment__program", "adverse_event")
        .order_by("-opened_at", "-pk")
    )
    return [
        TimelineItem(
            when=row.opened_at,
            kind="case",
            channel="",
            direction="",
            who=_name(row.opened_by),
            subject=f"Case #{row.pk}: {row.subject}" + _adverse_event_words(row),
            outcome=" · ".join(case_state_words(row)),
            program=row.enrolment.program.code if row.enrolment else "",
            tone="danger" if row.is_overdue else "",
        )
        for row in rows[:window]
    ]


def _adverse_event_words(case: Case) -> str:
    event = getattr(case, "adverse_event", None)
    if event is None:
        return ""
    return f" — suspected adverse event: {event.reaction} ({event.get_seriousness_display()})"


def case_state_words(case: Case) -> list[str]:
    """Status, priority, owner and the SLA clock of a case, in plain words."""
    words = [str(case.get_status_display()), str(case.get_priority_display())]
    if case.assigned_to_id:
        words.append(f"owner {_name(case.assigned_to)}")
    if case.is_open and case.sla_paused_at is not None:
        words.append("SLA paused")
    elif case.is_overdue:
        words.append("SLA overdue")
    elif case.is_open and case.due_at is not None:
        words.append(f"due {localtime(case.due_at):%d %b %H:%M}")
    if case.escalation_level:
        words.append(f"escalated (level {case.escalation_level})")
    return words


MESSAGE_TONE = {
    Message.Status.FAILED: "danger",
    Message.Status.RETRYING: "warning",
    Message.Status.SKIPPED: "warning",
}
# Message channels → timeline channels (in-app and push reach the patient's app).
MESSAGE_CHANNEL = {"in_app": "app", "push": "app", "sms": "sms", "email": "email"}


def _messages(
    patient: Patient, own: Q, wanted: frozenset[str] | None, window: int
) -> list[TimelineItem]:
    channels = [c for c, shown in MESSAGE_CHANNEL.items() if _wanted(wanted, shown)]
    if not channels:
        return []
    rows = (
        Message.objects.filter(own, patient=patient, channel__in=channels)
        .annotate(happened_at=Coalesce("sent_at", "created_at"))
        .select_related("created_by", "enrolment__program", "copy_for__caregiver__user")
        .order_by("-happened_at", "-pk")
    )
    result = []
    for row in rows[:window]:
        state = [str(row.get_status_display())]
        if row.status == Message.Status.SKIPPED and row.skip_reason:
            state.append(row.skip_reason)
        if row.status in (Message.Status.RETRYING, Message.Status.FAILED):
            state.append(f"{row.attempts} attempt{'s' if row.attempts != 1 else ''}")
            if row.last_error:
                state.append(row.last_error[:120])
        if row.status == Message.Status.RETRYING and row.next_attempt_at:
            state.append(f"next try {localtime(row.next_attempt_at):%d %b %H:%M}")
        if row.status == Message.Status.DEFERRED and row.next_attempt_at:
            state.append(f"quiet hours, sends at {localtime(row.next_attempt_at):%d %b %H:%M}")
        if row.read_at:
            state.append("read")
        label = f"{row.get_purpose_display()} ({row.get_channel_display()})"
        if row.copy_for is not None:
            copy = _("copy to caregiver %(name)s") % {"name": _name(row.copy_for.caregiver.user)}
            label = f"{label}, {copy}"
        result.append(
            TimelineItem(
                when=row.happened_at,
                kind="message",
                channel=MESSAGE_CHANNEL[row.channel],
                direction="out",
                who=_name(row.created_by) or str(_("automatic")),
                subject=f"{label}: {row.body[:200]}" if row.body else label,
                outcome=" · ".join(state),
                program=row.enrolment.program.code if row.enrolment else "",
                tone=MESSAGE_TONE.get(row.status, ""),
            )
        )
    return result


# Where a consent changed → the timeline channel (staff changes in the admin have none).
CONSENT_CHANNEL = {
    Consent.Via.PORTAL: "web",
    Consent.Via.APP: "app",
    Consent.Via.CONTACT_CENTRE: "phone",
    Consent.Via.SMS: "sms",
}
# Changes the patient made herself (or asked for) come in; staff records have no direction.
CONSENT_INBOUND = frozenset(
    {Consent.Via.PORTAL, Consent.Via.APP, Consent.Via.CONTACT_CENTRE, Consent.Via.SMS}
)


def _consent_item(row: Consent, withdrawn: bool) -> TimelineItem:
    via = row.withdrawn_via if withdrawn else row.given_via
    who = _name(row.withdrawn_by if withdrawn else row.recorded_by)
    if not who and via == Consent.Via.SMS:
        who = str(_("the patient, by SMS"))
    action = _("Consent withdrawn") if withdrawn else _("Consent given")
    subject = f"{action}: {row.get_kind_display()}"
    if not withdrawn:
        subject = f"{subject} (v{row.document_version})"
    return TimelineItem(
        when=row.withdrawn_at if withdrawn else row.given_at,  # type: ignore[arg-type]
        kind="consent",
        channel=CONSENT_CHANNEL.get(via, ""),
        direction="in" if via in CONSENT_INBOUND else "",
        who=who,
        subject=subject,
        outcome=str(Consent.Via(via).label) if via else "",
        program=row.enrolment.program.code if row.enrolment else "",
    )


def _consents(
    patient: Patient, own: Q, wanted: frozenset[str] | None, window: int
) -> list[TimelineItem]:
    """Consents given and withdrawn: the newest ``window`` rows by their latest change."""
    rows = (
        Consent.objects.filter(own, patient=patient)
        .annotate(changed_at=Coalesce("withdrawn_at", "given_at"))  # never withdrawn before given
        .select_related("recorded_by", "withdrawn_by", "enrolment__program")
        .order_by("-changed_at", "-pk")
    )
    result = []
    for row in rows[:window]:
        changes = [_consent_item(row, withdrawn=False)]
        if row.withdrawn_at is not None:
            changes.append(_consent_item(row, withdrawn=True))
        result += [item for item in changes if wanted is None or item.channel in wanted]
    return result


def _diary(
    actor: User, role: Role, enrolment_ids: list[int], wanted: frozenset[str] | None, window: int
) -> list[TimelineItem]:
    sources = [s for s, channel in DIARY_CHANNEL.items() if _wanted(wanted, channel)]
    if not sources:
        return []
    rows = (
        access.diary_entries_for(actor, role=role)
        .filter(enrolment_id__in=enrolment_ids, superseded_by__isnull=True, source__in=sources)
        .select_related("author", "enrolment__program")
        .order_by("-occurred_at", "-pk")
    )
    result = []
    for row in rows[:window]:
        detail = row.get_dose_status_display() if row.kind == "dose" else ""
        if row.kind == "symptom":
            detail = f"{row.symptom} ({row.severity}/10)"
        elif row.kind == "measurement":
            detail = f"{row.get_measurement_display()} {row.value} {row.unit}"
        elif row.kind == "mood":
            detail = f"{row.mood}/5"
        result.append(
            TimelineItem(
                when=row.occurred_at,
                kind="diary",
                channel=DIARY_CHANNEL.get(row.source, row.source),
                direction="in",
                who=_name(row.author) or row.get_source_display(),
                subject=f"{row.get_kind_display()}: {detail}" if detail else row.get_kind_display(),
                outcome=row.note[:200],
                program=row.enrolment.program.code,
            )
        )
    return result


def _activities(
    actor: User, role: Role, enrolment_ids: list[int], wanted: frozenset[str] | None, window: int
) -> list[TimelineItem]:
    rows = (
        access.activities_for(actor, role=role)
        .filter(
            enrolment_id__in=enrolment_ids,
            status__in=[Activity.Status.DONE, Activity.Status.MISSED],
        )
        .annotate(happened_at=Coalesce("completed_at", "scheduled_start"))
        .select_related("module", "assignee__user", "enrolment__program")
        .order_by("-happened_at", "-pk")
    )
    if wanted is not None:
        module_channels = [
            c
            for c in {*MODULE_CHANNEL, "phone", "video", "logistics", "hospital"}
            if MODULE_CHANNEL.get(c, c) in wanted
        ]
        rows = rows.filter(module__channel__in=module_channels)
    return [
        TimelineItem(
            when=row.happened_at,
            kind="activity",
            channel=MODULE_CHANNEL.get(row.module.channel, row.module.channel),
            direction="out",
            who=_name(row.assignee.user) if row.assignee else "",
            subject=row.module.name,
            outcome=row.get_status_display()
            + (f" · {row.status_reason}" if row.status_reason else "")
            + (f" · {row.outcome_notes[:200]}" if row.outcome_notes else ""),
            program=row.enrolment.program.code,
        )
        for row in rows[:window]
    ]


def _reports(actor: User, role: Role, enrolment_ids: list[int], window: int) -> list[TimelineItem]:
    rows = (
        access.reports_for(actor, role=role)
        .filter(enrolment_id__in=enrolment_ids)
        .select_related("author", "enrolment__program")
        .order_by("-created_at", "-pk")
    )
    return [
        TimelineItem(
            when=row.created_at,
            kind="report",
            channel=REPORT_CHANNEL,
            direction="in" if row.kind == "patient_to_doctor" else "out",
            who=_name(row.author),
            subject=row.subject,
            outcome=row.get_kind_display(),
            program=row.enrolment.program.code,
        )
        for row in rows[:window]
    ]


def _device_events(enrolment_ids: list[int], window: int) -> list[TimelineItem]:
    rows = (
        DeviceEvent.objects.filter(device__enrolment_id__in=enrolment_ids)
        .select_related("device__enrolment__program")
        .order_by("-occurred_at", "-pk")
    )
    return [
        TimelineItem(
            when=row.occurred_at,
            kind="device",
            channel="device",
            direction="in",
            who=str(row.device),
            subject=row.kind.replace("_", " "),
            outcome="",
            program=row.device.enrolment.program.code if row.device.enrolment else "",
        )
        for row in rows[:window]
    ]


# --- the contact centre's patient finder -------------------------------------------------------

PHONE_CHARS = re.compile(r"[^\d+]")
PHONE_SEPARATORS = (" ", "-", ".", "/", "(", ")")
PHONE_LIKE = re.compile(r"^\+?[\d\s\-./()]+$")
CODE_PATTERN = re.compile(r"^PT-[A-Z0-9]{4}-[A-Z0-9]{4}$", re.IGNORECASE)


def _digits(phone: str) -> str:
    return PHONE_CHARS.sub("", phone)


@dataclass(frozen=True)
class PatientMatch:
    patient: Patient
    programs: list[str]


def find_patients(*, actor: User, role: Role, query: str) -> list[PatientMatch]:
    """Patients the actor may see whose phone number, name or pseudonymous code match."""
    query = (query or "").strip()
    if not query or role == "client" or role not in access.roles_of(actor):
        return []
    if not access.sees_clinical_data(actor, role):
        return []
    patients = access.patients_for(actor, role=role)
    digits = _digits(query)
    if CODE_PATTERN.match(query):
        patients = patients.filter(code__iexact=query)
    elif looks_like_phone(query):
        # A phone number: compare the last nine digits, whatever the spacing or the prefix.
        tail = digits.lstrip("+")[-9:]
        bare = F("phone")
        for separator in PHONE_SEPARATORS:
            bare = Replace(bare, Value(separator), Value(""))
        patients = patients.annotate(phone_digits=bare).filter(phone_digits__endswith=tail)
    else:
        q = Q()
        for word in query.split():
            q &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
        patients = patients.filter(q)
    found = list(patients.order_by("last_name", "first_name", "pk")[:SEARCH_LIMIT])
    visible = (
        access.enrolments_for(actor, role=role)
        .filter(patient__in=found)
        .select_related("program")
        .order_by("program__code")
    )
    programs: dict[int, list[str]] = {}
    for enrolment in visible:
        programs.setdefault(enrolment.patient_id, []).append(enrolment.program.code)
    return [PatientMatch(p, programs.get(p.pk, [])) for p in found]


def looks_like_phone(query: str) -> bool:
    """Digits with the usual separators (spaces, dashes, dots, brackets, a leading +)."""
    query = (query or "").strip()
    return bool(PHONE_LIKE.match(query)) and len(_digits(query).lstrip("+")) >= 6


def patient_enrolment(
    *, actor: User, role: Role, patient: Patient, program_code: str
) -> Enrolment | None:
    """The patient's visible enrolment in the program of this code (the latest), if any."""
    if not program_code:
        return None
    return (
        access.enrolments_for(actor, role=role)
        .filter(patient=patient, program__code=program_code)
        .select_related("program")
        .order_by("-pk")
        .first()
    )


def open_cases(*, actor: User, role: Role, patient: Patient) -> list[Case]:
    """The patient's cases not yet resolved or closed, that the actor sees (urgent first)."""
    enrolments = access.enrolments_for(actor, role=role).filter(patient=patient)
    rows = (
        Case.objects.filter(
            Q(enrolment__in=enrolments) | Q(enrolment__isnull=True),
            patient=patient,
            status__in=[Case.Status.OPEN, Case.Status.WAITING],
        )
        .select_related("assigned_to", "enrolment__program")
        .order_by("-opened_at", "-pk")
    )
    urgency = {value: i for i, value in enumerate(reversed(Case.Priority.values))}
    return sorted(rows[:SEARCH_LIMIT], key=lambda case: urgency[case.priority])


def case_for(*, actor: User, role: Role, case_id: int) -> Case:
    """One case of a patient whose clinical record the actor may open; otherwise the same 404."""
    case = Case.objects.select_related("patient").filter(pk=case_id).first()
    if case is None:
        raise NotFound(_("No such case."))
    clinical_patient(actor=actor, role=role, patient_code=case.patient.code)
    return case
