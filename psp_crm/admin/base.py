"""The base of every admin class: querysets, choices and reads scoped by the access policy.

Provider staff who are not superusers see only what ``psp_crm.access`` lets them manage: their
provider's programs and the patients enrolled in them. Each admin declares *how* its model hangs
off that scope (``scope`` and ``scope_path``); the mixin applies it to the changelist, the change
page (an object out of scope is the same as a missing one), autocomplete and every foreign-key
choice, so no admin page can forget a check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Literal

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from .. import access
from ..errors import DomainError
from ..models import Patient, User
from ..services.audit import audit_patient_read

Scope = Literal["catalog", "program", "enrolment", "patient", "custom"]

# How many per-object error messages an admin action shows before summarising the rest.
MAX_ACTION_MESSAGES = 5


def staff_programs(user: User) -> QuerySet:
    """Programs a staff member manages (every program for a superuser)."""
    return access.programs_for(user, "manage_program")


def staff_enrolments(user: User) -> QuerySet:
    """Enrolments of the programs a staff member manages."""
    return access.enrolments_for(user, role="provider_staff")


def staff_patients(user: User) -> QuerySet:
    """Patients enrolled in the programs a staff member manages."""
    return access.patients_for(user, role="provider_staff")


def staff_organization_id(user: User) -> int | None:
    """The provider a staff member works for, if they have a provider-staff profile."""
    profile = getattr(user, "provider_staff_profile", None)
    return profile.organization_id if profile is not None else None


def error_text(exc: Exception) -> str:
    """One human sentence out of a domain error or an access refusal."""
    if isinstance(exc, DomainError):
        return " ".join(str(m) for m in exc.messages)
    return str(exc) or str(_("You may not do this."))


def adopt(target: models.Model, saved: models.Model) -> None:
    """Make the admin's unsaved instance the row a service created (so inlines and m2m follow)."""
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


def program_filter(
    path: str, title: str | None = None, *, multi_valued: bool = False
) -> type[admin.SimpleListFilter]:
    """A list filter offering only the programs the user manages (never other providers').

    ``multi_valued`` paths (a patient's enrolments) filter through a subquery so that a row
    matching twice is still listed once.
    """

    class ProgramFilter(admin.SimpleListFilter):
        parameter_name = "program"

        def lookups(self, request, model_admin):
            programs = staff_programs(request.user).order_by("code").values_list("pk", "code")
            return [(str(pk), code) for pk, code in programs]

        def queryset(self, request, queryset):
            value = self.value()
            if not (value and value.isdigit()):
                return queryset
            if multi_valued:
                matching = queryset.model._default_manager.filter(**{path: int(value)})
                return queryset.filter(pk__in=matching.values("pk"))
            return queryset.filter(**{path: int(value)})

    ProgramFilter.title = title or _("program")
    return ProgramFilter


class LargeTablePaginator(Paginator):
    """Counts exactly, except an unfiltered list of a huge PostgreSQL table: there the planner's
    estimate stands in for a COUNT(*) that would scan tens of millions of rows per page view."""

    ESTIMATE_ABOVE = 500_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, QuerySet) and not queryset.query.where:
            connection = connections[queryset.db]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                        [queryset.model._meta.db_table],
                    )
                    row = cursor.fetchone()
                if row and row[0] > self.ESTIMATE_ABOVE:
                    return int(row[0])
        return super().count


class ScopedMixin:
    """Scopes querysets and foreign-key choices by the access policy; shared by admins and inlines.

    ``scope`` says what the model hangs off:
      - ``catalog``: shared reference data, visible to every staff member;
      - ``program``: ``<scope_path>`` is a program (``pk`` for Program itself);
      - ``enrolment``: ``<scope_path>`` is an enrolment;
      - ``patient``: ``<scope_path>`` is a patient;
      - ``custom``: the admin overrides :meth:`restrict`.
    """

    scope: ClassVar[Scope | None] = None
    scope_path: ClassVar[str] = ""

    def restrict(self, queryset: QuerySet, user: User) -> QuerySet:
        """Narrow ``queryset`` to what a non-superuser staff member may see."""
        if self.scope == "catalog":
            return queryset
        if self.scope == "program":
            path = self.scope_path or "program"
            return queryset.filter(**{f"{path}__in": staff_programs(user)})
        if self.scope == "enrolment":
            path = self.scope_path or "enrolment"
            return queryset.filter(**{f"{path}__in": staff_enrolments(user)})
        if self.scope == "patient":
            path = self.scope_path or "patient"
            return queryset.filter(**{f"{path}__in": staff_patients(user)})
        raise ImproperlyConfigured(f"{type(self).__name__} declares no access scope.")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)  # type: ignore[misc]
        if request.user.is_superuser:
            return queryset
        if not request.user.is_active or not request.user.is_staff:
            return queryset.none()
        return self.restrict(queryset, request.user)

    def _scoped_choices(self, db_field: models.Field, request: HttpRequest, kwargs: dict) -> None:
        # A hand-crafted POST must not attach another provider's patient or program: offer and
        # accept only what the related model's admin would show this user.
        if request.user.is_superuser or "queryset" in kwargs:
            return
        related_admin = self.admin_site._registry.get(db_field.related_model)  # type: ignore[attr-defined]
        if isinstance(related_admin, ScopedMixin):
            kwargs["queryset"] = related_admin.get_queryset(request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        self._scoped_choices(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        self._scoped_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]


class ScopedAdmin(ScopedMixin, admin.ModelAdmin):
    """The base ModelAdmin: scoped querysets, domain errors shown as messages, audited reads."""

    # Path from the object to the patient whose record a change page shows (audited reads).
    audit_patient_path: ClassVar[str | None] = None
    # Models with millions of rows: skip the second, unfiltered COUNT(*) of the changelist.
    show_full_result_count = False
    list_per_page = 50
    paginator = LargeTablePaginator

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            response = super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            # A service refused the save: its transaction is rolled back; say why, never a 500.
            self.message_user(request, error_text(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        if request.method == "GET" and object_id and self.audit_patient_path is not None:
            self._audit_read(request, object_id)
        return response

    def _audit_read(self, request: HttpRequest, object_id: str) -> None:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return
        patient: Any = obj
        for part in filter(None, self.audit_patient_path.split("__")):  # type: ignore[union-attr]
            patient = getattr(patient, part, None)
        if isinstance(patient, Patient):
            audit_patient_read(
                actor=request.user,
                patient=patient,
                portal="admin",
                obj=None if obj is patient else obj,
                request=request,
            )

    def run_service(
        self,
        request: HttpRequest,
        queryset: Iterable[models.Model],
        call: Callable[[models.Model], object],
        *,
        done_message: str,
    ) -> int:
        """Call a service on each selected object; refusals become error messages, not 500s."""
        done, errors = 0, []
        for obj in queryset:
            try:
                call(obj)
            except (DomainError, PermissionDenied) as exc:
                errors.append(f"{obj}: {error_text(exc)}")
            else:
                done += 1
        for text in errors[:MAX_ACTION_MESSAGES]:
            self.message_user(request, text, messages.ERROR)
        if len(errors) > MAX_ACTION_MESSAGES:
            more = len(errors) - MAX_ACTION_MESSAGES
            self.message_user(request, _("…and %(n)d more refused.") % {"n": more}, messages.ERROR)
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)
        return done


class ScopedTabularInline(ScopedMixin, admin.TabularInline):
    """An inline whose foreign-key choices are scoped like its parent's."""

    scope = "catalog"  # the parent page is already scoped; inlines narrow only their choices
    extra = 0


class ScopedStackedInline(ScopedMixin, admin.StackedInline):
    scope = "catalog"
    extra = 0


class ReadOnlyAdminMixin:
    """Append-only records: nobody adds, changes or deletes them through the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
