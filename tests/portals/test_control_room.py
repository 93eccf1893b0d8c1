"""The control room: provider staff only, scoped to their programs; filters, queue, assign."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from psp_crm.models import Activity, Operator, Program
from tests.factories import ActivityFactory, ProviderStaffFactory

OPS = "ops@curaplus.example"
VERDI = "nurse.verdi@curaplus.example"


@pytest.fixture
def queued(demo_world) -> Activity:
    """An open nurse activity of MS-ADHERE taken away from its nurse (so it sits in the queue)."""
    activity = (
        Activity.objects.filter(
            enrolment__program__code="MS-ADHERE",
            module__code="home-infusion",
            status__in=Activity.OPEN_STATUSES,
            scheduled_start__gt=timezone.now(),
        )
        .order_by("scheduled_start")
        .first()
    )
    activity.assignee = None
    activity.save(update_fields=["assignee"])
    return activity


def test_staff_see_counts_queue_and_list(signed_in, queued):
    response = signed_in(OPS).get("/control/")
    assert response.status_code == 200
    html = response.content.decode()
    for testid in ("count-overdue", "count-at-risk", "count-unassigned", "unassigned-queue"):
        assert f'data-testid="{testid}"' in html
    assert f'action="/control/activities/{queued.pk}/assign/"' in html


def test_operators_and_patients_may_not_enter(signed_in):
    assert signed_in(VERDI).get("/control/").status_code == 403
    assert signed_in("anna.conti@example.com").get("/control/").status_code == 403


def test_anonymous_goes_to_sign_in(client):
    response = client.get("/control/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_staff_of_another_provider_see_nothing(demo_world, queued):
    outsider = ProviderStaffFactory().user
    client = Client()
    client.force_login(outsider)
    response = client.get("/control/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="control-empty"' in html and 'data-testid="unassigned-empty"' in html
    assert queued.enrolment.patient.last_name not in html
    nurse = Operator.objects.get(user__email=VERDI)
    response = client.post(f"/control/activities/{queued.pk}/assign/", {"operator": nurse.pk})
    assert response.status_code == 404
    assert Activity.objects.get(pk=queued.pk).assignee is None


def test_assign_from_the_queue(signed_in, queued):
    nurse = Operator.objects.get(user__email=VERDI)
    response = signed_in(OPS).post(
        f"/control/activities/{queued.pk}/assign/", {"operator": nurse.pk}
    )
    assert response.status_code == 302
    assert Activity.objects.get(pk=queued.pk).assignee == nurse


def test_assigning_someone_not_offered_is_refused(signed_in, queued):
    driver = Operator.objects.get(user__email="driver.gallo@swiftmed.example")
    signed_in(OPS).post(f"/control/activities/{queued.pk}/assign/", {"operator": driver.pk})
    assert Activity.objects.get(pk=queued.pk).assignee is None


def test_filters(signed_in, queued):
    client = signed_in(OPS)
    program = Program.objects.get(code="MS-ADHERE")
    day = timezone.localtime(queued.scheduled_start).date().isoformat()
    response = client.get(
        "/control/",
        {"program": program.pk, "date_from": day, "date_to": day, "status": queued.status},
    )
    assert response.status_code == 200
    assert f'data-activity="{queued.pk}"' in response.content.decode()
    overdue = client.get("/control/", {"overdue": "on"}).content.decode()
    assert f'data-activity="{queued.pk}" data-status' not in overdue


def test_a_range_ending_before_it_starts_is_a_form_error(signed_in):
    today = timezone.localdate()
    response = signed_in(OPS).get(
        "/control/",
        {"date_from": today.isoformat(), "date_to": (today - dt.timedelta(days=1)).isoformat()},
    )
    assert response.status_code == 400
    assert "must end on or after" in response.content.decode()


def test_unknown_filter_values_are_form_errors_not_500(signed_in):
    response = signed_in(OPS).get("/control/", {"program": "abc", "status": "nope"})
    assert response.status_code == 400


def test_staff_see_what_the_contact_centre_must_look_at(signed_in, demo_world):
    """The demo world's bounced e-mail to Giorgio counts as a failed message for ops."""
    html = signed_in("ops@curaplus.example").get("/control/").content.decode()
    assert 'data-testid="contact-centre-counts"' in html
    assert "1 message failed" in html
    assert "/admin/psp_crm/message/?status__exact=failed" in html
    assert "0 appointments to change" in html
    assert "/admin/psp_crm/activity/?patient_answer__exact=change_requested" in html
    listing = signed_in("ops@curaplus.example").get(
        "/admin/psp_crm/activity/?patient_answer__exact=change_requested&status__exact=planned"
    )
    assert listing.status_code == 200


def test_contact_centre_counts_are_scoped_and_counted(demo_world):
    from psp_crm.models import Case, Message, Patient, User
    from psp_crm.selectors.contact_centre import contact_centre_counts

    ops = User.objects.get(email="ops@curaplus.example")
    before = contact_centre_counts(actor=ops)
    giorgio = Patient.objects.get(first_name="Giorgio", last_name="Rinaldi")
    enrolment = giorgio.enrolments.first()
    Message.objects.create(
        patient=giorgio, enrolment=enrolment, purpose="general", channel="sms", status="retrying"
    )
    Case.objects.create(
        patient=giorgio,
        enrolment=enrolment,
        subject="Late",
        due_at=timezone.now() - dt.timedelta(hours=1),
        escalation_level=1,
    )
    ActivityFactory(enrolment=enrolment, patient_answer="change_requested")
    ActivityFactory(enrolment=enrolment, patient_answer="change_requested", status="cancelled")
    after = contact_centre_counts(actor=ops)
    assert after.appointments_to_change == before.appointments_to_change + 1
    assert after.messages_retrying == before.messages_retrying + 1
    assert after.cases_overdue == before.cases_overdue + 1
    assert after.cases_escalated == before.cases_escalated + 1
    outsider = ProviderStaffFactory().user
    assert contact_centre_counts(actor=outsider).messages_failed == 0
    nurse = User.objects.get(email="nurse.verdi@curaplus.example")
    assert contact_centre_counts(actor=nurse) == contact_centre_counts(actor=outsider)
