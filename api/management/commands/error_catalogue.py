from django.core.management.base import BaseCommand, CommandError

from api.error_catalogue import CATALOGUE_PATH, render


class Command(BaseCommand):
    help = "Write docs/errors.md, the error-code catalogue generated from the code (--check: fail if stale)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Fail instead of writing when the page is stale.")

    def handle(self, *args, check=False, **options):
        text = render()
        current = CATALOGUE_PATH.read_text() if CATALOGUE_PATH.exists() else ""
        if check:
            if current != text:
                raise CommandError("docs/errors.md is stale: run `python manage.py error_catalogue`.")
            self.stdout.write("docs/errors.md is up to date.")
            return
        CATALOGUE_PATH.write_text(text)
        self.stdout.write(f"wrote {CATALOGUE_PATH}")
