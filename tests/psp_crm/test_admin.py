"""The provider admin site: scoping by the access policy, service-backed actions, read-only logs,
and changelists whose query count does not grow with the rows shown."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.db import connection
from django.urls import reverse

from psp_crm import access
from psp_crm.admin.base import LargeTablePaginator
from psp_crm.models import (
    Activity,
    AuditEvent,
    Consent,
    Delegation,
    DeviceEvent,
    DiaryEntry,
    Doctor,
    Enrolment,
    Patient,
    Program,
    User,
)
from tests.factories import (
    ActivityFactory,
    CaregiverFactory,
    ConsentFactory,
    DeviceEventFactory,
    DiaryEntryFactory,
    EnrolmentFactory,
    PatientFactory,
    ProgramFactory,
    build_world,
)

REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.model_name)
MODEL_IDS = [model._meta.model_name for model, _model_admin in REGISTRY]
# Changelists that hold millions of rows in production: their query count must stay flat.
BIG_CHANGELISTS = (Enrolment, Activity, DiaryEntry)
MAX_QUERIES = 15


def url(model, view: str = "changelist", *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def ops(demo_user):
    return demo_user("ops@curaplus.example")


@pytest.fixture
def superuser(demo_user):
    return demo_user("admin@curaplus.example")


@pytest.fixture
def elsewhere(db):
    """Another provider's program with a patient, enrolment, activity and diary entry."""
    program = ProgramFactory()
    enrolment = EnrolmentFactory(program=program, active=True)
    return {
        "program": program,
        "patient": enrolment.patient,
        "enrolment": enrolment,
        "activity": ActivityFactory(enrolment=enrolment),
        "diary": DiaryEntryFactory(enrolment=enrolment),
    }


# --- the site ---------------------------------------------------------------------------------


def test_site_header(client, superuser):
    client.force_login(superuser)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "PSP CRM — provider administration" in response.text


def test_every_domain_model_is_registered():
    from django.apps import apps

    guardian_rows = {
        "programuserobjectpermission",
        "programgroupobjectpermission",
        "enrolmentuserobjectpermission",
        "enrolmentgroupobjectpermission",
    }
    # Pathway steps and report attachments are edited inline on their parent; a doctor's private
    # notes are his alone; an enrolment's schedule cursor is the scheduling engine's bookkeeping.
    inline_only = {"carepathwaystep", "reportattachment", "doctornote", "enrolmentschedule"}
    expected = (
        {m._meta.model_name for m in apps.get_app_config("psp_crm").get_models()}
        - guardian_rows
        - inline_only
    )
    registered = {
        m._meta.model_name for m in admin.site._registry if m._meta.app_label == "psp_crm"
    }
    assert expected <= registered


@pytest.mark.parametrize(("model", "model_admin"), REGISTRY, ids=MODEL_IDS)
def test_changelist_add_and_search_pages_load_for_the_superuser(
    client, superuser, world, model, model_admin
):
    client.force_login(superuser)
    assert client.get(url(model)).status_code == 200
    if model_admin.search_fields:
        assert client.get(url(model), {"q": "PT-"}).status_code == 200
    if model_admin.has_add_permission(_request_for(superuser)):
        assert client.get(url(model, "add")).status_code == 200


@pytest.mark.parametrize(("model", "model_admin"), REGISTRY, ids=MODEL_IDS)
def test_changelists_load_for_provider_staff(client, ops, world, model, model_admin):
    client.force_login(ops)
    expected = 200 if model_admin.has_view_permission(_request_for(ops)) else 403
    assert client.get(url(model)).status_code == expected


def test_change_pages_load_for_the_superuser(client, superuser, world):
    DeviceEventFactory(device__enrolment=world.enrolment)
    ActivityFactory(enrolment=world.enrolment)
    DiaryEntryFactory(enrolment=world.enrolment)
    client.force_login(superuser)
    for model, _model_admin in REGISTRY:
        obj = model._default_manager.order_by("-pk").first()
        if obj is None:
            continue
        response = client.get(url(model, "change", obj.pk))
        assert response.status_code == 200, model.__name__


def _request_for(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


# --- scoping ----------------------------------------------------------------------------------


def test_ops_sees_only_its_providers_programs_and_patients(client, ops, elsewhere):
    client.force_login(ops)
    programs = client.get(url(Program)).text
    for code in ("MS-ADHERE", "PSO-CARE", "RA-HOME"):
        assert code in programs
    assert elsewhere["program"].code not in programs

    anna = Patient.objects.get(user__email="anna.conti@example.com")
    assert anna.code in client.get(url(Patient), {"q": "Conti"}).text
    for model, term in (
        (Patient, elsewhere["patient"].code),
        (Enrolment, elsewhere["patient"].code),
        (Activity, elsewhere["patient"].code),
        (DiaryEntry, elsewhere["patient"].code),
    ):
        response = client.get(url(model), {"q": term})
        assert response.status_code == 200
        assert response.context["cl"].result_count == 0, model.__name__
    # Unfiltered lists do not contain them either.
    listed = {p.pk for p in client.get(url(Patient)).context["cl"].queryset}
    assert anna.pk in listed
    assert elsewhere["patient"].pk not in listed


@pytest.mark.parametrize("key", ["program", "patient", "enrolment", "activity", "diary"])
def test_ops_cannot_open_another_providers_record(client, ops, elsewhere, key):
    client.force_login(ops)
    obj = elsewhere[key]
    response = client.get(url(type(obj), "change", obj.pk))
    assert response.status_code in (302, 404)
    if response.status_code == 302:
        assert response.url == reverse("admin:index")


def test_staff_cannot_refer_another_providers_patient(client, world):
    client.force_login(world.staff)
    before = Enrolment.objects.count()
    response = client.post(
        url(Enrolment, "add"),
        {"patient": world.other_patient.pk, "program": world.program.pk},
    )
    assert response.status_code == 200  # the form again, with an error
    assert "patient" in response.context["adminform"].form.errors
    assert Enrolment.objects.count() == before


def test_autocomplete_is_scoped(client, world):
    client.force_login(world.staff)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "psp_crm", "model_name": "enrolment", "field_name": "patient", "term": ""},
    )
    assert response.status_code == 200
    offered = {int(item["id"]) for item in response.json()["results"]}
    assert world.patient.pk in offered
    assert world.other_patient.pk not in offered


def test_staff_program_filter_offers_only_their_programs(client, world):
    client.force_login(world.staff)
    text = client.get(url(Activity)).text
    assert world.program.code in text
    assert world.other_program.code not in text


def test_superuser_sees_every_provider(client, superuser, elsewhere):
    client.force_login(superuser)
    assert elsewhere["program"].code in client.get(url(Program)).text
    response = client.get(url(Patient, "change", elsewhere["patient"].pk))
    assert response.status_code == 200


# --- query counts -----------------------------------------------------------------------------


@pytest.fixture
def busy_program(world):
    """Forty enrolments of one program, each with activities and diary entries."""
    for _ in range(40):
        enrolment = EnrolmentFactory(program=world.program, active=True, doctors=[world.doctor])
        ActivityFactory(enrolment=enrolment, assignee=world.nurse)
        ActivityFactory(enrolment=enrolment)
        DiaryEntryFactory(enrolment=enrolment, author=world.patient_user)
    return world


@pytest.mark.parametrize("model", BIG_CHANGELISTS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("who", ["staff", "superuser"])
def test_big_changelists_have_a_bounded_number_of_queries(
    client, busy_program, django_assert_max_num_queries, model, who
):
    client.force_login(getattr(busy_program, who))
    client.get(url(model))  # warm caches (content types, sessions)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(url(model))
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) >= 40


def test_large_table_paginator_counts_filtered_lists_exactly(world):
    ActivityFactory.create_batch(3, enrolment=world.enrolment)
    queryset = Activity.objects.filter(enrolment=world.enrolment)
    assert LargeTablePaginator(queryset, 2).count == 3


def test_large_table_paginator_estimates_unfiltered_postgresql_lists(world, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("planner estimates are read from PostgreSQL's catalog")
    ActivityFactory.create_batch(3, enrolment=world.enrolment)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE psp_crm_activity")
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'psp_crm_activity'")
        (estimate,) = cursor.fetchone()
    monkeypatch.setattr(LargeTablePaginator, "ESTIMATE_ABOVE", 0)
    assert estimate > 0
    assert LargeTablePaginator(Activity.objects.all(), 10).count == estimate


# --- enrolment actions call the service -------------------------------------------------------


def post_action(client, enrolments, action: str, reason: str = ""):
    return client.post(
        url(Enrolment),
        {
            "action": action,
            "_selected_action": [e.pk for e in enrolments],
            "reason": reason,
            "index": 0,
        },
    )


def test_suspend_action_calls_the_service(client, world):
    enrolment = EnrolmentFactory(program=world.program, active=True)
    client.force_login(world.staff)
    response = post_action(client, [enrolment], "suspend", reason="hospitalised")
    assert response.status_code == 302
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.status_reason) == ("suspended", "hospitalised")
    audit = AuditEvent.objects.get(verb="enrolment.transition", object_id=str(enrolment.pk))
    assert audit.actor == world.staff
    assert audit.detail["to"] == "suspended"
    assert ("success", "1 enrolment(s) changed to suspended.") in messages_of(response)


def test_activate_action_needs_consent(client, world):
    ready = EnrolmentFactory(program=world.program, status="consented")
    ConsentFactory(patient=ready.patient)
    not_ready = EnrolmentFactory(program=world.program, status="consented")
    client.force_login(world.staff)
    response = post_action(client, [ready, not_ready], "activate")
    assert response.status_code == 302
    ready.refresh_from_db()
    not_ready.refresh_from_db()
    assert (ready.status, not_ready.status) == ("active", "consented")
    levels = [level for level, _text in messages_of(response)]
    assert levels.count("error") == 1
    assert "success" in levels


@pytest.mark.parametrize(
    ("status", "action", "reason"),
    [
        ("referred", "complete", ""),
        ("withdrawn", "activate", ""),
        ("active", "suspend", ""),  # no reason given
        ("active", "withdraw", "  "),
    ],
)
def test_refused_transition_is_an_error_message_not_a_500(client, world, status, action, reason):
    enrolment = EnrolmentFactory(program=world.program, status=status)
    audits = AuditEvent.objects.count()
    client.force_login(world.staff)
    response = post_action(client, [enrolment], action, reason=reason)
    assert response.status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.status == status
    assert AuditEvent.objects.count() == audits
    assert [level for level, _text in messages_of(response)] == ["error"]


def test_complete_and_withdraw_actions(client, world):
    first = EnrolmentFactory(program=world.program, active=True)
    second = EnrolmentFactory(program=world.program, active=True)
    client.force_login(world.staff)
    post_action(client, [first], "complete")
    post_action(client, [second], "withdraw", reason="moved abroad")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("completed", "withdrawn")


def test_status_is_read_only_on_the_change_form(client, world):
    client.force_login(world.staff)
    response = client.get(url(Enrolment, "change", world.enrolment.pk))
    form = response.context["adminform"].form
    assert "status" not in form.fields
    assert "patient" not in form.fields


def test_enrolment_add_refers_through_the_service(client, world):
    patient = PatientFactory()
    EnrolmentFactory(patient=patient, program=world.program, status="withdrawn")
    client.force_login(world.staff)
    response = client.post(
        url(Enrolment, "add"),
        {
            "patient": patient.pk,
            "program": world.program.pk,
            "doctors": [world.doctor.pk],
            "operators": [world.nurse.pk],
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    enrolment = Enrolment.objects.get(patient=patient, status="referred")
    assert set(enrolment.doctors.all()) == {world.doctor}
    assert set(enrolment.operators.all()) == {world.nurse}
    verbs = set(AuditEvent.objects.filter(patient=patient).values_list("verb", flat=True))
    assert {"enrolment.refer", "enrolment.add_doctor", "enrolment.assign_operator"} <= verbs


def test_delegation_revoke_action(client, world):
    client.force_login(world.staff)
    response = client.post(
        url(Delegation),
        {"action": "revoke", "_selected_action": [world.delegation.pk], "index": 0},
        follow=True,
    )
    assert response.status_code == 200
    world.delegation.refresh_from_db()
    assert world.delegation.revoked_at is not None
    assert AuditEvent.objects.filter(verb="delegation.revoke", actor=world.staff).exists()
    # Revoking again is refused politely.
    response = client.post(
        url(Delegation),
        {"action": "revoke", "_selected_action": [world.delegation.pk], "index": 0},
    )
    assert [level for level, _text in messages_of(response)] == ["error"]


def test_delegation_stop_copies_action(client, world):
    Delegation.objects.filter(pk=world.delegation.pk).update(receives_copies=True)
    client.force_login(world.staff)
    response = client.post(
        url(Delegation),
        {"action": "stop_copies", "_selected_action": [world.delegation.pk], "index": 0},
        follow=True,
    )
    assert response.status_code == 200
    world.delegation.refresh_from_db()
    assert not world.delegation.receives_copies
    assert AuditEvent.objects.filter(verb="delegation.copies", actor=world.staff).exists()


def test_delegation_grant_refusal_is_a_message(client, world):
    client.force_login(world.staff)
    response = client.post(
        url(Delegation, "add"),
        {"patient": world.patient.pk, "caregiver": world.caregiver.pk},
    )
    assert response.status_code == 302
    assert Delegation.objects.filter(patient=world.patient).count() == 1
    assert [level for level, _text in messages_of(response)] == ["error"]


def test_delegation_grant_through_the_admin(client, world):
    helper = CaregiverFactory()
    client.force_login(world.staff)
    response = client.post(
        url(Delegation, "add"),
        {"patient": world.patient.pk, "caregiver": helper.pk, "can_log_diary": "on"},
    )
    assert response.status_code == 302
    delegation = Delegation.objects.get(caregiver=helper)
    assert delegation.granted_by == world.staff
    assert AuditEvent.objects.filter(verb="delegation.grant", patient=world.patient).exists()


def test_consent_recorded_through_the_admin(client, world):
    client.force_login(world.staff)
    response = client.post(
        url(Consent, "add"),
        {
            "patient": world.patient.pk,
            "enrolment": world.enrolment.pk,
            "kind": "participation",
            "document_version": "3.0",
        },
    )
    assert response.status_code == 302
    consent = Consent.objects.get(patient=world.patient)
    assert consent.recorded_by == world.staff
    world.enrolment.refresh_from_db()
    assert world.enrolment.status == "consented"
    # A saved consent is a legal record: its page is read-only; withdrawal is an action.
    page = client.get(url(Consent, "change", consent.pk))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    client.post(url(Consent), {"action": "withdraw", "_selected_action": [consent.pk]})
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None


# --- writes that carry rules go through services ----------------------------------------------


def test_program_created_in_the_admin_gets_its_grants(client, world):
    client.force_login(world.staff)
    response = client.post(
        url(Program, "add"),
        {
            "code": "ADMIN-NEW",
            "name": "Made in the admin",
            "pathology": "asthma",
            "status": "design",
            "sponsor": world.sponsor.pk,
            "provider": world.provider.pk,
            "adverse_event_sla_hours": 24,
            "gamification_enabled": "on",
            "pathway_steps-TOTAL_FORMS": 0,
            "pathway_steps-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    program = Program.objects.get(code="ADMIN-NEW")
    assert access.can_manage_program(world.staff, program)
    assert program in access.programs_for(world.client, "view_program_kpis")
    assert AuditEvent.objects.filter(verb="program.create", actor=world.staff).exists()


def test_staff_cannot_create_a_program_for_another_provider(client, world):
    client.force_login(world.staff)
    response = client.post(
        url(Program, "add"),
        {
            "code": "HIJACK",
            "name": "Not mine",
            "pathology": "asthma",
            "status": "design",
            "sponsor": world.sponsor.pk,
            "provider": world.other_program.provider.pk,
            "adverse_event_sla_hours": 24,
            "pathway_steps-TOTAL_FORMS": 0,
            "pathway_steps-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert "provider" in response.context["adminform"].form.errors
    assert not Program.objects.filter(code="HIJACK").exists()


def test_patient_registered_in_the_admin_is_referred_to_a_program(client, world):
    client.force_login(world.staff)
    response = client.post(
        url(Patient, "add"),
        {
            "first_name": "Sara",
            "last_name": "Adminelli",
            "sex": "F",
            "program": world.program.pk,
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    patient = Patient.objects.get(last_name="Adminelli")
    assert patient.enrolments.get().program == world.program
    verbs = set(AuditEvent.objects.filter(patient=patient).values_list("verb", flat=True))
    assert {"patient.register", "enrolment.refer"} <= verbs
    # ...and she is visible to the staff member who registered her.
    assert client.get(url(Patient, "change", patient.pk)).status_code == 200


def test_opening_a_patient_appends_a_read_audit(client, world):
    client.force_login(world.staff)
    before = AuditEvent.objects.filter(patient=world.patient, action="read").count()
    response = client.get(url(Patient, "change", world.patient.pk))
    assert response.status_code == 200
    reads = AuditEvent.objects.filter(patient=world.patient, action="read")
    assert reads.count() == before + 1
    read = reads.order_by("-pk").first()
    assert (read.actor, read.portal, read.verb) == (world.staff, "admin", "patient.read")
    # Related records are audited against their patient too.
    client.get(url(Enrolment, "change", world.enrolment.pk))
    assert reads.filter(verb="enrolment.read").exists()


# --- read-only logs and safe user editing -----------------------------------------------------


@pytest.mark.parametrize("who", ["staff", "superuser"])
def test_audit_log_is_read_only(client, world, who):
    user = getattr(world, who)
    client.force_login(user)
    event = AuditEvent.objects.create(
        actor=user,
        action="read",
        verb="patient.read",
        object_type="psp_crm.patient",
        object_id=str(world.patient.pk),
        patient=world.patient,
    )
    assert client.get(url(AuditEvent)).status_code == 200
    assert client.get(url(AuditEvent, "add")).status_code == 403
    page = client.get(url(AuditEvent, "change", event.pk))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert client.post(url(AuditEvent, "change", event.pk), {"verb": "x"}).status_code == 403
    assert client.post(url(AuditEvent, "delete", event.pk), {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk, verb="patient.read").exists()


@pytest.mark.parametrize("who", ["staff", "superuser"])
def test_device_events_are_read_only(client, world, who):
    event = DeviceEventFactory(device__enrolment=world.enrolment)
    client.force_login(getattr(world, who))
    assert client.get(url(DeviceEvent, "add")).status_code == 403
    assert client.post(url(DeviceEvent, "change", event.pk), {"seq": 9}).status_code == 403
    assert DeviceEvent.objects.get(pk=event.pk).seq == event.seq


def test_staff_cannot_make_themselves_superuser(client, world):
    client.force_login(world.staff)
    page = client.get(url(User, "change", world.staff.pk))
    assert page.status_code == 200
    form_fields = page.context["adminform"].form.fields
    for field in ("is_superuser", "is_staff", "groups", "user_permissions"):
        assert field not in form_fields
    client.post(
        url(User, "change", world.staff.pk),
        {
            "first_name": "Renamed",
            "last_name": world.staff.last_name,
            "timezone": "Europe/Rome",
            "is_superuser": "on",
            "groups": [g.pk for g in world.staff.groups.all()],
        },
    )
    world.staff.refresh_from_db()
    assert world.staff.first_name == "Renamed"
    assert not world.staff.is_superuser


def test_staff_read_other_accounts_but_cannot_change_them(client, world):
    client.force_login(world.staff)
    doctor = world.doctor.user
    page = client.get(url(User, "change", doctor.pk))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    response = client.post(
        url(User, "change", doctor.pk), {"first_name": "Hacked", "timezone": "UTC"}
    )
    assert response.status_code == 403
    password_url = reverse("admin:auth_user_password_change", args=[doctor.pk])
    assert client.get(password_url).status_code == 403
    # Superusers and other providers' people are not even listed.
    listed = client.get(url(User)).text
    assert world.superuser.email not in listed
    assert world.outsider_staff.email not in listed
    assert world.patient_user.email in listed


def test_superuser_creates_a_user_by_email(client, world):
    client.force_login(world.superuser)
    response = client.post(
        url(User, "add"),
        {
            "email": "new.nurse@factory.example",
            "usable_password": "true",
            "password1": "a-long-pass-phrase-2026",
            "password2": "a-long-pass-phrase-2026",
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    user = User.objects.get(email="new.nurse@factory.example")
    assert user.check_password("a-long-pass-phrase-2026")
    assert not user.is_staff
    # E-mail is the identity: the same address in other letter case is refused.
    again = client.post(
        url(User, "add"), {"email": "New.Nurse@FACTORY.example", "usable_password": "false"}
    )
    assert again.status_code == 200
    assert "email" in again.context["adminform"].form.errors


def test_staff_create_a_login_and_attach_a_doctor_profile(client, world):
    client.force_login(world.staff)
    response = client.post(
        url(User, "add"),
        {
            "email": "Dr.New@Factory.example",
            "usable_password": "false",
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    user = User.objects.get(email="dr.new@factory.example")
    assert not (user.is_staff or user.is_superuser or user.has_usable_password())
    # The new account has no role yet, so the staff member may pick it for a profile.
    response = client.post(
        url(Doctor, "add"), {"user": user.pk, "specialty": "neurology", "licence_number": "X1"}
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    assert Doctor.objects.filter(user=user).exists()
