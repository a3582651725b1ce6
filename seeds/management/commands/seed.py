"""Load demo data: `manage.py seed`. Safe to run again (every step is get-or-create).

Each app contributes one step in seeds/demo/<app>.py (a `run(stdout)` function); steps run in
the apps' dependency order. Demo accounts share one password, printed at the end.
"""

import importlib

from django.core.management.base import BaseCommand
from django.db import transaction

# Billing runs after patients: its step gives the demo patients their memberships.
STEPS = [
    "accounts",
    "practice",
    "patients",
    "billing",
    "scheduling",
    "prescriptions",
    "treatment",
    "outcomes",
    "notifications",
    "messaging",
    "interop",
]


class Command(BaseCommand):
    help = "Load demo data for local development (idempotent)."

    def handle(self, *args, **options):
        from seeds.demo import DEMO_PASSWORD

        for name in STEPS:
            try:
                module = importlib.import_module(f"seeds.demo.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"seeds.demo.{name}":
                    raise
                continue
            self.stdout.write(f"seeding {name} ...")
            with transaction.atomic():
                module.run(self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded. Every demo account's password: {DEMO_PASSWORD}"))
