"""The apps' REST API: every endpoint × the demo roles (own, delegated, someone else's → 404),
validation as 400 with field messages, tokens, throttling, and the OpenAPI schema and docs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from psp_crm.models import Activity, Delegation, DiaryEntry, Enrolment, Report, ReportReceipt

ANNA = "anna.conti@example.com"
LUCA = "luca.conti@example.com"
MARCO = "marco.ferri@example.com"
ROSSI = "dr.rossi@sanluca.example"
NURSE = "nurse.verdi@curaplus.example"
NORTHWIND = "medical@northwind.example"
ADMIN = "admin@curaplus.example"
OUTSIDERS = [  # none may see Anna's data in the app API (their faces are the portals)
    MARCO,
    ROSSI,
    "dr.bianchi@sanluca.example",
    NURSE,
    "counsellor.neri@curaplus.example",
    "driver.gallo@swiftmed.example",
    NORTHWIND,
    "medical@southwind.example",
    ADMIN,
    "ops@curaplus.example",
]
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def anna_enrolment(demo_world) -> Enrolment:
    return Enrolment.objects.get(patient__user__email=ANNA, program__code="MS-ADHERE")


@pytest.fixture
def marco_enrolment(demo_world) -> Enrolment:
    return Enrolment.objects.get(patient__user__email=MARCO, program__code="PSO-CARE")


@pytest.fixture
def anna_objects(anna_enrolment) -> dict[str, int]:
    return {
        "enrolments": anna_enrolment.pk,
        "diary-entries": DiaryEntry.objects.filter(enrolment=anna_enrolment).first().pk,
        "activities": Activity.objects.filter(enrolment=anna_enrolment).first().pk,
        "reports": Report.objects.filter(enrolment=anna_enrolment).first().pk,
    }


def now_iso(**delta) -> str:
    return (timezone.now() - dt.timedelta(**delta)).isoformat()


# --- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/me/", "/api/v1/enrolments/", "/api/v1/diary-entries/", "/api/v1/reports/"]
)
def test_anonymous_is_refused(api, path):
    assert api(None).get(path).status_code in (401, 403)


def test_token_sign_in_and_use(demo_world):
    client = APIClient()
    refused = client.post("/api/v1/auth/token/", {"email": ANNA, "password": "wrong"})
    assert refused.status_code in (401, 403)
    response = client.post("/api/v1/auth/token/", {"email": ANNA, "password": "demo-psp-2026"})
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/v1/me/").json()["email"] == ANNA
    assert client.delete("/api/v1/auth/token/revoke/").status_code == 204
    assert client.get("/api/v1/me/").status_code == 401


def test_session_writes_need_csrf(demo_user, anna_enrolment):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(demo_user(ANNA))
    response = client.post(
        "/api/v1/diary-entries/",
        {"enrolment": anna_enrolment.pk, "kind": "mood", "occurred_at": now_iso(), "mood": 4},
        format="json",
    )
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


# --- me and lists: own, delegated, nobody else's ------------------------------------------------


@pytest.mark.parametrize("email", [ANNA, LUCA, *OUTSIDERS])
def test_me_answers_every_demo_account(api, email):
    response = api(email).get("/api/v1/me/")
    assert response.status_code == 200 and response.json()["email"] == email


def test_me(api):
    anna = api(ANNA).get("/api/v1/me/").json()
    assert anna["patient"]["first_name"] == "Anna" and "patient" in anna["roles"]
    luca = api(LUCA).get("/api/v1/me/").json()
    assert luca["patient"] is None
    assert [p["first_name"] for p in luca["delegated_patients"]] == ["Anna"]
    assert luca["delegated_patients"][0]["can_log_diary"] is True
    assert luca["delegated_patients"][0]["can_send_reports"] is False


@pytest.mark.parametrize("resource", ["enrolments", "diary-entries", "activities", "reports"])
def test_lists_hold_own_and_delegated_only(api, anna_enrolment, marco_enrolment, resource):
    def enrolments_in(email: str) -> set[int]:
        response = api(email).get(f"/api/v1/{resource}/", {"page_size": 200})
        assert response.status_code == 200
        body = response.json()
        assert {"count", "next", "previous", "results"} <= set(body)
        key = "id" if resource == "enrolments" else "enrolment"
        return {row[key] for row in body["results"]}

    assert anna_enrolment.pk in enrolments_in(ANNA)
    assert marco_enrolment.pk not in enrolments_in(ANNA)
    assert enrolments_in(LUCA) == {anna_enrolment.pk}
    assert anna_enrolment.pk not in enrolments_in(MARCO)
    for email in OUTSIDERS[1:]:
        assert enrolments_in(email) == set(), email


@pytest.mark.parametrize("resource", ["enrolments", "diary-entries", "activities", "reports"])
def test_detail_own_delegated_and_404_for_everyone_else(api, anna_objects, resource):
    url = f"/api/v1/{resource}/{anna_objects[resource]}/"
    assert api(ANNA).get(url).status_code == 200
    assert api(LUCA).get(url).status_code == 200
    for email in OUTSIDERS:
        assert api(email).get(url).status_code == 404, email
    assert api(ANNA).get(f"/api/v1/{resource}/999999999/").status_code == 404


def test_enrolment_rights(api, anna_enrolment):
    row = api(LUCA).get(f"/api/v1/enrolments/{anna_enrolment.pk}/").json()
    assert (row["may_log_diary"], row["may_send_reports"]) == (True, False)
    mine = api(ANNA).get(f"/api/v1/enrolments/{anna_enrolment.pk}/").json()
    assert (mine["may_log_diary"], mine["may_send_reports"]) == (True, True)


def test_diary_filters_and_pagination(api, anna_enrolment):
    client = api(ANNA)
    doses = client.get("/api/v1/diary-entries/", {"kind": "dose"}).json()
    assert doses["results"] and {r["kind"] for r in doses["results"]} == {"dose"}
    doses = client.get("/api/v1/diary-entries/", {"kind": "measurement", "page_size": 5}).json()
    assert len(doses["results"]) == 5
    assert "page=2" in doses["next"] and "page_size=5" in doses["next"]
    capped = client.get("/api/v1/diary-entries/", {"page_size": 10_000}).json()
    assert len(capped["results"]) == min(200, capped["count"])
    since = client.get("/api/v1/diary-entries/", {"since": now_iso(days=3)}).json()
    assert all(r["occurred_at"] >= now_iso(days=3)[:10] for r in since["results"])
    bad = client.get("/api/v1/diary-entries/", {"since": "yesterday"})
    assert bad.status_code == 400 and "since" in bad.json()
    assert client.get("/api/v1/diary-entries/", {"enrolment": "x"}).status_code == 400


def test_activities_filter(api, anna_enrolment):
    response = api(ANNA).get(
        "/api/v1/activities/", {"from": now_iso(), "enrolment": anna_enrolment.pk}
    )
    assert response.status_code == 200
    assert all(r["enrolment"] == anna_enrolment.pk for r in response.json()["results"])


# --- diary writes -------------------------------------------------------------------------------


@pytest.mark.parametrize("email", [ANNA, LUCA])
def test_create_dose(api, anna_enrolment, email, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(email).post(
            "/api/v1/diary-entries/",
            {
                "enrolment": anna_enrolment.pk,
                "kind": "dose",
                "occurred_at": now_iso(minutes=5),
                "dose_status": "taken",
            },
            format="json",
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["source"] == "app" and body["is_current"] and body["author"]["name"]


@pytest.mark.parametrize("email", OUTSIDERS)
def test_create_for_someone_else_is_404(api, anna_enrolment, email):
    before = DiaryEntry.objects.count()
    response = api(email).post(
        "/api/v1/diary-entries/",
        {"enrolment": anna_enrolment.pk, "kind": "mood", "occurred_at": now_iso(), "mood": 4},
        format="json",
    )
    assert response.status_code == 404
    assert DiaryEntry.objects.count() == before


def test_view_only_caregiver_gets_403(api, anna_enrolment):
    Delegation.objects.filter(caregiver__user__email=LUCA).update(can_log_diary=False)
    response = api(LUCA).post(
        "/api/v1/diary-entries/",
        {"enrolment": anna_enrolment.pk, "kind": "mood", "occurred_at": now_iso(), "mood": 4},
        format="json",
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "measurement", "measurement": "glucose", "value": "5", "unit": "g/L"}, "unit"),
        (
            {
                "kind": "measurement",
                "measurement": "blood_pressure",
                "value": 80,
                "value_secondary": 95,
            },
            "value_secondary",
        ),
        ({"kind": "measurement", "measurement": "weight", "value": 9000}, "value"),
        ({"kind": "dose", "dose_status": "taken", "occurred_at": "FUTURE"}, "occurred_at"),
        ({"kind": "symptom", "symptom": "fatigue", "severity": 12}, "severity"),
        ({"kind": "mood", "mood": "great"}, "mood"),
        ({"kind": "sleep"}, "kind"),
        ({"kind": "dose", "dose_status": "taken", "occurred_at": "not a date"}, "occurred_at"),
    ],
)
def test_diary_validation_is_400_with_field_messages(api, anna_enrolment, payload, field):
    occurred = payload.pop("occurred_at", now_iso(minutes=5))
    if occurred == "FUTURE":
        occurred = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    before = DiaryEntry.objects.count()
    response = api(ANNA).post(
        "/api/v1/diary-entries/",
        {"enrolment": anna_enrolment.pk, "occurred_at": occurred, **payload},
        format="json",
    )
    assert response.status_code == 400
    assert field in response.json() and response.json()[field][0]
    assert DiaryEntry.objects.count() == before


def test_glucose_in_mmol_is_stored_in_mg_dl(api, anna_enrolment):
    response = api(ANNA).post(
        "/api/v1/diary-entries/",
        {
            "enrolment": anna_enrolment.pk,
            "kind": "measurement",
            "occurred_at": now_iso(minutes=1),
            "measurement": "glucose",
            "value": "6.1",
            "unit": "mmol/L",
        },
        format="json",
    )
    assert response.status_code == 201
    assert (response.json()["value"], response.json()["unit"]) == ("109.90", "mg/dL")


def test_correct_and_history(api, anna_enrolment):
    client = api(ANNA)
    created = client.post(
        "/api/v1/diary-entries/",
        {
            "enrolment": anna_enrolment.pk,
            "kind": "mood",
            "occurred_at": now_iso(hours=1),
            "mood": 2,
        },
        format="json",
    ).json()
    corrected = client.post(
        f"/api/v1/diary-entries/{created['id']}/correct/",
        {"mood": 4, "reason": "typo"},
        format="json",
    )
    assert corrected.status_code == 201
    version = corrected.json()
    assert version["supersedes"] == created["id"] and version["mood"] == 4
    history = client.get(f"/api/v1/diary-entries/{created['id']}/history/").json()
    assert [v["id"] for v in history] == [version["id"], created["id"]]
    assert history[1]["is_current"] is False
    again = client.post(
        f"/api/v1/diary-entries/{created['id']}/correct/", {"mood": 5}, format="json"
    )
    assert again.status_code == 400
    listed = client.get("/api/v1/diary-entries/", {"kind": "mood", "page_size": 200}).json()
    assert created["id"] not in {r["id"] for r in listed["results"]}
    assert (
        api(MARCO)
        .post(f"/api/v1/diary-entries/{version['id']}/correct/", {"mood": 1}, format="json")
        .status_code
        == 404
    )
    assert (
        api(LUCA)
        .post(f"/api/v1/diary-entries/{version['id']}/correct/", {"mood": 3}, format="json")
        .status_code
        == 201
    )


def test_old_entries_are_read_only(api, anna_enrolment):
    old = DiaryEntry.objects.filter(
        enrolment=anna_enrolment,
        source__in=("web", "app"),
        occurred_at__lt=timezone.now() - dt.timedelta(days=30),
    ).first()
    response = api(ANNA).post(
        f"/api/v1/diary-entries/{old.pk}/correct/", {"mood": 3}, format="json"
    )
    assert response.status_code == 400 and "read-only" in str(response.json())


# --- reports --------------------------------------------------------------------------------------


def test_send_report_with_attachment_and_download(api, anna_enrolment, media):
    client = api(ANNA)
    response = client.post(
        "/api/v1/reports/",
        {
            "enrolment": anna_enrolment.pk,
            "subject": "Results",
            "body": "Attached.",
            "attachments": [SimpleUploadedFile("labs.pdf", PDF, "application/pdf")],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    report = response.json()
    assert report["recipient"]["name"] == "Alessandro Rossi"
    attachment = report["attachments"][0]
    assert attachment["original_name"] == "labs.pdf"
    download = client.get(attachment["url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert api(MARCO).get(attachment["url"]).status_code == 404
    assert api(LUCA).get(attachment["url"]).status_code == 200


def test_send_report_json(api, anna_enrolment):
    response = api(ANNA).post(
        "/api/v1/reports/",
        {"enrolment": anna_enrolment.pk, "subject": "Hi", "body": "All good."},
        format="json",
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("upload", "fragment"),
    [
        (SimpleUploadedFile("run.pdf", b"MZ\x90\x00 program", "application/pdf"), "was refused"),
        (SimpleUploadedFile("huge.pdf", PDF + b"0" * 4096, "application/pdf"), "too large"),
    ],
)
def test_bad_attachment_is_400(api, anna_enrolment, media, settings, upload, fragment):
    settings.PSP_REPORT_ATTACHMENT_MAX_BYTES = 1024
    before = Report.objects.count()
    response = api(ANNA).post(
        "/api/v1/reports/",
        {"enrolment": anna_enrolment.pk, "subject": "x", "body": "y", "attachments": [upload]},
        format="multipart",
    )
    assert response.status_code == 400
    assert fragment in response.json()["attachments"][0]
    assert Report.objects.count() == before


def test_report_validation_is_400(api, anna_enrolment):
    response = api(ANNA).post("/api/v1/reports/", {"enrolment": anna_enrolment.pk}, format="json")
    assert response.status_code == 400 and {"subject", "body"} <= set(response.json())


def test_caregiver_without_the_right_gets_403(api, anna_enrolment):
    response = api(LUCA).post(
        "/api/v1/reports/",
        {"enrolment": anna_enrolment.pk, "subject": "x", "body": "y"},
        format="json",
    )
    assert response.status_code == 403


@pytest.mark.parametrize("email", OUTSIDERS)
def test_send_for_someone_else_is_404(api, anna_enrolment, email):
    response = api(email).post(
        "/api/v1/reports/",
        {"enrolment": anna_enrolment.pk, "subject": "x", "body": "y"},
        format="json",
    )
    assert response.status_code == 404


def test_mark_read(api, demo_user, anna_enrolment):
    reply = Report.objects.filter(enrolment=anna_enrolment, kind="doctor_reply").first()
    ReportReceipt.objects.filter(report=reply).delete()
    unread = api(ANNA).get("/api/v1/reports/", {"unread": "true"}).json()["results"]
    assert reply.pk in {r["id"] for r in unread}
    response = api(ANNA).post(f"/api/v1/reports/{reply.pk}/read/")
    assert response.status_code == 200 and response.json()["read_at"]
    assert ReportReceipt.objects.filter(report=reply, reader=demo_user(ANNA)).exists()
    detail = api(ANNA).get(f"/api/v1/reports/{reply.pk}/").json()
    assert detail["read_by_me"] is True
    question = api(ANNA).get(f"/api/v1/reports/{reply.in_reply_to_id}/").json()
    assert question["recipient_read_at"]  # Rossi's read receipt on Anna's question
    for email in OUTSIDERS:
        assert api(email).post(f"/api/v1/reports/{reply.pk}/read/").status_code == 404


# --- throttling, schema and docs ----------------------------------------------------------------


def test_throttling(api, monkeypatch):
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(
        UserRateThrottle, "THROTTLE_RATES", {"user": "3/minute", "anon": "3/minute"}
    )
    client = api(ANNA)
    codes = [client.get("/api/v1/me/").status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429


def test_schema_and_local_docs(api):
    schema = api(None).get("/api/v1/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/me/", "/api/v1/diary-entries/", "/api/v1/reports/{id}/read/"):
        assert path in paths
    docs = api(None).get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in docs.lower()
    assert "cdn" not in docs.lower() and 'src="http' not in docs


def test_spectacular_validates():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
