"""The patient's answer to an appointment: portal, app, SMS reply, a call; and the call list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from psp_crm.errors import DomainError, NotFound
from psp_crm.models import (
    Activity,
    AuditEvent,
    Enrolment,
    InboundSms,
    Interaction,
    Message,
    ServiceModule,
)
from psp_crm.selectors.appointments import upcoming_appointments
from psp_crm.selectors.call_list import outbound_calls_for
from psp_crm.selectors.timeline import patient_timeline
from psp_crm.services.activities import activity_cancel
from psp_crm.services.appointments import answer_in_sms, appointment_answer, is_answerable
from psp_crm.services.inbound_sms import inbound_sms_receive
from psp_crm.services.interactions import interaction_log
from tests.factories import (
    ActivityFactory,
    OperatorFactory,
    ServiceModuleFactory,
    build_world,
    confirmation_sms,
    record_events,
)

PHONE = "+39 347 555 0142"
CONFIRMED = Activity.PatientAnswer.CONFIRMED
CHANGE = Activity.PatientAnswer.CHANGE_REQUESTED


@pytest.fixture
def world(db):
    world = build_world()
    world.patient.phone = PHONE
    world.patient.save(update_fields=["phone"])
    Enrolment.objects.filter(pk=world.enrolment.pk).update(status=Enrolment.Status.ACTIVE)
    world.enrolment.refresh_from_db()
    return world


@pytest.fixture
def visit(world) -> Activity:
    """Tomorrow's home visit by the world's nurse."""
    return ActivityFactory(enrolment=world.enrolment, assignee=world.nurse)


# --- the words of an SMS answer ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("SI", CONFIRMED),
        (" sì! ", CONFIRMED),
        ("Yes.", CONFIRMED),
        ("ok", CONFIRMED),
        ("Confermo", CONFIRMED),
        ("Confermo, grazie.", CONFIRMED),
        ("ok thanks", CONFIRMED),
        ("No grazie", CHANGE),
        ("No problem, I'll be there", None),
        ("grazie", None),
        ("NO", CHANGE),
        ("no!", CHANGE),
        ("Cambia", CHANGE),
        ("change", CHANGE),
        ("OK, taken", None),
        ("no idea", None),
        ("", None),
    ],
)
def test_answer_in_sms(text, answer):
    assert answer_in_sms(text) == answer


# --- the portal and the app ------------------------------------------------------------------


def test_patient_confirms_in_the_portal(
    world, visit, monkeypatch, django_capture_on_commit_callbacks
):
    events = record_events(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        result = appointment_answer(actor=world.patient_user, activity=visit, answer=CONFIRMED)
    visit.refresh_from_db()
    assert result.pk == visit.pk
    assert visit.status == Activity.Status.CONFIRMED and visit.patient_answer == CONFIRMED
    assert visit.patient_answered_at is not None
    touch = Interaction.objects.get(activity=visit)
    assert (touch.channel, touch.direction, touch.reason) == ("web", "in", "appointment")
    assert touch.patient == world.patient and touch.enrolment == world.enrolment
    assert touch.handled_by is None and touch.summary.startswith("Confirms ")
    audit = AuditEvent.objects.get(verb="activity.answer", object_id=str(visit.pk))
    assert audit.actor == world.patient_user and audit.patient == world.patient
    assert audit.detail == {
        "answer": "confirmed",
        "previous": "",
        "channel": "web",
        "interaction": touch.pk,
    }
    assert events.verbs() == ["activity.answered"]
    groups, message = events[0]
    assert f"operator.{world.nurse.pk}" in groups and f"enrolment.{world.enrolment.pk}" in groups
    assert message["activity"] == visit.pk


def test_the_same_answer_twice_is_recorded_once(world, visit):
    appointment_answer(actor=world.patient_user, activity=visit, answer=CONFIRMED)
    appointment_answer(actor=world.patient_user, activity=visit, answer=CONFIRMED)
    assert Interaction.objects.filter(activity=visit).count() == 1
    assert AuditEvent.objects.filter(verb="activity.answer").count() == 1


def test_a_confirmed_appointment_she_cannot_keep_goes_back_to_planned(world, visit):
    appointment_answer(actor=world.patient_user, activity=visit, answer=CONFIRMED)
    appointment_answer(
        actor=world.patient_user,
        activity=visit,
        answer=CHANGE,
        channel="app",
        note="Only after 3 pm, please.",
    )
    visit.refresh_from_db()
    assert visit.status == Activity.Status.PLANNED and visit.patient_answer == CHANGE
    latest = Interaction.objects.filter(activity=visit).order_by("-pk").first()
    assert latest.channel == "app"
    assert latest.summary.startswith("Asks to change ")
    assert latest.summary.endswith("Only after 3 pm, please.")


def test_a_caregiver_with_an_active_delegation_answers(world, visit):
    appointment_answer(actor=world.caregiver_user, activity=visit, answer=CONFIRMED)
    visit.refresh_from_db()
    assert visit.patient_answer == CONFIRMED


def test_a_revoked_delegation_may_not_answer(world, visit):
    world.delegation.revoked_at = timezone.now()
    world.delegation.save(update_fields=["revoked_at"])
    with pytest.raises(NotFound):
        appointment_answer(actor=world.caregiver_user, activity=visit, answer=CONFIRMED)
    assert not Interaction.objects.filter(activity=visit).exists()


def test_counsellor_records_the_answer_given_on_a_call(world, visit):
    appointment_answer(actor=world.counsellor.user, activity=visit, answer=CHANGE, channel="phone")
    touch = Interaction.objects.get(activity=visit)
    assert touch.channel == "phone" and touch.handled_by == world.counsellor.user
    visit.refresh_from_db()
    assert visit.patient_answer == CHANGE


@pytest.mark.parametrize(
    ("who", "channel"),
    [
        ("patient_user", "phone"),  # she may not claim to be a call
        ("counsellor", "web"),  # staff do not answer in her portal
        ("doctor", "web"),
        ("doctor", "phone"),
        ("driver", "phone"),
        ("client", "web"),
        ("outsider_staff", "web"),
        ("outsider_counsellor", "phone"),
        ("other_patient", "web"),
    ],
)
def test_nobody_else_answers(world, visit, who, channel):
    users = {
        "patient_user": world.patient_user,
        "counsellor": world.counsellor.user,
        "doctor": world.doctor.user,
        "driver": world.driver.user,
        "client": world.client,
        "outsider_staff": world.outsider_staff,
        "outsider_counsellor": OperatorFactory(
            role="counsellor", programs=[world.other_program]
        ).user,
        "other_patient": build_world().patient_user,
    }
    with pytest.raises(NotFound):
        appointment_answer(actor=users[who], activity=visit, answer=CONFIRMED, channel=channel)
    visit.refresh_from_db()
    assert visit.patient_answer == "" and visit.status == Activity.Status.PLANNED


def test_an_unknown_channel_is_refused(world, visit):
    with pytest.raises(DomainError) as error:
        appointment_answer(
            actor=world.patient_user, activity=visit, answer=CONFIRMED, channel="fax"
        )
    assert "channel" in error.value.message_dict


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"answer": "maybe"}, "answer", "confirmed"),
        ({"note": "x" * 5001}, "note", "5000"),
    ],
)
def test_bad_input_gets_a_field_error(world, visit, change, field, words):
    kwargs = {"actor": world.patient_user, "activity": visit, "answer": CONFIRMED, **change}
    with pytest.raises(DomainError) as error:
        appointment_answer(**kwargs)
    assert words in error.value.message_dict[field][0]
    assert not Interaction.objects.filter(activity=visit).exists()


def test_what_cannot_be_answered(world):
    started = ActivityFactory(
        enrolment=world.enrolment, scheduled_start=timezone.now() - dt.timedelta(minutes=5)
    )
    done = ActivityFactory(enrolment=world.enrolment, status=Activity.Status.DONE)
    call = ActivityFactory(
        enrolment=world.enrolment,
        module=ServiceModuleFactory(channel=ServiceModule.Channel.PHONE),
    )
    for activity, words in (
        (started, "already started"),
        (done, "already done"),
        (call, "does not need an answer"),
    ):
        assert not is_answerable(activity)
        with pytest.raises(DomainError) as error:
            appointment_answer(actor=world.patient_user, activity=activity, answer=CONFIRMED)
        assert words in error.value.message_dict["answer"][0]


def test_upcoming_appointments_are_what_she_may_answer(world, visit):
    ActivityFactory(enrolment=world.enrolment, status=Activity.Status.CANCELLED)
    ActivityFactory(
        enrolment=world.enrolment,
        module=ServiceModuleFactory(channel=ServiceModule.Channel.PHONE),
    )
    other = ActivityFactory(enrolment=world.other_enrolment)
    mine = upcoming_appointments(
        actor=world.counsellor.user, role="operator", patient=world.patient
    )
    assert mine == [visit]
    assert other not in mine


# --- an SMS reply ----------------------------------------------------------------------------


def test_yes_by_sms_confirms_the_appointment(world, visit):
    sent = confirmation_sms(visit)
    sms = inbound_sms_receive(provider_ref="appt-1", from_number="347 555 0142", body="Sì")
    assert sms.in_reply_to == sent and sms.appointment_answer == CONFIRMED
    visit.refresh_from_db()
    assert visit.status == Activity.Status.CONFIRMED and visit.patient_answer == CONFIRMED
    touch = Interaction.objects.get(patient=world.patient, channel="sms")
    assert touch.activity == visit and touch.reason == "appointment" and touch.summary == "Sì"
    audit = AuditEvent.objects.get(verb="activity.answer")
    assert audit.actor is None and audit.detail["channel"] == "sms"
    assert AuditEvent.objects.get(verb="sms.receive").detail["appointment_answer"] == CONFIRMED


def test_no_by_sms_asks_to_change_it(world, visit):
    confirmation_sms(visit)
    inbound_sms_receive(provider_ref="appt-2", from_number=PHONE, body="NO")
    visit.refresh_from_db()
    assert visit.patient_answer == CHANGE and visit.status == Activity.Status.PLANNED


@pytest.mark.parametrize("body", ["OK, taken", "Can the nurse come earlier?"])
def test_other_words_stay_a_plain_reply(world, visit, body):
    confirmation_sms(visit)
    sms = inbound_sms_receive(provider_ref="appt-3", from_number=PHONE, body=body)
    assert sms.appointment_answer == ""
    visit.refresh_from_db()
    assert visit.patient_answer == ""
    assert Interaction.objects.get(channel="sms", patient=world.patient).activity is None


def test_yes_to_a_dose_reminder_answers_no_appointment(world, visit):
    reminder = confirmation_sms(visit)
    Message.objects.filter(pk=reminder.pk).update(purpose="dose_reminder")
    sms = inbound_sms_receive(provider_ref="appt-4", from_number=PHONE, body="SI")
    assert sms.appointment_answer == ""
    visit.refresh_from_db()
    assert visit.patient_answer == ""


def test_yes_about_a_cancelled_appointment_changes_nothing(world, visit):
    confirmation_sms(visit)
    activity_cancel(actor=world.nurse.user, activity=visit, reason="patient in hospital")
    sms = inbound_sms_receive(provider_ref="appt-5", from_number=PHONE, body="yes")
    assert sms.status == InboundSms.Status.MATCHED and sms.appointment_answer == ""
    visit.refresh_from_db()
    assert visit.status == Activity.Status.CANCELLED and visit.patient_answer == ""
    assert Interaction.objects.filter(channel="sms", patient=world.patient).exists()


def test_the_sms_answer_reads_on_the_timeline(world, visit):
    confirmation_sms(visit)
    inbound_sms_receive(provider_ref="appt-6", from_number=PHONE, body="si")
    timeline = patient_timeline(actor=world.counsellor.user, role="operator", patient=world.patient)
    sms = next(item for item in timeline.items if item.channel == "sms" and item.direction == "in")
    assert visit.module.name in sms.subject and "reply about" in sms.subject


# --- the contact centre calls her back --------------------------------------------------------


def _change_calls(world):
    return [
        item
        for item in outbound_calls_for(world.counsellor.user)
        if item.kind == "appointment_change"
    ]


def test_a_change_request_is_on_the_call_list_until_she_is_called(world, visit):
    appointment_answer(actor=world.patient_user, activity=visit, answer=CHANGE)
    [item] = _change_calls(world)
    assert item.patient == world.patient and item.activity == visit
    assert item.reason == "appointment" and visit.module.name in item.why
    assert item.due <= visit.scheduled_start
    interaction_log(
        actor=world.counsellor.user,
        patient=world.patient,
        channel="phone",
        direction="out",
        reason="appointment",
        summary="Agreed Thursday afternoon with the nurse.",
        enrolment=world.enrolment,
    )
    assert _change_calls(world) == []


def test_a_change_request_leaves_the_list_when_the_appointment_is_cancelled(world, visit):
    appointment_answer(actor=world.patient_user, activity=visit, answer=CHANGE)
    activity_cancel(actor=world.nurse.user, activity=visit, reason="moved to next week")
    assert _change_calls(world) == []


def test_a_confirmation_puts_nothing_on_the_call_list(world, visit):
    appointment_answer(actor=world.patient_user, activity=visit, answer=CONFIRMED)
    assert _change_calls(world) == []


def test_another_programs_counsellor_does_not_get_the_call(world, visit):
    appointment_answer(actor=world.patient_user, activity=visit, answer=CHANGE)
    outsider = OperatorFactory(role="counsellor", programs=[world.other_program]).user
    assert [i for i in outbound_calls_for(outsider) if i.kind == "appointment_change"] == []
