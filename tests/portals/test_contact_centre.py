"""The contact centre in the portals: outbound calls, call logging, cases, adverse-event flags."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from psp_crm.models import (
    Activity,
    AdverseEvent,
    Case,
    Consent,
    ContactPreferences,
    DiaryEntry,
    Enrolment,
    Interaction,
    Message,
    Operator,
    Patient,
    Program,
    ServiceModule,
)
from psp_crm.services.interactions import case_open, case_update_status

NERI = "counsellor.neri@curaplus.example"
VERDI = "nurse.verdi@curaplus.example"
ROSSI = "dr.rossi@sanluca.example"
BIANCHI = "dr.bianchi@sanluca.example"
GALLO = "driver.gallo@swiftmed.example"
NORTHWIND = "medical@northwind.example"
ANNA_PHONE = "+39 347 123 4567"


@pytest.fixture
def anna(demo_world) -> Patient:
    patient = Patient.objects.get(user__email="anna.conti@example.com")
    patient.phone = ANNA_PHONE
    patient.save(update_fields=["phone"])
    return patient


@pytest.fixture
def enrolment(anna) -> Enrolment:
    return (
        Enrolment.objects.filter(patient=anna, program__code="MS-ADHERE")
        .select_related("program")
        .order_by("-pk")
        .first()
    )


@pytest.fixture
def stranger(demo_world):
    """A counsellor who staffs PSO-CARE only (Anna is in MS-ADHERE)."""
    from tests.factories import OperatorFactory

    return OperatorFactory(
        role=Operator.Role.COUNSELLOR, programs=[Program.objects.get(code="PSO-CARE")]
    ).user


def _login(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _timeline(anna) -> str:
    return f"/operator/patients/{anna.code}/timeline/"


def _row(html: str, code: str, kind: str = "missed_delivery") -> str:
    start = html.find(f'data-kind="{kind}" data-patient="{code}"')
    return html[start : html.find("</tr>", start)] if start >= 0 else ""


def _missed_delivery(enrolment) -> Activity:
    start = timezone.now() - dt.timedelta(days=1)
    return Activity.objects.create(
        enrolment=enrolment,
        module=ServiceModule.objects.get(code="drug-delivery"),
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(hours=2),
        status=Activity.Status.MISSED,
        status_reason="Nobody at home",
    )


def _ae_data(enrolment, **overrides) -> dict[str, str]:
    data = {
        "action": "ae",
        "ae-program": enrolment.program.code,
        "ae-reaction": "Rash on both arms",
        "ae-onset_date": (timezone.localdate() - dt.timedelta(days=1)).isoformat(),
        "ae-seriousness": "non_serious",
        "ae-reporter_type": "patient",
        "ae-first_known_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "ae-description": "Itchy.",
    }
    data.update(overrides)
    return data


# --- the outbound call list -------------------------------------------------------------------


def test_outbound_list_call_button_and_script(signed_in, anna, enrolment):
    from psp_crm.demo.contact_centre import create_call_scripts

    create_call_scripts()
    Consent.objects.create(patient=anna, kind=Consent.Kind.CHANNEL_PHONE, document_version="1")
    _missed_delivery(enrolment)
    client = signed_in(NERI)
    assert 'data-testid="outbound-link"' in client.get("/operator/").content.decode()
    response = client.get("/operator/calls/outbound/")
    assert response.status_code == 200
    row = _row(response.content.decode(), anna.code)
    assert "Delivery of" in row and "Nobody at home" in row
    assert 'data-testid="call-button"' in row
    assert "reason=missed_delivery" in row and "direction=out" in row
    html = client.get(
        _timeline(anna),
        {"reason": "missed_delivery", "direction": "out", "call_program": "MS-ADHERE"},
    ).content.decode()
    assert 'data-testid="call-script"' in html and "MS-ADHERE" in html
    assert '<option value="missed_delivery" selected>' in html
    assert '<option value="out" selected>' in html
    assert '<option value="MS-ADHERE" selected>' in html  # the log form's program
    assert "call_program=MS-ADHERE" in row
    # The timeline opened for the call is not filtered: every channel, every program.
    timeline_filter = html[html.index('data-testid="timeline-filter"') :]
    assert " checked" not in timeline_filter[: timeline_filter.index("</form>")]
    # Logging the outbound call takes the entry off the list.
    response = client.post(
        _timeline(anna),
        {
            "action": "log",
            "log-channel": "phone",
            "log-direction": "out",
            "log-program": "MS-ADHERE",
            "log-reason": "missed_delivery",
            "log-outcome": "resolved",
            "log-duration": "4",
        },
    )
    assert response.status_code == 302
    call = Interaction.objects.filter(patient=anna).order_by("-pk").first()
    assert (call.reason, call.duration_seconds, call.summary) == ("missed_delivery", 240, "")
    assert f"logged={call.pk}" in response["Location"]
    html = client.get("/operator/calls/outbound/").content.decode()
    assert _row(html, anna.code) == ""


def test_outbound_list_without_phone_consent_offers_no_call(signed_in, anna, enrolment):
    Consent.objects.filter(patient=anna, kind=Consent.Kind.CHANNEL_PHONE).update(
        withdrawn_at=timezone.now()
    )
    _missed_delivery(enrolment)
    row = _row(signed_in(NERI).get("/operator/calls/outbound/").content.decode(), anna.code)
    assert "no phone consent" in row and 'data-testid="call-button"' not in row


@pytest.mark.parametrize(("email", "status"), [(GALLO, 403), (NORTHWIND, 403), (ROSSI, 403)])
def test_outbound_list_is_for_clinical_operators(signed_in, demo_world, email, status):
    assert signed_in(email).get("/operator/calls/outbound/").status_code == status


def test_stranger_counsellor_does_not_see_anna_on_the_list(stranger, anna, enrolment):
    _missed_delivery(enrolment)
    html = _login(stranger).get("/operator/calls/outbound/").content.decode()
    assert anna.code not in html


def _kind_count(html: str, kind: str) -> int:
    tab = html[html.index(f'data-kind="{kind}"') :]
    tab = tab[tab.index('data-testid="kind-count">') + len('data-testid="kind-count">') :]
    return int(tab[: tab.index("<")])


def test_outbound_list_tabs_program_filter_and_pages(signed_in, anna, enrolment, monkeypatch):
    from psp_crm.selectors import call_list

    _missed_delivery(enrolment)
    client = signed_in(NERI)
    html = client.get("/operator/calls/outbound/").content.decode()
    assert _kind_count(html, "missed_delivery") >= 1
    everything = html.count("<tr data-kind=")
    # One kind: only its rows, the other tabs keep their counts.
    only = client.get("/operator/calls/outbound/", {"kind": "missed_delivery"}).content.decode()
    kinds = {part.split('"')[0] for part in only.split('<tr data-kind="')[1:]}
    assert kinds == {"missed_delivery"}
    assert _kind_count(only, "missed_doses") == _kind_count(html, "missed_doses")
    # Another program of hers: Anna's missed delivery (MS-ADHERE) is not there.
    other = client.get("/operator/calls/outbound/", {"program": "PSO-CARE"}).content.decode()
    assert _row(other, anna.code) == ""
    assert _row(
        client.get("/operator/calls/outbound/", {"program": "MS-ADHERE"}).content.decode(),
        anna.code,
    )
    # An unknown program, kind or page: the whole list, never a 500.
    for query in ({"program": "NO-SUCH"}, {"kind": "nonsense"}, {"page": "x"}, {"page": "-3"}):
        response = client.get("/operator/calls/outbound/", query)
        assert response.status_code == 200
        assert response.content.decode().count("<tr data-kind=") == everything, query
    # Pages of CALLS_PER_PAGE.
    assert everything > 1  # the demo world has several calls to make
    monkeypatch.setattr(call_list, "CALLS_PER_PAGE", 1)
    first = client.get("/operator/calls/outbound/").content.decode()
    assert first.count("<tr data-kind=") == 1 and 'data-testid="call-pages"' in first


# --- logging calls, bad input -----------------------------------------------------------------


@pytest.mark.parametrize(("duration", "seconds"), [("7:30", 450), ("7", 420), ("", None)])
def test_call_logging_with_duration(signed_in, anna, duration, seconds):
    response = signed_in(NERI).post(
        _timeline(anna),
        {
            "action": "log",
            "log-channel": "phone",
            "log-direction": "in",
            "log-reason": "therapy_question",
            "log-outcome": "informed",
            "log-duration": duration,
            "log-summary": "DURATION-CALL",
        },
    )
    assert response.status_code == 302
    call = Interaction.objects.get(patient=anna, summary="DURATION-CALL")
    assert call.duration_seconds == seconds and call.outcome == "informed"


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("log-duration", "abc", "Write the duration in minutes"),
        ("log-duration", "600", "8 hours"),
        ("log-reason", "gossip", "Select a valid choice"),
    ],
)
def test_bad_call_input_is_a_400_with_field_errors(signed_in, anna, field, value, words):
    before = Interaction.objects.count()
    data = {
        "action": "log",
        "log-channel": "phone",
        "log-direction": "in",
        "log-reason": "information",
        "log-summary": "x",
    }
    data[field] = value
    response = signed_in(NERI).post(_timeline(anna), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert words in html and "invalid-feedback" in html
    assert Interaction.objects.count() == before


def test_unknown_phone_number_gets_a_clear_message(signed_in, anna):
    response = signed_in(NERI).get("/operator/calls/", {"q": "+39 000 000 0001"})
    assert response.status_code == 200
    assert "No patient you may see has the number +39 000 000 0001" in response.content.decode()


# --- cases ------------------------------------------------------------------------------------


def test_case_form_owner_and_list_badges(signed_in, demo_user, anna, enrolment):
    client = signed_in(NERI)
    verdi = demo_user(VERDI)
    html = client.get(_timeline(anna)).content.decode()
    assert f'<option value="{verdi.pk}"' in html  # the nurse may own Anna's cases
    assert f'<option value="{demo_user(GALLO).pk}"' not in html
    response = client.post(
        _timeline(anna),
        {
            "action": "case",
            "case-subject": "OWNED-CASE",
            "case-category": "logistics",
            "case-priority": "high",
            "case-description": "Courier late twice.",
            "case-assigned_to": str(verdi.pk),
            "case-program": "MS-ADHERE",
        },
    )
    assert response.status_code == 302
    case = Case.objects.get(subject="OWNED-CASE")
    assert case.assigned_to == verdi and case.due_at - case.opened_at == dt.timedelta(hours=24)
    Case.objects.filter(pk=case.pk).update(
        due_at=timezone.now() - dt.timedelta(hours=1), escalation_level=1
    )
    html = client.get(_timeline(anna)).content.decode()
    block = html[html.find(f'data-testid="case-{case.pk}"') :]
    assert 'data-testid="sla-overdue"' in block[:3000] and "level 1" in block[:3000]
    assert 'data-testid="assign-to-me"' in block[:3000]
    response = client.post(f"/operator/cases/{case.pk}/assign/")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.assigned_to == demo_user(NERI)
    case_update_status(actor=demo_user(NERI), case=case, status="waiting")
    html = client.get(_timeline(anna)).content.decode()
    block = html[html.find(f'data-testid="case-{case.pk}"') :]
    assert 'data-testid="sla-paused"' in block[:3000]


def test_case_owner_not_allowed_is_a_400(signed_in, demo_user, anna):
    response = signed_in(NERI).post(
        _timeline(anna),
        {
            "action": "case",
            "case-subject": "x",
            "case-category": "request",
            "case-priority": "low",
            "case-assigned_to": str(demo_user(GALLO).pk),
        },
    )
    assert response.status_code == 400
    assert not Case.objects.filter(subject="x", patient=anna).exists()


def test_logistics_cannot_assign_cases(signed_in, demo_user, anna):
    case = case_open(actor=demo_user(NERI), patient=anna, subject="y", category="request")
    assert signed_in(GALLO).post(f"/operator/cases/{case.pk}/assign/").status_code == 404
    case.refresh_from_db()
    assert case.assigned_to == demo_user(NERI)


# --- adverse events: timeline, visit, doctor's diary ------------------------------------------


def test_flag_from_the_timeline_linked_to_the_call(signed_in, anna, enrolment):
    client = signed_in(NERI)
    client.post(
        _timeline(anna),
        {
            "action": "log",
            "log-channel": "phone",
            "log-direction": "in",
            "log-program": "MS-ADHERE",
            "log-reason": "side_effect",
            "log-summary": "AE-CALL",
        },
    )
    call = Interaction.objects.get(patient=anna, summary="AE-CALL")
    html = client.get(_timeline(anna), {"logged": call.pk}).content.decode()
    assert 'data-testid="adverse-event-form"' in html
    assert f'<option value="{call.pk}" selected>' in html
    response = client.post(
        _timeline(anna), _ae_data(enrolment, **{"ae-source_interaction": str(call.pk)})
    )
    assert response.status_code == 302
    event = AdverseEvent.objects.get(enrolment=enrolment, reaction="Rash on both arms")
    assert event.source_interaction == call and event.channel == "phone"
    assert event.case.category == "adverse_event_suspicion" and event.reporter_type == "patient"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ae-onset_date", "2999-01-01"),
        ("ae-reaction", ""),
        ("ae-first_known_at", "yesterday"),
        ("ae-suspect_product", "999999"),
    ],
)
def test_bad_adverse_event_input_is_a_400(signed_in, anna, enrolment, field, value):
    before = AdverseEvent.objects.count()
    response = signed_in(NERI).post(_timeline(anna), _ae_data(enrolment, **{field: value}))
    assert response.status_code == 400
    assert "invalid-feedback" in response.content.decode()
    assert AdverseEvent.objects.count() == before


def test_future_onset_message(signed_in, anna, enrolment):
    response = signed_in(NERI).post(
        _timeline(anna), _ae_data(enrolment, **{"ae-onset_date": "2999-01-01"})
    )
    assert "The onset date cannot be in the future." in response.content.decode()


def test_onset_after_first_known_is_refused_by_the_service(signed_in, anna, enrolment):
    earlier = timezone.localtime() - dt.timedelta(days=3)
    response = signed_in(NERI).post(
        _timeline(anna),
        _ae_data(enrolment, **{"ae-first_known_at": earlier.strftime("%Y-%m-%dT%H:%M")}),
    )
    assert response.status_code == 400
    assert "cannot start after it was first known" in response.content.decode()


def _verdi_visit(demo_user, enrolment) -> Activity:
    start = timezone.now() - dt.timedelta(hours=2)
    return Activity.objects.create(
        enrolment=enrolment,
        module=ServiceModule.objects.get(code="home-infusion"),
        assignee=demo_user(VERDI).operator_profile,
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(hours=1),
    )


def test_flag_from_a_visit(signed_in, demo_user, anna, enrolment):
    visit = _verdi_visit(demo_user, enrolment)
    client = signed_in(VERDI)
    html = client.get(f"/operator/activities/{visit.pk}/").content.decode()
    assert 'data-testid="adverse-event-form"' in html
    data = {k: v for k, v in _ae_data(enrolment).items() if k != "action"}
    data["ae-reporter_type"] = "nurse"
    data["ae-onset_date"] = "2999-01-01"
    assert client.post(f"/operator/activities/{visit.pk}/adverse-event/", data).status_code == 400
    data["ae-onset_date"] = timezone.localdate().isoformat()
    response = client.post(f"/operator/activities/{visit.pk}/adverse-event/", data)
    assert response.status_code == 302
    event = AdverseEvent.objects.get(source_activity=visit)
    assert event.reporter_type == "nurse" and event.channel == "home_visit"


def test_logistics_has_no_adverse_event_form(signed_in, demo_user, anna, enrolment):
    gallo = demo_user(GALLO).operator_profile
    start = timezone.now() - dt.timedelta(hours=2)
    delivery = Activity.objects.create(
        enrolment=enrolment,
        module=ServiceModule.objects.get(code="drug-delivery"),
        assignee=gallo,
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(hours=1),
    )
    client = signed_in(GALLO)
    html = client.get(f"/operator/activities/{delivery.pk}/").content.decode()
    assert 'data-testid="adverse-event-form"' not in html
    data = {k: v for k, v in _ae_data(enrolment).items() if k != "action"}
    response = client.post(f"/operator/activities/{delivery.pk}/adverse-event/", data)
    assert response.status_code == 404
    assert client.post(_timeline(anna), _ae_data(enrolment)).status_code == 404
    assert not AdverseEvent.objects.filter(source_activity=delivery).exists()


def _symptom(enrolment, **kwargs) -> DiaryEntry:
    return DiaryEntry.objects.create(
        enrolment=enrolment,
        kind="symptom",
        symptom=kwargs.pop("symptom", "fatigue"),
        severity=7,
        occurred_at=timezone.now() - dt.timedelta(hours=5),
        source="app",
        **kwargs,
    )


def test_doctor_flags_a_diary_symptom(signed_in, anna, enrolment):
    entry = _symptom(enrolment, symptom="DIARY-SYMPTOM")
    client = signed_in(ROSSI)
    page = client.get(f"/doctor/patients/{enrolment.pk}/").content.decode()
    url = f"/doctor/patients/{enrolment.pk}/adverse-events/new/"
    assert f"{url}?diary={entry.pk}" in page
    assert url in client.get(f"/doctor/patients/{enrolment.pk}/timeline/").content.decode()
    html = client.get(url, {"diary": entry.pk}).content.decode()
    assert 'value="DIARY-SYMPTOM"' in html and 'data-testid="from-diary"' in html
    onset = timezone.localtime(entry.occurred_at).date().isoformat()
    assert f'value="{onset}"' in html
    response = client.post(
        url,
        {
            "diary": entry.pk,
            "reaction": "DIARY-SYMPTOM",
            "onset_date": onset,
            "seriousness": "serious",
            "reporter_type": "patient",
            "first_known_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    event = AdverseEvent.objects.get(source_diary_entry=entry)
    assert (event.reporter_type, event.channel, event.case.priority) == (
        "patient",
        "diary",
        "urgent",
    )


def test_doctor_flag_without_diary_and_bad_input(signed_in, enrolment):
    client = signed_in(ROSSI)
    url = f"/doctor/patients/{enrolment.pk}/adverse-events/new/"
    assert client.get(url).status_code == 200
    data = {
        "reaction": "Headache",
        "onset_date": "2999-01-01",
        "seriousness": "non_serious",
        "reporter_type": "doctor",
        "first_known_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }
    response = client.post(url, data)
    assert response.status_code == 400
    assert "The onset date cannot be in the future." in response.content.decode()
    data["onset_date"] = ""
    assert client.post(url, data).status_code == 302
    assert AdverseEvent.objects.filter(enrolment=enrolment, reaction="Headache").exists()


def test_doctor_cannot_flag_for_another_patient_or_entry(signed_in, enrolment, demo_world):
    marco = Enrolment.objects.filter(patient__user__email="marco.ferri@example.com").first()
    client = signed_in(ROSSI)
    assert client.get(f"/doctor/patients/{marco.pk}/adverse-events/new/").status_code == 404
    other = _symptom(marco)
    url = f"/doctor/patients/{enrolment.pk}/adverse-events/new/"
    assert client.get(url, {"diary": other.pk}).status_code == 404
    assert client.get(url, {"diary": "abc"}).status_code == 404


@pytest.mark.parametrize("email", [GALLO, NORTHWIND, NERI, "anna.conti@example.com"])
def test_non_doctors_get_no_doctor_adverse_event_form(signed_in, enrolment, email):
    url = f"/doctor/patients/{enrolment.pk}/adverse-events/new/"
    client = signed_in(email)
    assert client.get(url).status_code == 403
    assert client.post(url, {"reaction": "x"}).status_code == 403


# --- permissions: another program's counsellor, logistics, clients -----------------------------


def test_counsellor_of_another_program_gets_404_and_cannot_find_anna(stranger, anna, enrolment):
    client = _login(stranger)
    assert client.get(_timeline(anna)).status_code == 404
    assert client.post(_timeline(anna), _ae_data(enrolment)).status_code == 404
    html = client.get("/operator/calls/", {"q": ANNA_PHONE}).content.decode()
    assert anna.code not in html and "No patient you may see has the number" in html
    html = client.get("/operator/calls/", {"q": anna.code}).content.decode()
    assert _timeline(anna) not in html
    assert not AdverseEvent.objects.filter(reaction="Rash on both arms").exists()


def test_clients_never_reach_the_contact_centre(signed_in, anna, enrolment):
    client = signed_in(NORTHWIND)
    assert client.get(_timeline(anna)).status_code == 403
    assert client.post(_timeline(anna), _ae_data(enrolment)).status_code == 403
    assert client.get("/operator/calls/outbound/").status_code == 403
    assert client.get(f"/doctor/patients/{enrolment.pk}/timeline/").status_code == 403


# --- messages from the timeline ---------------------------------------------------------------


def _send(client, anna, channel: str, text: str, **extra):
    return client.post(
        _timeline(anna),
        {"action": "message", "msg-channel": channel, "msg-text": text, **extra},
        follow=True,
    )


def test_counsellor_sends_an_sms_that_shows_on_the_timeline(
    signed_in, anna, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.PSP_OUTBOX_DIR = str(tmp_path)
    # No quiet hours: the test must not depend on the time of day it runs at.
    ContactPreferences.objects.update_or_create(
        patient=anna, defaults={"quiet_start": None, "quiet_end": None}
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = _send(signed_in(NERI), anna, "sms", "SMS-FROM-NERI: your nurse comes at 10.")
    assert response.status_code == 200
    sent = Message.objects.get(patient=anna, body__startswith="SMS-FROM-NERI")
    assert sent.status == Message.Status.SENT and sent.to_address == ANNA_PHONE
    assert sent.created_by.email == NERI
    assert "SMS-FROM-NERI" in (tmp_path / "sms.jsonl").read_text()
    response = signed_in(NERI).get(_timeline(anna))
    assert "SMS-FROM-NERI" in response.content.decode()  # on her timeline, with its status


def test_a_message_without_consent_is_skipped_and_says_so(signed_in, anna, settings, tmp_path):
    settings.PSP_OUTBOX_DIR = str(tmp_path)
    Consent.objects.filter(patient=anna, kind=Consent.Kind.CHANNEL_SMS).update(
        withdrawn_at=timezone.now()
    )
    response = _send(signed_in(NERI), anna, "sms", "SMS-NO-CONSENT")
    skipped = Message.objects.get(patient=anna, body="SMS-NO-CONSENT")
    assert skipped.status == Message.Status.SKIPPED and skipped.attempts == 0
    assert not (tmp_path / "sms.jsonl").exists()
    assert "Not sent: no consent for SMS" in response.content.decode()


def test_an_empty_message_is_a_400(signed_in, anna):
    response = signed_in(NERI).post(
        _timeline(anna), {"action": "message", "msg-channel": "sms", "msg-text": ""}
    )
    assert response.status_code == 400
    assert not Message.objects.filter(patient=anna, created_by__email=NERI).exists()


@pytest.mark.parametrize("email", [GALLO, NORTHWIND])
def test_logistics_and_clients_cannot_send_messages(signed_in, anna, email):
    response = signed_in(email).post(
        _timeline(anna), {"action": "message", "msg-channel": "sms", "msg-text": "hello"}
    )
    assert response.status_code in (403, 404)
    assert not Message.objects.filter(patient=anna, body="hello").exists()


# --- the patient asks on the call to stop a channel -------------------------------------------


def _withdraw(client, anna, channel: str):
    return client.post(f"/operator/patients/{anna.code}/consents/withdraw/", {"channel": channel})


def test_counsellor_reads_the_channel_consents_on_the_timeline(signed_in, anna):
    html = signed_in(NERI).get(_timeline(anna)).content.decode()
    panel = html[html.index('data-testid="channel-consents"') :]
    panel = panel[: panel.index("</section>")]
    sms = panel[panel.index('data-channel="sms"') :]
    assert "consented" in sms[: sms.index("</li>")]
    assert "She asks to stop" in sms[: sms.index("</li>")]


def test_patient_asks_to_stop_sms_on_the_call(signed_in, anna, settings, tmp_path):
    settings.PSP_OUTBOX_DIR = str(tmp_path)
    client = signed_in(NERI)
    response = _withdraw(client, anna, "sms")
    assert response.status_code == 302 and response.url == _timeline(anna)
    withdrawn = Consent.objects.get(patient=anna, kind=Consent.Kind.CHANNEL_SMS)
    assert withdrawn.withdrawn_at is not None
    assert withdrawn.withdrawn_by.email == NERI
    assert withdrawn.withdrawn_via == Consent.Via.CONTACT_CENTRE
    html = client.get(_timeline(anna)).content.decode()
    assert "Consent withdrawn: Contact by SMS" in html  # on her timeline, on the phone channel
    assert "Contact centre call" in html
    # At once: the next SMS is skipped, nothing reaches the outbox.
    _send(client, anna, "sms", "SMS-AFTER-STOP")
    assert Message.objects.get(body="SMS-AFTER-STOP").status == Message.Status.SKIPPED
    assert not (tmp_path / "sms.jsonl").exists()
    # Asking twice changes nothing and says so.
    again = _withdraw(client, anna, "sms")
    assert again.status_code == 302
    assert Consent.objects.filter(patient=anna, kind=Consent.Kind.CHANNEL_SMS).count() == 1
    follow = client.get(_timeline(anna)).content.decode()
    assert "She had no consent to SMS" in follow


@pytest.mark.parametrize("channel", ["in_app", "fax", ""])
def test_withdrawing_an_unknown_channel_is_a_clear_message(signed_in, anna, channel):
    client = signed_in(NERI)
    before = Consent.objects.filter(patient=anna, withdrawn_at__isnull=True).count()
    response = _withdraw(client, anna, channel)
    assert response.status_code == 302
    assert Consent.objects.filter(patient=anna, withdrawn_at__isnull=True).count() == before
    html = client.get(_timeline(anna)).content.decode()
    assert "need no consent" in html or "Unknown channel" in html


def test_counsellor_of_another_program_cannot_withdraw_annas_consent(stranger, anna):
    response = _withdraw(_login(stranger), anna, "sms")
    assert response.status_code == 404
    assert Consent.objects.get(patient=anna, kind=Consent.Kind.CHANNEL_SMS).withdrawn_at is None


@pytest.mark.parametrize("email", [GALLO, NORTHWIND, ROSSI])
def test_logistics_clients_and_doctors_cannot_withdraw_from_the_operator_portal(
    signed_in, anna, email
):
    response = _withdraw(signed_in(email), anna, "sms")
    assert response.status_code in (403, 404)
    assert Consent.objects.get(patient=anna, kind=Consent.Kind.CHANNEL_SMS).withdrawn_at is None


def test_withdrawal_needs_a_post(signed_in, anna):
    response = signed_in(NERI).get(f"/operator/patients/{anna.code}/consents/withdraw/")
    assert response.status_code == 405


# --- the patient asks on the call to change her language, quiet hours or reminder time ---------


def _settings(client, anna, **overrides):
    data = {
        "contact-language": "en",
        "contact-quiet_start": "22:30",
        "contact-quiet_end": "07:30",
        "contact-reminder_time": "08:00",
    }
    data.update({f"contact-{k}": v for k, v in overrides.items()})
    return client.post(f"/operator/patients/{anna.code}/contact-settings/", data)


def test_counsellor_reads_her_contact_settings_on_the_timeline(signed_in, anna):
    html = signed_in(NERI).get(_timeline(anna)).content.decode()
    settings_line = html[html.index('data-testid="contact-settings"') :]
    settings_line = settings_line[: settings_line.index("</p>")]
    assert "Italian" in settings_line and "dose reminders at" in settings_line
    assert 'data-testid="contact-settings-form"' in html
    assert 'name="contact-reminder_time"' in html


def test_patient_asks_on_the_call_for_english_and_later_reminders(signed_in, anna):
    client = signed_in(NERI)
    response = _settings(client, anna)
    assert response.status_code == 302 and response.url == _timeline(anna)
    prefs = ContactPreferences.objects.get(patient=anna)
    assert (prefs.language, prefs.quiet_start, prefs.quiet_end, prefs.reminder_time) == (
        "en",
        dt.time(22, 30),
        dt.time(7, 30),
        dt.time(8),
    )
    assert prefs.updated_by.email == NERI
    from psp_crm.models import AuditEvent

    event = AuditEvent.objects.filter(verb="contact_preferences.update", patient=anna).latest("pk")
    assert event.detail["via"] == Consent.Via.CONTACT_CENTRE
    html = client.get(_timeline(anna)).content.decode()
    assert "Her language, quiet hours and reminder time were saved." in html
    line = html[html.index('data-testid="contact-settings"') :]
    assert "English" in line[: line.index("</p>")] and "22:30" in line[: line.index("</p>")]


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"reminder_time": "23:00"}, "Choose a reminder time outside the quiet hours."),
        ({"quiet_end": ""}, "Give both the start and the end of the quiet hours, or neither."),
        ({"reminder_time": "25:99"}, "Enter a valid time."),
        ({"language": "xx"}, "Select a valid choice."),
    ],
)
def test_bad_settings_on_the_call_are_field_errors_and_change_nothing(
    signed_in, anna, overrides, text
):
    response = _settings(signed_in(NERI), anna, **overrides)
    assert response.status_code == 400
    html = response.content.decode()
    assert text in html
    form = html[html.index('data-testid="contact-settings-form"') :]
    assert text in form[: form.index("</form>")]  # on the form she was filling, not elsewhere
    assert not ContactPreferences.objects.filter(patient=anna, language="xx").exists()
    assert not ContactPreferences.objects.filter(patient=anna, reminder_time=dt.time(23)).exists()
    assert not ContactPreferences.objects.filter(patient=anna, updated_by__email=NERI).exists()


def test_counsellor_of_another_program_cannot_change_annas_settings(stranger, anna):
    response = _settings(_login(stranger), anna)
    assert response.status_code == 404
    assert not ContactPreferences.objects.filter(patient=anna, language="en").exists()


@pytest.mark.parametrize("email", [GALLO, NORTHWIND, ROSSI])
def test_logistics_clients_and_doctors_cannot_change_settings_from_the_operator_portal(
    signed_in, anna, email
):
    response = _settings(signed_in(email), anna)
    assert response.status_code in (403, 404)
    assert not ContactPreferences.objects.filter(patient=anna, language="en").exists()


def test_changing_settings_needs_a_post(signed_in, anna):
    response = signed_in(NERI).get(f"/operator/patients/{anna.code}/contact-settings/")
    assert response.status_code == 405
