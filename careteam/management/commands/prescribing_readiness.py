"""Print the prescribing-readiness counts for a date: `manage.py prescribing_readiness --on 2027-01-01`."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from api.clock import practice_date
from careteam.readiness import readiness_worklist


class Command(BaseCommand):
    help = "Counts of patients on active treatment who can (and cannot) be prescribed on a date."

    def add_arguments(self, parser):
        parser.add_argument("--on", help="YYYY-MM-DD (default: today in the practice's time zone)")

    def handle(self, *args, **options):
        try:
            on = date.fromisoformat(options["on"]) if options["on"] else practice_date()
        except ValueError as exc:
            raise CommandError("--on takes a date as YYYY-MM-DD") from exc
        worklist = readiness_worklist(viewer=None, on=on)
        counts = worklist.counts()
        policy = worklist.policy
        totals = counts["totals"]
        out = self.stdout
        out.write(f"Prescribing readiness on {on.isoformat()}")
        out.write(
            f"Policy in force: from {policy.effective_from}; telemedicine flexibilities end "
            f"{policy.telemedicine_flexibility_ends_on}"
        )
        out.write(
            f"Patients on active treatment: {totals['total']}  ready: {totals['ready']}  "
            f"not ready: {totals['not_ready']}"
        )
        out.write("By state:")
        for row in counts["by_state"]:
            out.write(
                f"  {row['state']:<8} total {row['total']:>5}  ready {row['ready']:>5}  not ready {row['not_ready']:>5}"
            )
        out.write("By physician:")
        for row in counts["by_physician"]:
            out.write(
                f"  {row['physician_name']:<28} total {row['total']:>5}  ready {row['ready']:>5}  "
                f"not ready {row['not_ready']:>5}"
            )
