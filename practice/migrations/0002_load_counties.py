"""Load the service area's 88 counties (67 Florida, 21 New Jersey) from seeds/data/counties.csv."""

import csv
from pathlib import Path

from django.db import migrations

COUNTIES_CSV = Path(__file__).resolve().parents[2] / "seeds" / "data" / "counties.csv"


def load_counties(apps, schema_editor):
    County = apps.get_model("practice", "County")
    with COUNTIES_CSV.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            County.objects.update_or_create(fips=row["fips"], defaults={"name": row["name"], "state": row["state"]})


def unload_counties(apps, schema_editor):
    County = apps.get_model("practice", "County")
    with COUNTIES_CSV.open(newline="", encoding="utf-8") as fh:
        County.objects.filter(fips__in=[row["fips"] for row in csv.DictReader(fh)]).delete()


class Migration(migrations.Migration):
    dependencies = [("practice", "0001_initial")]

    operations = [migrations.RunPython(load_counties, unload_counties)]
