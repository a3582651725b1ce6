"""Give every existing staff account its sub-role: care coordinator, as all staff were until now,
except the demo seed's pharmacy liaison (docs/roles-and-access.md#existing-accounts)."""

from django.db import migrations

DEMO_PHARMACY_LIAISON = "pharmacy@demo.practice.example"


def forwards(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    staff = User.objects.filter(role="staff", staff_role="")
    staff.filter(email=DEMO_PHARMACY_LIAISON).update(staff_role="pharmacy_liaison")
    staff.exclude(email=DEMO_PHARMACY_LIAISON).update(staff_role="care_coordinator")


def backwards(apps, schema_editor):
    apps.get_model("accounts", "User").objects.filter(role="staff").update(staff_role="")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_user_staff_role")]

    operations = [migrations.RunPython(forwards, backwards)]
