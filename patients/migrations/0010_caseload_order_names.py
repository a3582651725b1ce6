"""The caseload's order on the patient profile: copies of the user's last and first name, filled
from the users here and kept by patients.signals, and an index that reads a physician's patients
in that order (docs/caseload.md#order)."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_names(apps, schema_editor):
    PatientProfile = apps.get_model("patients", "PatientProfile")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    user = User.objects.filter(pk=OuterRef("user_id"))
    PatientProfile.objects.update(
        user_last_name=Subquery(user.values("last_name")[:1]),
        user_first_name=Subquery(user.values("first_name")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0009_us_address_fields"),
        ("practice", "0005_physician_special_registration"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="patientprofile",
            name="user_first_name",
            field=models.CharField(blank=True, default="", editable=False, max_length=150),
        ),
        migrations.AddField(
            model_name="patientprofile",
            name="user_last_name",
            field=models.CharField(blank=True, default="", editable=False, max_length=150),
        ),
        migrations.RunPython(copy_names, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="patientprofile",
            index=models.Index(
                fields=["assigned_physician", "user_last_name", "user_first_name", "user"],
                name="profile_caseload_order",
            ),
        ),
    ]
