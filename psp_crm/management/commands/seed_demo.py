"""``manage.py seed_demo [--crowd N] [--force]``: build DEMO.md's world, once."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.utils import timezone

from psp_crm import models as m
from psp_crm.demo.crowd import build_crowd
from psp_crm.demo.world import DEMO_ACCOUNTS, DemoWorldConflict, build_world, demo_world_state
from psp_crm.scheduling.engine import materialize

COUNTED: tuple[type[models.Model], ...] = (
    m.Organization,
    m.Product,
    m.ServiceModule,
    m.ProgramTemplate,
    m.Program,
    m.CarePathwayStep,
    m.User,
    m.ProviderStaff,
    m.ClientUser,
    m.Doctor,
    m.Operator,
    m.Caregiver,
    m.Delegation,
    m.Patient,
    m.Enrolment,
    m.Consent,
    m.Activity,
    m.DiaryEntry,
    m.Device,
    m.DeviceEvent,
    m.Interaction,
    m.Case,
    m.Report,
    m.AdverseEvent,
    m.Message,
    m.PointsAward,
    m.BadgeAward,
    m.AuditEvent,
)


def _counts() -> dict[str, int]:
    return {model._meta.verbose_name_plural: model.objects.count() for model in COUNTED}


class Command(BaseCommand):
    """Seed the demo world of DEMO.md (accounts, programs, history, crowd); idempotent."""

    help = (
        "Create the demo world of DEMO.md: its accounts (password settings.PSP_DEMO_PASSWORD), "
        "organizations, programs, catalog, named patients with history, and a background crowd. "
        "Does nothing when the demo world is already present; never touches non-demo data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--crowd",
            type=int,
            default=300,
            help="Number of background patients (default 300).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even though DEBUG is off (the demo password is public).",
        )

    def handle(self, *args, crowd: int = 300, force: bool = False, **options) -> None:
        verbosity = options.get("verbosity", 1)
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off, so this looks like a real deployment: seed_demo creates accounts "
                "with a public password and refuses to run. Pass --force if you really mean it."
            )
        if crowd < 0:
            raise CommandError("--crowd must be zero or a positive number of patients.")
        began = time.perf_counter()
        try:
            state = demo_world_state()
        except DemoWorldConflict as exc:
            raise CommandError(str(exc)) from exc
        if state == "present":
            if verbosity >= 1:
                self.stdout.write("demo world already present: nothing to do.")
                self._accounts_table()
            return

        before = _counts()
        now = timezone.now()
        try:
            with transaction.atomic():
                world = build_world(now=now)
                build_crowd(world, crowd)
                # The crowd's history was bulk-written up to today: let the scheduling engine
                # fill every active enrolment's rolling horizon from here (idempotent).
                materialize(None, today=timezone.localdate(now))
        except (ValidationError, PermissionDenied) as exc:
            # A service refused part of the set-up: nothing was written (one transaction).
            raise CommandError(f"seed_demo stopped, nothing was written: {exc}") from exc
        elapsed = time.perf_counter() - began
        if verbosity >= 1:
            after = _counts()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Seeded the demo world with {crowd} background patients in {elapsed:.1f} s:"
                )
            )
            for name, total in after.items():
                created = total - before[name]
                if created:
                    self.stdout.write(f"  {created:>8,}  {name}")
            self._accounts_table()

    def _accounts_table(self) -> None:
        width = max(len(a.email) for a in DEMO_ACCOUNTS)
        self.stdout.write(f"\nDemo accounts (password: {settings.PSP_DEMO_PASSWORD}):")
        for account in DEMO_ACCOUNTS:
            self.stdout.write(f"  {account.email:<{width}}  {account.role}")
