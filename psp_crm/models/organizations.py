"""Organizations of the PSP ecosystem and the products (drugs) programs support."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Organization(models.Model):
    """A company or institution of the ecosystem: provider, pharma, hospital, partner."""

    class Kind(models.TextChoices):
        PROVIDER = "provider", _("PSP provider")
        PHARMA = "pharma", _("Pharma company")
        HOSPITAL = "hospital", _("Hospital")
        PHARMACY = "pharmacy", _("Pharmacy")
        LOGISTICS = "logistics", _("Logistics partner")
        LAB = "lab", _("Laboratory")

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, db_index=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, default="IT")
    vat_number = models.CharField(_("VAT number"), max_length=32, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Product(models.Model):
    """A drug supported by one or more programs."""

    class Form(models.TextChoices):
        INFUSION = "infusion", _("Infusion")
        INJECTION = "injection", _("Self-injection")
        TABLET = "tablet", _("Tablet")
        CAPSULE = "capsule", _("Capsule")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=200)
    atc_code = models.CharField(_("ATC code"), max_length=10, blank=True)
    form = models.CharField(_("form"), max_length=20, choices=Form.choices)
    manufacturer = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="products",
        verbose_name=_("manufacturer"),
    )
    default_dose = models.CharField(_("default dose"), max_length=100, blank=True)
    default_frequency = models.CharField(
        _("default frequency"), max_length=100, blank=True, help_text=_("e.g. every 4 weeks")
    )
    requires_cold_chain = models.BooleanField(_("requires cold chain"), default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["manufacturer", "name"], name="product_unique_per_maker"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.atc_code})" if self.atc_code else self.name
