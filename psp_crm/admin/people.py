"""Admin of people: users (e-mail identity), patients, caregivers, delegations and profiles."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ..models import (
    Caregiver,
    ClientUser,
    Delegation,
    Doctor,
    Operator,
    Patient,
    ProgramUserObjectPermission,
    ProviderStaff,
    User,
)
from ..services.delegations import delegation_copies_set, delegation_grant, delegation_revoke
from ..services.enrolments import enrolment_refer
from ..services.patients import PATIENT_FIELDS, patient_register
from ..services.programs import client_user_join, provider_staff_join
from .base import (
    ScopedAdmin,
    ScopedMixin,
    adopt,
    program_filter,
    staff_enrolments,
    staff_organization_id,
    staff_patients,
    staff_programs,
)

PROFILES = (
    ("patient_profile", _("patient")),
    ("caregiver_profile", _("caregiver")),
    ("doctor_profile", _("doctor")),
    ("operator_profile", _("operator")),
    ("client_profile", _("client")),
    ("provider_staff_profile", _("provider staff")),
)


def _without_program_grants(path: str = "user") -> Q:
    """People not yet taking part in any program: new doctors and operators being onboarded."""
    return ~Q(Exists(ProgramUserObjectPermission.objects.filter(user=OuterRef(path))))


def _granted_on_my_programs(user: User, path: str = "user") -> Q:
    grants = ProgramUserObjectPermission.objects.filter(
        user=OuterRef(path), content_object__in=staff_programs(user)
    )
    return Q(Exists(grants))


# --- users ------------------------------------------------------------------------------------


class EmailIdentityMixin:
    """E-mail is the identity: stored lower-case (like ``UserManager``), unique in any case."""

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        others = User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("A user with this e-mail address already exists."))
        return email


class EmailUserCreationForm(EmailIdentityMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class EmailUserChangeForm(EmailIdentityMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(ScopedMixin, DjangoUserAdmin):
    """Superusers manage every account; other staff read the accounts of their programs' people.

    Changing someone else's e-mail or password would let a staff member take over an account
    that may see other providers' data, so non-superusers only edit their own name and phone.
    """

    scope = "custom"
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "roles", "is_staff", "is_active")
    list_filter = ("is_staff", "is_superuser", "is_active", "is_demo")
    list_select_related = tuple(attr for attr, _label in PROFILES)
    search_fields = ("email", "first_name", "last_name")
    show_full_result_count = False
    readonly_fields = ("last_login", "date_joined", "is_demo")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "phone", "timezone")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined", "is_demo")}),
    )
    staff_fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "phone", "timezone")}),
        (_("Status"), {"fields": ("is_active", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )

    @admin.display(description=_("roles"))
    def roles(self, obj: User) -> str:
        return ", ".join(str(label) for attr, label in PROFILES if hasattr(obj, attr)) or "—"

    def restrict(self, queryset: QuerySet, user: User) -> QuerySet:
        patients = staff_patients(user)
        programs = staff_programs(user)
        organization_id = staff_organization_id(user)
        no_profile = Q(is_staff=False, is_superuser=False) & Q(
            *(Q(**{f"{attr}__isnull": True}) for attr, _label in PROFILES)
        )
        scope = (
            Q(pk=user.pk)
            | Q(patient_profile__in=patients)
            | Q(
                Exists(
                    Delegation.objects.filter(caregiver__user=OuterRef("pk"), patient__in=patients)
                )
            )
            | _granted_on_my_programs(user, "pk")
            | Q(
                Exists(
                    Doctor.followed_enrolments.through.objects.filter(
                        doctor__user=OuterRef("pk"), enrolment__in=staff_enrolments(user)
                    )
                )
            )
            | Q(operator_profile__organization_id=organization_id)
            | Q(provider_staff_profile__organization_id=organization_id)
            | Q(
                Exists(
                    ClientUser.objects.filter(
                        user=OuterRef("pk"), organization__sponsored_programs__in=programs
                    )
                )
            )
            # Accounts with no role yet, so that staff can attach the profile they just created.
            | no_profile
        )
        return queryset.filter(scope).exclude(is_superuser=True)

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not request.user.is_superuser:
            return self.staff_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()  # the add form asks only for the e-mail and a password
        if request.user.is_superuser:
            return self.readonly_fields
        return (*self.readonly_fields, "is_active", "email")

    def get_list_filter(self, request):
        return self.list_filter if request.user.is_superuser else ("is_active",)

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser or obj is None:
            return super().has_change_permission(request, obj)
        # Others' accounts are read-only for non-superusers (see the class docstring).
        return obj.pk == request.user.pk and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


# --- patients and caregivers ------------------------------------------------------------------


class PatientAddForm(forms.ModelForm):
    """Registering a patient in the admin also refers her to one of the staff member's programs."""

    program = forms.ModelChoiceField(
        queryset=None,
        required=False,
        help_text=_("Refer the new patient to this program (required unless superuser)."),
    )

    class Meta:
        model = Patient
        fields = ("first_name", "last_name", "user", *sorted(PATIENT_FIELDS))


@admin.register(Patient)
class PatientAdmin(ScopedAdmin):
    scope = "custom"
    audit_patient_path = ""
    list_display = ("code", "last_name", "first_name", "birth_date", "sex", "city", "territory")
    list_filter = ("sex", program_filter("enrolments__program", multi_valued=True))
    search_fields = ("=code", "last_name", "first_name", "=fiscal_code", "email", "phone")
    readonly_fields = ("code", "created_at")
    autocomplete_fields = ("user",)
    fieldsets = (
        (None, {"fields": ("code", "first_name", "last_name", "birth_date", "sex", "user")}),
        (_("Contact"), {"fields": ("phone", "email", "address", "city", "postcode")}),
        (_("Administrative"), {"fields": ("fiscal_code", "territory", "created_at")}),
    )

    def restrict(self, queryset: QuerySet, user: User) -> QuerySet:
        return queryset.filter(pk__in=staff_patients(user).values("pk"))

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = PatientAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            programs = staff_programs(request.user).filter(status="active").order_by("code")
            form.base_fields["program"].queryset = programs
            form.base_fields["program"].required = not request.user.is_superuser
        return form

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": (*PatientAddForm._meta.fields, "program")}),)
        return super().get_fieldsets(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        patient = patient_register(
            actor=request.user,
            first_name=data["first_name"],
            last_name=data["last_name"],
            user=data.get("user"),
            **{name: data[name] for name in PATIENT_FIELDS if name in data},
        )
        if data.get("program") is not None:
            enrolment_refer(actor=request.user, patient=patient, program=data["program"])
        adopt(obj, patient)


@admin.register(Caregiver)
class CaregiverAdmin(ScopedAdmin):
    scope = "custom"
    list_display = ("user", "relationship_note")
    list_select_related = ("user",)
    search_fields = ("user__email", "user__last_name")
    autocomplete_fields = ("user",)

    def restrict(self, queryset: QuerySet, user: User) -> QuerySet:
        delegated = Delegation.objects.filter(
            caregiver=OuterRef("pk"), patient__in=staff_patients(user)
        )
        no_delegation = ~Q(Exists(Delegation.objects.filter(caregiver=OuterRef("pk"))))
        return queryset.filter(Q(Exists(delegated)) | no_delegation)


class DelegationState(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("active", _("Active")), ("revoked", _("Revoked")))

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(pk__in=Delegation.objects.active().values("pk"))
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(Delegation)
class DelegationAdmin(ScopedAdmin):
    scope = "patient"
    audit_patient_path = "patient"
    list_display = (
        "caregiver",
        "patient",
        "relationship",
        "can_log_diary",
        "can_send_reports",
        "receives_copies",
        "valid_from",
        "valid_until",
        "revoked_at",
    )
    list_filter = (DelegationState, "can_log_diary", "can_send_reports")
    list_select_related = ("caregiver__user", "patient")
    search_fields = ("=patient__code", "patient__last_name", "caregiver__user__email")
    autocomplete_fields = ("patient", "caregiver")
    # Copies go to the caregiver's own inbox: she turns them on; staff may only stop them.
    readonly_fields = ("revoked_at", "granted_by", "receives_copies")
    actions = ("revoke", "stop_copies")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("patient", "caregiver", "relationship", "can_log_diary", "can_send_reports")
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ("patient", "caregiver", "valid_from", *self.readonly_fields)
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        delegation = delegation_grant(
            actor=request.user,
            patient=data["patient"],
            caregiver=data["caregiver"],
            relationship=data.get("relationship", ""),
            can_log_diary=data.get("can_log_diary", False),
            can_send_reports=data.get("can_send_reports", False),
        )
        adopt(obj, delegation)

    @admin.action(description=_("Revoke the selected delegations"), permissions=["change"])
    def revoke(self, request, queryset):
        self.run_service(
            request,
            queryset.select_related("patient", "caregiver__user"),
            lambda d: delegation_revoke(actor=request.user, delegation=d),
            done_message=_("%(n)d delegation(s) revoked."),
        )

    @admin.action(description=_("Stop the caregivers' e-mail copies"), permissions=["change"])
    def stop_copies(self, request, queryset):
        self.run_service(
            request,
            queryset.select_related("patient", "caregiver__user"),
            lambda d: delegation_copies_set(actor=request.user, delegation=d, enabled=False),
            done_message=_("%(n)d delegation(s) send no more copies."),
        )


# --- professional profiles --------------------------------------------------------------------


@admin.register(Doctor)
class DoctorAdmin(ScopedAdmin):
    scope = "custom"
    list_display = ("__str__", "specialty", "hospital", "licence_number")
    list_select_related = ("user", "hospital")
    list_filter = ("specialty",)
    search_fields = ("user__email", "user__last_name", "user__first_name", "licence_number")
    autocomplete_fields = ("user", "hospital")

    def restrict(self, queryset: QuerySet, user: User) -> QuerySet:
        follows = Doctor.followed_enrolments.through.objects.filter(
            doctor=OuterRef("pk"), enrolment__in=staff_enrolments(user)
        )
        return queryset.filter(
            _granted_on_my_programs(user) | Q(Exists(follows)) | _without_program_grants()
        )


@admin.register(Operator)
class OperatorAdmin(ScopedAdmin):
    scope = "custom"
    list_display = (
        "__str__",
        "role",
        "organization",
        "weekly_capacity_hours",
        "is_available",
    )
    list_select_related = ("user", "organization")
    list_filter = ("role", "is_available")
    search_fields = ("user__email", "user__last_name", "user__first_name")
    autocomplete_fields = ("user", "organization")

    def restrict(self, queryset: QuerySet, user: User) -> QuerySet:
        return queryset.filter(
            Q(organization_id=staff_organization_id(user))
            | _granted_on_my_programs(user)
            | _without_program_grants()
        )


class SuperuserManagedProfileAdmin(ScopedAdmin):
    """Profiles whose joining grants groups: only a superuser adds or changes them."""

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)


@admin.register(ClientUser)
class ClientUserAdmin(SuperuserManagedProfileAdmin):
    scope = "custom"
    list_display = ("user", "organization", "job_title")
    list_select_related = ("user", "organization")
    search_fields = ("user__email", "user__last_name", "organization__name")
    autocomplete_fields = ("user", "organization")

    def restrict(self, queryset: QuerySet, user: User) -> QuerySet:
        sponsors = staff_programs(user).values("sponsor_id")
        return queryset.filter(organization_id__in=sponsors)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            client_user_join(actor=request.user, client=obj)


@admin.register(ProviderStaff)
class ProviderStaffAdmin(SuperuserManagedProfileAdmin):
    scope = "custom"
    list_display = ("user", "organization", "function")
    list_select_related = ("user", "organization")
    list_filter = ("function",)
    search_fields = ("user__email", "user__last_name")
    autocomplete_fields = ("user", "organization")

    def restrict(self, queryset: QuerySet, user: User) -> QuerySet:
        return queryset.filter(organization_id=staff_organization_id(user))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            provider_staff_join(actor=request.user, staff=obj)
