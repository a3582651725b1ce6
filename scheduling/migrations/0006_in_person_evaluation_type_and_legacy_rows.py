"""Data: the in-person evaluation appointment type, and the in-person evaluations documented
before this app kept them (they were rows of prescriptions.InPersonEvaluation, which carried no
place: the copy says so rather than inventing one)."""

from django.db import migrations
from django.utils import timezone

LEGACY_PLACE = "Not recorded (documented before places were kept)"


def create_type(apps, schema_editor):
    AppointmentType = apps.get_model("scheduling", "AppointmentType")
    AppointmentType.objects.get_or_create(
        code="in_person_evaluation",
        defaults={
            "name": "In-person evaluation",
            "duration_minutes": 60,
            "buffer_minutes": 15,
            "requires_subscription": True,
            "in_person": True,
        },
    )


def delete_type(apps, schema_editor):
    AppointmentType = apps.get_model("scheduling", "AppointmentType")
    Appointment = apps.get_model("scheduling", "Appointment")
    used = Appointment.objects.filter(appointment_type__code="in_person_evaluation").exists()
    if not used:
        AppointmentType.objects.filter(code="in_person_evaluation").delete()


def copy_legacy(apps, schema_editor):
    Old = apps.get_model("prescriptions", "InPersonEvaluation")
    New = apps.get_model("scheduling", "InPersonEvaluation")
    Profile = apps.get_model("patients", "PatientProfile")
    states = dict(Profile.objects.values_list("user_id", "state"))
    for row in Old.objects.all():
        state = states.get(row.patient_id) if states.get(row.patient_id) in ("FL", "NJ") else "FL"
        New.objects.create(
            patient_id=row.patient_id,
            physician_id=row.physician_id,
            evaluated_on=row.evaluated_on,
            source="recorded",
            place_address=LEGACY_PLACE,
            place_state=state,
            attested_by_id=row.documented_by_id,
            attested_at=row.created_at or timezone.now(),
            created_at=row.created_at or timezone.now(),
        )


def copy_back(apps, schema_editor):
    Old = apps.get_model("prescriptions", "InPersonEvaluation")
    New = apps.get_model("scheduling", "InPersonEvaluation")
    for row in New.objects.filter(source="recorded"):
        Old.objects.create(
            patient_id=row.patient_id,
            physician_id=row.physician_id,
            evaluated_on=row.evaluated_on,
            documented_by_id=row.attested_by_id,
            created_at=row.created_at,
        )
    New.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0005_visit_locations_and_in_person_evaluations"),
        ("prescriptions", "0003_delivery_order_newest_first_index"),
        ("patients", "0002_load_consent_documents"),
    ]

    operations = [
        migrations.RunPython(create_type, delete_type),
        migrations.RunPython(copy_legacy, copy_back),
    ]
