"""Patient portal: a patient's own therapy, or the patients a caregiver acts for.

Pages that concern one patient exist twice: ``/patient/<page>/`` for the patient herself and
``/patient/p/<code>/<page>/`` for a caregiver acting for the patient with that code.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portals.common.forms import AppointmentAnswerForm, ContactPreferencesForm
from portals.common.views import PortalView
from psp_crm.access import Role
from psp_crm.attachments import attachment_response
from psp_crm.errors import AccessDenied, NotFound
from psp_crm.models import Activity, DiaryEntry, Patient
from psp_crm.selectors.appointments import appointment_for
from psp_crm.selectors.contact_preferences import (
    CONSENT_CHANNELS,
    contact_choices,
    copy_choices,
)
from psp_crm.selectors.diary import (
    diary_calendar,
    diary_entry_for,
    diary_page,
    due_doses,
    entry_history,
    gamification_progress,
)
from psp_crm.selectors.inbox import message_for, messages_for, unread_count
from psp_crm.selectors.patients import (
    caregiver_by_email,
    delegated_patient,
    delegation_for,
    delegations_of,
    patient_dashboard,
    patient_self,
    patients_for_caregiver,
    writable_enrolments,
)
from psp_crm.selectors.reports import attachment_for, report_for, report_thread, reports_inbox
from psp_crm.services.appointments import ASKING_PURPOSES, appointment_answer, is_answerable
from psp_crm.services.audit import audit_patient_read
from psp_crm.services.contact_preferences import (
    channel_consent_set,
    channel_preference_set,
    contact_preferences_update,
)
from psp_crm.services.delegations import (
    delegation_change,
    delegation_copies_set,
    delegation_grant,
    delegation_revoke,
)
from psp_crm.services.diary import diary_correct, diary_record, is_editable
from psp_crm.services.inbox import message_mark_read
from psp_crm.services.reports import report_mark_read, report_send

from .forms import (
    CaregiverCopiesForm,
    ChannelConsentForm,
    ChannelPreferencesForm,
    CorrectionForm,
    DelegationChangeForm,
    DelegationGrantForm,
    DiaryEntryForm,
    ReportForm,
    apply_domain_errors,
)


class PatientPortalView(PortalView):
    """Base of the patient portal's pages (patients and caregivers)."""

    portal = "patient"
    portal_roles = ("patient", "caregiver")


class HomeView(PatientPortalView):
    """A patient's next activities and diary; a caregiver's list of delegated patients."""

    template_name = "portals/patient/home.html"

    def get_page_title(self) -> str:
        if "patient" in self.roles:
            return str(gettext_lazy("My therapy"))
        return str(gettext_lazy("People I care for"))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        actor = self.request.user
        if "patient" in self.roles:
            me = patient_self(actor=actor)
            if me is not None:
                context["dashboard"] = patient_dashboard(actor=actor, patient=me, role="patient")
                _offer_answers(context["dashboard"].next_activities, None)
                context["reminders"] = due_doses(actor=actor, role="patient", patient=me)
                context["links"] = _links(None)
        if "caregiver" in self.roles:
            context["delegated"] = list(patients_for_caregiver(actor=actor))
        return context


class DelegatedPatientView(PatientPortalView):
    """A caregiver's page for one delegated patient (read audited)."""

    template_name = "portals/patient/delegated_patient.html"
    portal_roles = ("caregiver",)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        actor = self.request.user
        patient = delegated_patient(actor=actor, code=self.kwargs["code"])
        audit_patient_read(actor=actor, patient=patient, portal="patient", request=self.request)
        dashboard = patient_dashboard(actor=actor, patient=patient, role="caregiver")
        _offer_answers(dashboard.next_activities, patient.code)
        return super().get_context_data(
            dashboard=dashboard,
            reminders=due_doses(actor=actor, role="caregiver", patient=patient),
            delegated=list(patients_for_caregiver(actor=actor)),
            current=patient,
            links=_links(patient.code),
            page_title=patient.full_name,
            **kwargs,
        )


def _url(name: str, code: str | None, **kwargs: Any) -> str:
    if code:
        return reverse(f"patient:p_{name}", kwargs={"code": code, **kwargs})
    return reverse(f"patient:{name}", kwargs=kwargs)


def _links(code: str | None) -> dict[str, str]:
    links = {
        name: _url(name, code)
        for name in ("diary", "reports", "progress", "messages", "preferences")
    }
    links["overview"] = (
        reverse("patient:delegated_patient", kwargs={"code": code})
        if code
        else reverse("patient:home")
    )
    for kind in DiaryEntry.Kind.values:
        links[f"new_{kind}"] = _url("diary_new", code, kind=kind)
    if not code:
        links["delegations"] = reverse("patient:delegations")
    return links


def _offer_answers(activities: list, code: str | None) -> None:
    """Give each appointment she may still confirm or ask to change the address of its page."""
    now = timezone.now()
    for activity in activities:
        if is_answerable(activity, now):
            activity.answer_url = _url("appointment", code, activity_id=activity.pk)


class PatientScopedView(PatientPortalView):
    """A page about one patient: the signed-in patient, or a caregiver's delegated patient."""

    def setup_patient(self) -> None:
        actor = self.request.user
        code = self.kwargs.get("code")
        self.code: str | None = code
        if code:
            if "caregiver" not in self.roles:
                raise NotFound(_("No such patient."))
            patient: Patient | None = delegated_patient(actor=actor, code=code)
            self.patient_role: Role = "caregiver"
            self.can_log = bool(patient.can_log_diary)
            self.can_send = bool(patient.can_send_reports)
        else:
            if "patient" not in self.roles:
                raise NotFound(_("No such patient."))
            patient = patient_self(actor=actor)
            if patient is None:
                raise NotFound(_("No such patient."))
            self.patient_role = "patient"
            self.can_log = self.can_send = True
        self.patient: Patient = patient

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.setup_patient()
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.setup_patient()
        return self.handle_post(request)

    def handle_post(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(status=405)

    def url(self, name: str, **kwargs: Any) -> str:
        return _url(name, self.code, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            patient=self.patient,
            code=self.code,
            acting_as_caregiver=self.patient_role == "caregiver",
            can_log=self.can_log,
            can_send=self.can_send,
            links=_links(self.code),
        )
        if self.patient_role == "caregiver":
            context["delegated"] = list(patients_for_caregiver(actor=self.request.user))
            context["current"] = self.patient
        return context


def _month(request: HttpRequest) -> tuple[int, int]:
    today = timezone.localdate()
    try:
        year, month = (int(p) for p in request.GET.get("month", "").split("-"))
        dt.date(year, month, 1)
        return year, month
    except (TypeError, ValueError):
        return today.year, today.month


class DiaryView(PatientScopedView):
    """The diary: due-dose reminders, the month calendar, the timeline and what comes next."""

    template_name = "portals/patient/diary.html"
    page_title = gettext_lazy("Therapy diary")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        actor, role = self.request.user, self.patient_role
        year, month = _month(self.request)
        kind = self.request.GET.get("kind") or None
        dashboard = patient_dashboard(actor=actor, patient=self.patient, role=role)
        context.update(
            reminders=due_doses(actor=actor, role=role, patient=self.patient),
            calendar=diary_calendar(
                actor=actor, role=role, patient=self.patient, year=year, month=month
            ),
            page_obj=diary_page(
                actor=actor,
                role=role,
                patient=self.patient,
                kind=kind,
                page=self.request.GET.get("page"),
            ),
            kinds=DiaryEntry.Kind.choices,
            kind=kind,
            next_activities=dashboard.next_activities,
        )
        return context


class DiaryEntryCreateView(PatientScopedView):
    """A mobile-first form for one kind of entry."""

    template_name = "portals/patient/diary_form.html"

    def get_page_title(self) -> str:
        return _("New diary entry: %(kind)s") % {"kind": self.kind_label}

    def setup_patient(self) -> None:
        super().setup_patient()
        kind = self.kwargs["kind"]
        if kind not in DiaryEntry.Kind.values:
            raise NotFound(_("No such kind of entry."))
        self.kind = kind
        self.kind_label = str(DiaryEntry.Kind(kind).label).lower()
        if not self.can_log:
            raise AccessDenied(_("You may read this diary but not write in it."))
        self.enrolments = list(
            writable_enrolments(
                actor=self.request.user, role=self.patient_role, patient=self.patient
            )
        )

    def get_form(self, data=None) -> DiaryEntryForm:
        return DiaryEntryForm(data, kind=self.kind, enrolments=self.enrolments)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("form", self.get_form())
        kwargs["kind"] = self.kind
        return super().get_context_data(**kwargs)

    def handle_post(self, request: HttpRequest) -> HttpResponse:
        form = self.get_form(request.POST)
        if form.is_valid():
            enrolment = next(e for e in self.enrolments if e.pk == form.cleaned_data["enrolment"])
            try:
                diary_record(
                    actor=request.user,
                    enrolment=enrolment,
                    kind=self.kind,
                    occurred_at=form.cleaned_data["occurred_at"],
                    source=DiaryEntry.Source.WEB,
                    **form.service_values(),
                )
            except ValidationError as error:
                apply_domain_errors(form, error)
            else:
                messages.success(request, _("Saved in the diary."))
                return HttpResponseRedirect(self.url("diary"))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class DiaryEntryView(PatientScopedView):
    """One entry with every version (who, when, what changed) and, while editable, a correction."""

    template_name = "portals/patient/diary_entry.html"
    page_title = gettext_lazy("Diary entry")

    def setup_patient(self) -> None:
        super().setup_patient()
        entry = diary_entry_for(
            actor=self.request.user, role=self.patient_role, entry_id=self.kwargs["entry_id"]
        )
        if entry.enrolment.patient_id != self.patient.pk:
            raise NotFound(_("No such diary entry."))
        history = entry_history(entry)
        self.entry = history[0]  # always work on the current version
        self.history = history
        self.editable = self.can_log and is_editable(self.entry)

    def get_form(self, data=None) -> CorrectionForm:
        return CorrectionForm(data, entry=self.entry)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        if self.editable:
            kwargs.setdefault("form", self.get_form())
        return super().get_context_data(
            entry=self.entry, history=self.history, editable=self.editable, **kwargs
        )

    def handle_post(self, request: HttpRequest) -> HttpResponse:
        if not self.editable:
            raise AccessDenied(_("This entry is read-only."))
        form = self.get_form(request.POST)
        if form.is_valid():
            try:
                version = diary_correct(
                    actor=request.user,
                    entry=self.entry,
                    reason=form.cleaned_data.get("reason") or "",
                    occurred_at=form.cleaned_data["occurred_at"],
                    **form.service_values(),
                )
            except ValidationError as error:
                apply_domain_errors(form, error)
            else:
                messages.success(
                    request, _("The entry was corrected; the earlier version is kept.")
                )
                return HttpResponseRedirect(self.url("diary_entry", entry_id=version.pk))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ReportsView(PatientScopedView):
    """Reports with the doctor: the inbox with read receipts, and a form to send a new one."""

    template_name = "portals/patient/reports.html"
    page_title = gettext_lazy("Reports")

    def get_form(self, data=None, files=None) -> ReportForm:
        enrolments = writable_enrolments(
            actor=self.request.user, role=self.patient_role, patient=self.patient
        )
        self.enrolments = list(enrolments)
        return ReportForm(data, files, enrolments=self.enrolments)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        if self.can_send:
            kwargs.setdefault("form", self.get_form())
        reports = reports_inbox(
            actor=self.request.user, role=self.patient_role, patient=self.patient
        )
        from psp_crm.selectors.pagination import page_of

        return super().get_context_data(
            page_obj=page_of(reports, page=self.request.GET.get("page")), **kwargs
        )

    def handle_post(self, request: HttpRequest) -> HttpResponse:
        if not self.can_send:
            raise AccessDenied(_("You may not send reports for this person."))
        form = self.get_form(request.POST, request.FILES)
        if form.is_valid():
            enrolment = next(e for e in self.enrolments if e.pk == form.cleaned_data["enrolment"])
            try:
                report = report_send(
                    actor=request.user,
                    enrolment=enrolment,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    attachments=form.cleaned_data["attachments"],
                )
            except ValidationError as error:
                apply_domain_errors(form, error)
            else:
                messages.success(request, _("Your report was sent to the doctor."))
                return HttpResponseRedirect(self.url("report", report_id=report.pk))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ReportView(PatientScopedView):
    """One report with its attachments, replies and read receipts; opening it marks it read."""

    template_name = "portals/patient/report.html"
    page_title = gettext_lazy("Report")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        actor, role = self.request.user, self.patient_role
        report = report_for(actor=actor, role=role, report_id=self.kwargs["report_id"])
        if report.enrolment.patient_id != self.patient.pk:
            raise NotFound(_("No such report."))
        report_mark_read(actor=actor, report=report)
        thread = report_thread(actor=actor, role=role, report=report)
        for reply in thread:
            if not reply.read_by_me and reply.author_id != actor.pk:
                report_mark_read(actor=actor, report=reply)
        return super().get_context_data(report=report, thread=thread, **kwargs)


class AttachmentView(PatientPortalView):
    """Serve a report attachment after the permission check; never a public media URL."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Only what the patient portal's roles may read (not what the same person sees as a
        # doctor or an operator elsewhere).
        for role in self.roles:
            try:
                attachment = attachment_for(
                    actor=request.user, role=role, attachment_id=kwargs["pk"]
                )
            except NotFound:
                continue
            return attachment_response(request, attachment, portal="patient")
        raise NotFound(_("No such attachment."))


class ProgressView(PatientScopedView):
    """Points, streak and badges per program, phrased to encourage."""

    template_name = "portals/patient/progress.html"
    page_title = gettext_lazy("My progress")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        actor, role = self.request.user, self.patient_role
        enrolments = writable_enrolments(actor=actor, role=role, patient=self.patient)
        progress = [
            gamification_progress(actor=actor, role=role, enrolment_id=e.pk) for e in enrolments
        ]
        return super().get_context_data(progress=progress, **kwargs)


class DelegationsView(PatientScopedView):
    """The patient grants, limits and revokes her caregivers' delegations."""

    template_name = "portals/patient/delegations.html"
    portal_roles = ("patient",)
    page_title = gettext_lazy("My caregivers")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        delegations = [
            (
                d,
                DelegationChangeForm(
                    initial={
                        "can_log_diary": d.can_log_diary,
                        "can_send_reports": d.can_send_reports,
                    },
                    prefix=f"d{d.pk}",
                ),
            )
            for d in delegations_of(actor=self.request.user, patient=self.patient)
        ]
        kwargs.setdefault("form", DelegationGrantForm())
        return super().get_context_data(delegations=delegations, **kwargs)

    def handle_post(self, request: HttpRequest) -> HttpResponse:
        actor = request.user
        delegation_id = request.POST.get("delegation")
        if delegation_id:
            try:
                delegation = delegation_for(
                    actor=actor, patient=self.patient, delegation_id=int(delegation_id)
                )
            except ValueError as error:
                raise NotFound(_("No such delegation.")) from error
            change = DelegationChangeForm(request.POST, prefix=f"d{delegation.pk}")
            change.is_valid()
            data = change.cleaned_data
            if data.get("revoke"):
                delegation_revoke(actor=actor, delegation=delegation)
                messages.success(request, _("The delegation was revoked."))
            else:
                delegation_change(
                    actor=actor,
                    delegation=delegation,
                    can_log_diary=bool(data.get("can_log_diary")),
                    can_send_reports=bool(data.get("can_send_reports")),
                )
                messages.success(request, _("The caregiver's rights were changed."))
            return HttpResponseRedirect(reverse("patient:delegations"))
        form = DelegationGrantForm(request.POST)
        if form.is_valid():
            caregiver = caregiver_by_email(email=form.cleaned_data["caregiver_email"])
            if caregiver is None:
                form.add_error(
                    "caregiver_email",
                    _(
                        "No caregiver account uses this e-mail; ask your program's support team "
                        "to invite this person."
                    ),
                )
            else:
                try:
                    delegation_grant(
                        actor=actor,
                        patient=self.patient,
                        caregiver=caregiver,
                        relationship=form.cleaned_data["relationship"],
                        can_log_diary=form.cleaned_data["can_log_diary"],
                        can_send_reports=form.cleaned_data["can_send_reports"],
                    )
                except ValidationError as error:
                    apply_domain_errors(form, error)
                else:
                    messages.success(request, _("The delegation was granted."))
                    return HttpResponseRedirect(reverse("patient:delegations"))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PatientChoiceMixin:
    """Also accept ``?patient=<code>`` (a caregiver's patient) besides ``p/<code>/``.

    A caregiver who opens the page without choosing gets the list of the people she cares for.
    """

    request: HttpRequest
    kwargs: dict[str, Any]
    roles: list[Role]
    template_name: str

    def choosing(self) -> bool:
        return (
            not self.kwargs.get("code")
            and not self.request.GET.get("patient")
            and "patient" not in self.roles
        )

    def setup_patient(self) -> None:
        code = (self.request.GET.get("patient") or "").strip()
        if code and not self.kwargs.get("code"):
            self.kwargs["code"] = code
        super().setup_patient()  # type: ignore[misc]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.choosing():
            context = PatientPortalView.get_context_data(self, **kwargs)  # type: ignore[arg-type]
            context.update(
                delegated=list(patients_for_caregiver(actor=request.user)),
                choose_for=request.path,
            )
            return self.render_to_response(context)  # type: ignore[attr-defined]
        return super().get(request, *args, **kwargs)  # type: ignore[misc]


class PreferencesView(PatientChoiceMixin, PatientScopedView):
    """Channel consents, what she wants on which channel, language and quiet hours."""

    template_name = "portals/patient/preferences.html"
    page_title = gettext_lazy("Contact preferences")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        choices = contact_choices(actor=self.request.user, patient=self.patient)
        contact_form = ContactPreferencesForm.for_preferences(choices.preferences)
        kwargs.setdefault("contact_form", contact_form)
        kwargs.setdefault("grid_form", ChannelPreferencesForm(grid=choices.grid, prefix="grid"))
        copies = copy_choices(actor=self.request.user, patient=self.patient)
        return super().get_context_data(choices=choices, copies=copies, **kwargs)

    def handle_post(self, request: HttpRequest) -> HttpResponse:
        choices = contact_choices(actor=request.user, patient=self.patient)
        which = request.POST.get("form")
        if which == "consent":
            return self.post_consent(request)
        if which == "grid":
            return self.post_grid(request, choices)
        if which == "contact":
            return self.post_contact(request, choices)
        if which == "copies":
            return self.post_copies(request)
        return self.render_to_response(
            self.get_context_data(form_error=_("Choose what to change.")), status=400
        )

    def done(self, request: HttpRequest) -> HttpResponse:
        return HttpResponseRedirect(request.get_full_path())

    def post_consent(self, request: HttpRequest) -> HttpResponse:
        form = ChannelConsentForm(request.POST, channels=CONSENT_CHANNELS)
        if form.is_valid():
            channel, given = form.cleaned_data["channel"], form.cleaned_data["given"]
            label = dict(CONSENT_CHANNELS)[channel]
            try:
                channel_consent_set(
                    actor=request.user, patient=self.patient, channel=channel, given=given
                )
            except ValidationError as error:
                apply_domain_errors(form, error)
            else:
                if given:
                    messages.success(request, _("Consent given: %(channel)s.") % {"channel": label})
                else:
                    messages.success(
                        request,
                        _("Consent withdrawn: nothing more will be sent by %(channel)s.")
                        % {"channel": label},
                    )
                return self.done(request)
        return self.render_to_response(self.get_context_data(consent_form=form), status=400)

    def post_copies(self, request: HttpRequest) -> HttpResponse:
        copies = copy_choices(actor=request.user, patient=self.patient)
        delegations = [copies.mine] if copies.mine is not None else copies.caregivers
        form = CaregiverCopiesForm(request.POST, delegations=delegations)
        if form.is_valid():
            delegation = form.delegations[form.cleaned_data["delegation"]]
            enabled = form.cleaned_data["enabled"]
            try:
                delegation_copies_set(actor=request.user, delegation=delegation, enabled=enabled)
            except ValidationError as error:
                apply_domain_errors(form, error)
            except PermissionDenied as error:
                form.add_error(None, str(error))
            else:
                if enabled:
                    messages.success(
                        request,
                        _("Copies of reminders and appointment notices will reach %(email)s.")
                        % {"email": delegation.caregiver.user.email},
                    )
                else:
                    messages.success(request, _("No more copies will be sent."))
                return self.done(request)
        return self.render_to_response(
            self.get_context_data(
                form_error=" ".join(str(e) for errors in form.errors.values() for e in errors)
            ),
            status=400,
        )

    def post_grid(self, request: HttpRequest, choices) -> HttpResponse:
        form = ChannelPreferencesForm(request.POST, grid=choices.grid, prefix="grid")
        if form.is_valid():
            try:
                for purpose, channel, wanted in form.changes():
                    channel_preference_set(
                        actor=request.user,
                        patient=self.patient,
                        purpose=purpose,
                        channel=channel,
                        enabled=wanted,
                    )
            except ValidationError as error:
                apply_domain_errors(form, error)
            else:
                messages.success(request, _("Your choices were saved."))
                return self.done(request)
        return self.render_to_response(self.get_context_data(grid_form=form), status=400)

    def post_contact(self, request: HttpRequest, choices) -> HttpResponse:
        form = ContactPreferencesForm.for_preferences(choices.preferences, request.POST)
        if form.is_valid():
            try:
                contact_preferences_update(
                    actor=request.user, patient=self.patient, **form.cleaned_data
                )
            except ValidationError as error:
                apply_domain_errors(form, error)
            else:
                messages.success(request, _("Language and quiet hours were saved."))
                return self.done(request)
        return self.render_to_response(self.get_context_data(contact_form=form), status=400)


class MessagesView(PatientChoiceMixin, PatientScopedView):
    """The in-app messages (notifications): unread first in bold, each can be marked read."""

    template_name = "portals/patient/messages.html"
    page_title = gettext_lazy("Messages")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        actor = self.request.user
        page = messages_for(actor, patient=self.patient, page=self.request.GET.get("page"))
        # A confirmation or a reschedule notice links to the appointment while she may answer.
        _offer_answers(
            [
                m.activity
                for m in page.object_list
                if m.activity_id and m.purpose in ASKING_PURPOSES
            ],
            self.code,
        )
        return super().get_context_data(
            page_obj=page,
            unread=unread_count(actor, patient=self.patient),
            **kwargs,
        )

    def handle_post(self, request: HttpRequest) -> HttpResponse:
        try:
            message_id = int(request.POST.get("message", ""))
        except ValueError as error:
            raise NotFound(_("No such message.")) from error
        message = message_for(request.user, message_id=message_id, patient=self.patient)
        message_mark_read(actor=request.user, message=message)
        return HttpResponseRedirect(request.get_full_path())


class AppointmentView(PatientScopedView):
    """One appointment: she confirms she will be there, or asks to change it (with a note)."""

    template_name = "portals/patient/appointment.html"
    page_title = gettext_lazy("Appointment")

    def get_appointment(self):
        return appointment_for(
            actor=self.request.user,
            role=self.patient_role,
            patient=self.patient,
            activity_id=self.kwargs["activity_id"],
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        activity = kwargs.pop("activity", None) or self.get_appointment()
        kwargs.setdefault("form", AppointmentAnswerForm())
        return super().get_context_data(
            activity=activity, answerable=is_answerable(activity), **kwargs
        )

    def handle_post(self, request: HttpRequest) -> HttpResponse:
        activity = self.get_appointment()
        form = AppointmentAnswerForm(request.POST)
        if form.is_valid():
            try:
                appointment_answer(
                    actor=request.user,
                    activity=activity,
                    answer=form.cleaned_data["answer"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as error:
                apply_domain_errors(form, error)
            else:
                if form.cleaned_data["answer"] == Activity.PatientAnswer.CONFIRMED:
                    messages.success(request, _("Thank you: the appointment is confirmed."))
                else:
                    messages.success(
                        request,
                        _("We got your request: the team will call you to agree a new time."),
                    )
                return HttpResponseRedirect(self.url("appointment", activity_id=activity.pk))
        return self.render_to_response(
            self.get_context_data(activity=activity, form=form), status=400
        )
