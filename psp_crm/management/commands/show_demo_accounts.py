"""Print where the product is served and the demo accounts with the portals they land in."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from psp_crm import access
from psp_crm.models import User

PORTAL_OF_ROLE = {
    "provider_staff": "/admin/",
    "client": "/client/",
    "doctor": "/doctor/",
    "operator": "/operator/",
    "patient": "/patient/",
    "caregiver": "/patient/",
}


class Command(BaseCommand):
    help = "Print the URL and the demo accounts (e-mail, roles, portals)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args, url: str, **options) -> None:
        # Background operators of the crowd have no usable password: they cannot sign in.
        users = [
            u
            for u in User.objects.filter(is_demo=True).order_by("email")
            if u.has_usable_password()
        ]
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"PSP CRM is starting on {url}"))
        if not users:
            self.stdout.write("No demo accounts: run `manage.py seed_demo`.")
            return
        self.stdout.write(f"Demo accounts (password for all: {settings.PSP_DEMO_PASSWORD}):")
        for user in users:
            roles = sorted(access.roles_of(user), key=access.ROLES.index)
            portals = sorted({PORTAL_OF_ROLE[r] for r in roles})
            self.stdout.write(f"  {user.email:<36} {', '.join(roles):<28} {' '.join(portals)}")
        self.stdout.write("")
