"""Data: the three appointment types with their default durations (staff change them in the admin)."""

from django.db import migrations

TYPES = [
    # code, name, duration, buffer, requires_subscription
    ("free_consultation", "Free consultation", 20, 10, False),
    ("follow_up", "Follow-up", 30, 10, True),
    ("medication_review", "Medication review", 20, 10, True),
]


def create_types(apps, schema_editor):
    AppointmentType = apps.get_model("scheduling", "AppointmentType")
    for code, name, duration, buffer, requires_subscription in TYPES:
        AppointmentType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "duration_minutes": duration,
                "buffer_minutes": buffer,
                "requires_subscription": requires_subscription,
            },
        )


def delete_types(apps, schema_editor):
    AppointmentType = apps.get_model("scheduling", "AppointmentType")
    Appointment = apps.get_model("scheduling", "Appointment")
    used = Appointment.objects.values("appointment_type_id")
    AppointmentType.objects.filter(code__in=[t[0] for t in TYPES]).exclude(pk__in=used).delete()


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [migrations.RunPython(create_types, delete_types)]
