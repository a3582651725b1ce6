"""Compute the caseload's stored rows again (docs/caseload.md#rebuild): after a deploy that
changes a column, after bulk writes that bypassed the services (imports, SQL), or to warm the rows
of a generated practice. Idempotent; safe while the practice is in use.

    manage.py caseload_rebuild                       # every caseload
    manage.py caseload_rebuild --physician <public id or email>
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role, User
from scheduling import caseload


class Command(BaseCommand):
    help = "Recompute the caseload read model (every physician's, or one's with --physician)."

    def add_arguments(self, parser):
        parser.add_argument("--physician", help="The physician's public id or email (default: every caseload).")
        parser.add_argument("--batch", type=int, default=200, help="Patients computed together (default 200).")

    def handle(self, *args, **options):
        physician = None
        if options["physician"]:
            key = options["physician"]
            lookup = {"email__iexact": key} if "@" in key else {"public_id": key}
            try:
                physician = User.objects.get(role=Role.PHYSICIAN, **lookup)
            except (User.DoesNotExist, ValueError) as exc:
                raise CommandError(f"no physician {key!r}") from exc
        stored = caseload.rebuild(physician=physician, batch=max(options["batch"], 1), progress=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"caseload rebuilt: {stored} rows"))
