"""Appointments answered in the patient portal, the app and on a call; who may, for every account.

Anna has a home visit by nurse Verdi tomorrow. She (or Luca, her son, under his delegation)
confirms it or asks to change it; counsellor Neri records what she said on a call.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from psp_crm.models import (
    Activity,
    Channel,
    Enrolment,
    Interaction,
    Message,
    Operator,
    Patient,
    Purpose,
)
from tests.factories import ActivityFactory
from tests.test_access_matrix import (
    ACCOUNTS,
    ANNA,
    COUNSELLOR,
    LUCA,
    MARCO,
    NURSE,
    OPERATORS,
    PATIENT_PORTAL,
    objects,
)

CONFIRMED = Activity.PatientAnswer.CONFIRMED
CHANGE = Activity.PatientAnswer.CHANGE_REQUESTED


@pytest.fixture
def anna(demo_world) -> Patient:
    return Patient.objects.get(user__email=ANNA)


@pytest.fixture
def visit(anna) -> Activity:
    """Tomorrow's home visit by nurse Verdi in Anna's MS program."""
    enrolment = Enrolment.objects.get(patient=anna, program__code="MS-ADHERE")
    start = timezone.now() + dt.timedelta(days=1)
    return ActivityFactory(
        enrolment=enrolment,
        assignee=Operator.objects.get(user__email=NURSE),
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(hours=2),
    )


def _answers(visit: Activity) -> list[Interaction]:
    return list(Interaction.objects.filter(activity=visit).order_by("pk"))


# --- the patient portal ---------------------------------------------------------------------


def test_anna_sees_the_buttons_on_her_overview(signed_in, visit):
    html = signed_in(ANNA).get("/patient/").content.decode()
    assert f'action="/patient/appointments/{visit.pk}/"' in html
    assert "I will be there" in html and "I need to change it" in html


def test_anna_confirms_from_her_overview(signed_in, visit):
    client = signed_in(ANNA)
    response = client.post(f"/patient/appointments/{visit.pk}/", {"answer": "confirmed"})
    assert response.status_code == 302
    assert response["Location"] == f"/patient/appointments/{visit.pk}/"
    visit.refresh_from_db()
    assert visit.status == Activity.Status.CONFIRMED and visit.patient_answer == CONFIRMED
    [touch] = _answers(visit)
    assert touch.channel == "web" and touch.direction == "in"
    page = client.get(response["Location"]).content.decode()
    assert "the appointment is confirmed" in page
    assert "You confirmed this appointment" in page


def test_anna_asks_to_change_it_with_a_note(signed_in, visit):
    response = signed_in(ANNA).post(
        f"/patient/appointments/{visit.pk}/",
        {"answer": "change_requested", "note": "Only after 3 pm, please."},
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.patient_answer == CHANGE
    assert _answers(visit)[0].summary.endswith("Only after 3 pm, please.")


def test_luca_answers_for_his_mother(signed_in, anna, visit):
    client = signed_in(LUCA)
    assert (
        f"/patient/p/{anna.code}/appointments/{visit.pk}/"
        in client.get(f"/patient/p/{anna.code}/").content.decode()
    )
    response = client.post(
        f"/patient/p/{anna.code}/appointments/{visit.pk}/", {"answer": "confirmed"}
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.patient_answer == CONFIRMED


@pytest.mark.parametrize(
    ("data", "words"),
    [({"answer": "maybe"}, "Select a valid choice"), ({}, "This field is required")],
)
def test_a_bad_answer_is_a_400_with_the_message(signed_in, visit, data, words):
    response = signed_in(ANNA).post(f"/patient/appointments/{visit.pk}/", data)
    assert response.status_code == 400
    assert words in response.content.decode()
    visit.refresh_from_db()
    assert visit.patient_answer == "" and _answers(visit) == []


def test_a_started_appointment_is_a_400_and_offers_no_buttons(signed_in, visit):
    Activity.objects.filter(pk=visit.pk).update(
        scheduled_start=timezone.now() - dt.timedelta(minutes=10)
    )
    client = signed_in(ANNA)
    response = client.post(f"/patient/appointments/{visit.pk}/", {"answer": "confirmed"})
    assert response.status_code == 400
    assert "already started" in response.content.decode()
    page = client.get(f"/patient/appointments/{visit.pk}/").content.decode()
    assert 'data-testid="answer-form"' not in page


def test_the_in_app_confirmation_links_to_the_appointment(signed_in, anna, visit):
    Message.objects.create(
        patient=anna,
        recipient=anna.user,
        enrolment=visit.enrolment,
        activity=visit,
        purpose=Purpose.ACTIVITY_CONFIRMATION,
        channel=Channel.IN_APP,
        subject="Please confirm",
        body="Your visit is tomorrow.",
        status=Message.Status.SENT,
        sent_at=timezone.now(),
    )
    html = signed_in(ANNA).get("/patient/messages/").content.decode()
    assert f'href="/patient/appointments/{visit.pk}/" data-testid="answer-link"' in html
    luca = signed_in(LUCA).get(f"/patient/p/{anna.code}/messages/").content.decode()
    assert f'href="/patient/p/{anna.code}/appointments/{visit.pk}/"' in luca


# --- the app ---------------------------------------------------------------------------------


def _api(demo_user, email: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(demo_user(email))
    return client


def test_the_app_lists_whether_she_may_answer(demo_user, visit):
    response = _api(demo_user, ANNA).get(f"/api/v1/activities/{visit.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["answerable"] is True and body["patient_answer"] == ""


def test_anna_asks_to_change_it_in_the_app(demo_user, visit):
    response = _api(demo_user, ANNA).post(
        f"/api/v1/activities/{visit.pk}/answer/",
        {"answer": "change_requested", "note": "I am away that day."},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["patient_answer"] == "change_requested" and body["status"] == "planned"
    assert body["patient_answered_at"]
    [touch] = _answers(visit)
    assert touch.channel == "app"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"answer": "perhaps"}, "answer"),
        ({}, "answer"),
        ({"answer": "confirmed", "note": "x" * 5001}, "note"),
    ],
)
def test_the_app_gets_field_errors(demo_user, visit, data, field):
    response = _api(demo_user, ANNA).post(
        f"/api/v1/activities/{visit.pk}/answer/", data, format="json"
    )
    assert response.status_code == 400
    assert field in str(response.json())
    assert _answers(visit) == []


def test_the_app_answers_400_for_a_started_appointment(demo_user, visit):
    Activity.objects.filter(pk=visit.pk).update(
        scheduled_start=timezone.now() - dt.timedelta(minutes=10)
    )
    response = _api(demo_user, ANNA).post(
        f"/api/v1/activities/{visit.pk}/answer/", {"answer": "confirmed"}, format="json"
    )
    assert response.status_code == 400
    assert "already started" in str(response.json())


@pytest.mark.parametrize("email", [MARCO, NURSE, COUNSELLOR])
def test_the_app_hides_anna_s_appointment_from_others(demo_user, visit, email):
    response = _api(demo_user, email).post(
        f"/api/v1/activities/{visit.pk}/answer/", {"answer": "confirmed"}, format="json"
    )
    assert response.status_code == 404
    assert _answers(visit) == []


# --- on a call --------------------------------------------------------------------------------


def test_neri_sees_the_appointment_on_the_timeline_and_records_her_answer(signed_in, anna, visit):
    client = signed_in(COUNSELLOR)
    page = client.get(f"/operator/patients/{anna.code}/timeline/").content.decode()
    assert f'action="/operator/patients/{anna.code}/appointments/{visit.pk}/answer/"' in page
    response = client.post(
        f"/operator/patients/{anna.code}/appointments/{visit.pk}/answer/",
        {"answer": "change_requested", "note": "Her son's wedding that day."},
    )
    assert response.status_code == 302
    [touch] = _answers(visit)
    assert touch.channel == "phone" and touch.handled_by.email == COUNSELLOR
    outbound = client.get("/operator/calls/outbound/?kind=appointment_change").content.decode()
    assert f'data-kind="appointment_change" data-patient="{anna.code}"' in outbound
    nurse_page = signed_in(NURSE).get(f"/operator/activities/{visit.pk}/").content.decode()
    assert "asks to change it" in nurse_page


def test_a_bad_answer_on_a_call_is_a_400_on_the_timeline(signed_in, anna, visit):
    response = signed_in(COUNSELLOR).post(
        f"/operator/patients/{anna.code}/appointments/{visit.pk}/answer/", {"answer": "later"}
    )
    assert response.status_code == 400
    assert 'data-testid="answer-errors"' in response.content.decode()
    assert _answers(visit) == []


def test_an_appointment_of_another_patient_is_a_404_on_a_call(signed_in, anna, visit):
    marco = Patient.objects.get(user__email=MARCO)
    response = signed_in(COUNSELLOR).post(
        f"/operator/patients/{marco.code}/appointments/{visit.pk}/answer/",
        {"answer": "confirmed"},
    )
    assert response.status_code == 404


# --- who may, for every demo account --------------------------------------------------------

SELF_PAGE = {**objects(PATIENT_PORTAL, {ANNA})}
CAREGIVER_PAGE = {**objects(PATIENT_PORTAL, {LUCA})}
ON_A_CALL = {**objects(OPERATORS, {NURSE, COUNSELLOR}), NURSE: 302, COUNSELLOR: 302}


@pytest.mark.parametrize("email", ACCOUNTS, ids=[a.split("@")[0] for a in ACCOUNTS])
def test_appointment_page_matrix(client, demo_user, anna, visit, email):
    client.force_login(demo_user(email))
    own = client.get(f"/patient/appointments/{visit.pk}/")
    delegated = client.get(f"/patient/p/{anna.code}/appointments/{visit.pk}/")
    assert own.status_code == SELF_PAGE[email], email
    assert delegated.status_code == CAREGIVER_PAGE[email], email


@pytest.mark.parametrize("email", ACCOUNTS, ids=[a.split("@")[0] for a in ACCOUNTS])
def test_appointment_answer_matrix(client, demo_user, anna, visit, email):
    """Only Anna, Luca for her, and the clinical operators who may open her timeline answer."""
    client.force_login(demo_user(email))
    own = client.post(f"/patient/appointments/{visit.pk}/", {"answer": "confirmed"})
    delegated = client.post(
        f"/patient/p/{anna.code}/appointments/{visit.pk}/", {"answer": "change_requested"}
    )
    on_call = client.post(
        f"/operator/patients/{anna.code}/appointments/{visit.pk}/answer/",
        {"answer": "confirmed"},
    )
    expected_own = 302 if SELF_PAGE[email] == 200 else SELF_PAGE[email]
    expected_delegated = 302 if CAREGIVER_PAGE[email] == 200 else CAREGIVER_PAGE[email]
    assert own.status_code == expected_own, email
    assert delegated.status_code == expected_delegated, email
    assert on_call.status_code == ON_A_CALL[email], email
    answered = email in {ANNA, LUCA, NURSE, COUNSELLOR}
    assert bool(_answers(visit)) is answered, email
