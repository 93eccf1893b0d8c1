"""People: one login per person (e-mail identity) and a profile per role they play."""

from __future__ import annotations

import secrets

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .organizations import Organization

PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O/1/I: read aloud on the phone


def new_pseudonym() -> str:
    """A random, stable, non-identifying patient code such as ``PT-7KQ4-M2XD``."""
    raw = "".join(secrets.choice(PSEUDONYM_ALPHABET) for _ in range(8))
    return f"PT-{raw[:4]}-{raw[4:]}"


class UserManager(BaseUserManager):
    """Users are identified by e-mail."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """One login for one person; the roles they play hang off it as profiles."""

    username = None
    email = models.EmailField(_("e-mail address"), unique=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Europe/Rome")
    is_demo = models.BooleanField(_("demo account"), default=False, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    class Meta:
        ordering = ["email"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        full = self.get_full_name()
        return f"{full} <{self.email}>" if full else self.email


class Patient(models.Model):
    """A person enrolled (or referred) in one or more programs; identity lives only here."""

    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")
        OTHER = "X", _("Other / not stated")

    user = models.OneToOneField(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="patient_profile"
    )
    code = models.CharField(
        _("pseudonymous code"), max_length=16, unique=True, default=new_pseudonym, editable=False
    )
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.OTHER)
    fiscal_code = models.CharField(_("fiscal code"), max_length=16, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("contact e-mail"), blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    territory = models.CharField(
        _("territory"),
        max_length=50,
        blank=True,
        db_index=True,
        help_text=_("Area used to assign field operators"),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["last_name", "first_name"])]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} ({self.code})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Caregiver(models.Model):
    """A family member or helper who may act for patients under a delegation."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="caregiver_profile")
    relationship_note = models.CharField(_("relationship"), max_length=100, blank=True)

    def __str__(self) -> str:
        return f"Caregiver {self.user}"


class DelegationQuerySet(models.QuerySet):
    def active(self, at=None):
        at = at or timezone.now()
        return self.filter(revoked_at__isnull=True, valid_from__lte=at).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gt=at)
        )


class Delegation(models.Model):
    """A patient's grant letting a caregiver see and act for them, with limited rights."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="delegations")
    caregiver = models.ForeignKey(Caregiver, on_delete=models.CASCADE, related_name="delegations")
    relationship = models.CharField(_("relationship"), max_length=50, blank=True)
    can_log_diary = models.BooleanField(_("may log doses and symptoms"), default=False)
    can_send_reports = models.BooleanField(_("may send reports"), default=False)
    # The caregiver asked for e-mail copies of the patient's dose reminders and appointment
    # notices (her own inbox: only she turns them on; either of them may turn them off).
    receives_copies = models.BooleanField(_("receives copies by e-mail"), default=False)
    valid_from = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    granted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = DelegationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "caregiver"],
                condition=Q(revoked_at__isnull=True),
                name="one_open_delegation_per_pair",
            )
        ]
        indexes = [models.Index(fields=["caregiver", "revoked_at"])]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"{self.caregiver.user} → {self.patient.code} ({state})"


class Doctor(models.Model):
    """A prescribing specialist who refers patients and follows them."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="doctor_profile")
    specialty = models.CharField(_("specialty"), max_length=100)
    hospital = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="doctors"
    )
    licence_number = models.CharField(_("licence number"), max_length=32, blank=True)

    def __str__(self) -> str:
        return f"Dr. {self.user.get_full_name() or self.user.email} ({self.specialty})"


class Operator(models.Model):
    """A field or contact-centre professional who performs activities."""

    class Role(models.TextChoices):
        NURSE = "nurse", _("Nurse")
        PSYCHOLOGIST = "psychologist", _("Psychologist")
        DIETITIAN = "dietitian", _("Dietitian")
        NUTRITIONIST = "nutritionist", _("Nutritionist")
        PHYSIOTHERAPIST = "physiotherapist", _("Physiotherapist")
        PHARMACIST = "pharmacist", _("Pharmacist")
        COUNSELLOR = "counsellor", _("Contact-centre counsellor")
        LOGISTICS = "logistics", _("Logistics")

    # Roles that may read clinical data (diary, reports, adverse events) of their patients.
    CLINICAL_ROLES = frozenset(
        {
            "nurse",
            "psychologist",
            "dietitian",
            "nutritionist",
            "physiotherapist",
            "pharmacist",
            "counsellor",
        }
    )
    # Roles that see every patient of the programs they staff, not only assigned ones.
    PROGRAM_WIDE_ROLES = frozenset({"counsellor"})

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="operator_profile")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, db_index=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="operators"
    )
    territories = models.JSONField(_("territories"), default=list, blank=True)
    skills = models.JSONField(_("skills"), default=list, blank=True)
    weekly_capacity_hours = models.PositiveSmallIntegerField(
        _("weekly capacity (hours)"), default=36
    )
    is_available = models.BooleanField(_("available"), default=True)

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.email} ({self.get_role_display()})"

    @property
    def is_clinical(self) -> bool:
        return self.role in self.CLINICAL_ROLES


class ClientUser(models.Model):
    """A pharma company employee who follows the programs their company sponsors."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="client_profile")
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="client_users",
        limit_choices_to={"kind": Organization.Kind.PHARMA},
    )
    job_title = models.CharField(_("job title"), max_length=100, blank=True)

    def __str__(self) -> str:
        return f"{self.user.email} @ {self.organization.name}"


class ProviderStaff(models.Model):
    """An employee of the PSP provider: program manager, operations, quality."""

    class Function(models.TextChoices):
        PROGRAM_MANAGER = "program_manager", _("Program manager")
        OPERATIONS = "operations", _("Operations")
        QUALITY = "quality", _("Quality & pharmacovigilance")

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="provider_staff_profile"
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="staff",
        limit_choices_to={"kind": Organization.Kind.PROVIDER},
    )
    function = models.CharField(_("function"), max_length=20, choices=Function.choices)

    class Meta:
        verbose_name_plural = _("provider staff")

    def __str__(self) -> str:
        return f"{self.user.email} ({self.get_function_display()}, {self.organization.name})"
