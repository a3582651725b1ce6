"""The medical director edits the clinical policy tables in the admin: the intake and monitoring
thresholds (patients.ClinicalPolicy) beside the prescribing and treatment policies
(docs/policy.md)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    ("patients", "clinicalpolicy"): ("view", "add", "change"),
    ("treatment", "treatmentpolicy"): ("view", "add", "change"),
}


def forwards(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = {(app, f"{action}_{model}") for (app, model), actions in GRANTS.items() for action in actions}
    permissions = [
        p for p in Permission.objects.select_related("content_type") if (p.content_type.app_label, p.codename) in wanted
    ]
    assert len(permissions) == len(wanted), "missing permissions"
    group, _ = Group.objects.get_or_create(name="Medical director")
    group.permissions.add(*permissions)


def backwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Medical director").first()
    if group is not None:
        codenames = [f"{action}_{model}" for (_app, model), actions in GRANTS.items() for action in actions]
        group.permissions.remove(*Permission.objects.filter(codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("seeds", "0001_staff_admin_groups"),
        ("patients", "0007_clinical_policy"),
        ("treatment", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
