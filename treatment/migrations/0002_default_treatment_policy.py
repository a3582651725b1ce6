"""The first treatment policy row (docs/treatment.md#policy), effective from the start of 2025."""

from datetime import date

from django.db import migrations

FIRST_EFFECTIVE = date(2025, 1, 1)


def create_default_policy(apps, schema_editor):
    TreatmentPolicy = apps.get_model("treatment", "TreatmentPolicy")
    TreatmentPolicy.objects.get_or_create(
        effective_from=FIRST_EFFECTIVE,
        defaults={
            "session_auto_close_hours": 4,
            "default_sessions_per_week": 2,
            "check_in_window_hours": 4,
            "check_in_reminder_after_minutes": 120,
            "check_in_alert_after_minutes": 240,
            "dissociation_flag_at": 8,
            "urinary_symptoms_open_flag": True,
            "session_gap_days": 90,
            "refill_lead_days": 7,
            "note": "Initial policy (docs/treatment.md defaults).",
        },
    )


def remove_default_policy(apps, schema_editor):
    TreatmentPolicy = apps.get_model("treatment", "TreatmentPolicy")
    TreatmentPolicy.objects.filter(effective_from=FIRST_EFFECTIVE).delete()


class Migration(migrations.Migration):
    dependencies = [("treatment", "0001_initial")]

    operations = [migrations.RunPython(create_default_policy, remove_default_policy)]
