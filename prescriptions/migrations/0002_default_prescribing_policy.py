"""The first prescribing policy row: the defaults of docs/prescribing.md#limits, effective from the start of 2025."""

from datetime import date

from django.db import migrations

FIRST_EFFECTIVE = date(2025, 1, 1)


def create_default_policy(apps, schema_editor):
    PrescribingPolicy = apps.get_model("prescriptions", "PrescribingPolicy")
    PrescribingPolicy.objects.get_or_create(
        effective_from=FIRST_EFFECTIVE,
        defaults={
            "evaluation_window_days": 90,
            "telemedicine_flexibility_ends_on": date(2026, 12, 31),
            "require_in_person_after_flex_end": True,
            "fl_pdmp_max_age_days": 0,
            "nj_pdmp_interval_days": 90,
            "max_days_supply": 30,
            "max_refills": 5,
            "expiry_months": 6,
            "note": "Initial policy (the defaults of docs/prescribing.md#limits).",
        },
    )


def remove_default_policy(apps, schema_editor):
    PrescribingPolicy = apps.get_model("prescriptions", "PrescribingPolicy")
    PrescribingPolicy.objects.filter(effective_from=FIRST_EFFECTIVE).delete()


class Migration(migrations.Migration):
    dependencies = [("prescriptions", "0001_initial")]

    operations = [migrations.RunPython(create_default_policy, remove_default_policy)]
