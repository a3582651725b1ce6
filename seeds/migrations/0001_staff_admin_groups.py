"""The admin site's group of each role, with its model permissions (docs/roles-and-access.md).

The same scopes as the API: the pharmacy liaison opens orders, shipments, pharmacies and the
catalogue; the care coordinator scheduling, the review queues, billing standing, flags, orders
and credentials; the medical director the policy tables, credentials and every clinical record;
the administrator users, groups and the audit trail, and nobody else users or groups. A user
gets their role's group's permissions through accounts.backends.RoleGroupBackend; which rows a
page lists is still the role's scope (accounts.admin_mixins.ScopedAdminMixin).

In the `seeds` app because it names models of every app (this app sits on top of all of them).
A model added later joins a group by a later migration.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

V, A, C, D = "view", "add", "change", "delete"
VIEW, EDIT = (V,), (V, A, C)

CREDENTIALS = {
    ("practice", "physicianprofile"): EDIT,
    ("practice", "statelicense"): EDIT,
    ("practice", "dearegistration"): EDIT,
    ("practice", "njcdsregistration"): EDIT,
    ("practice", "credentialchange"): VIEW,
    ("practice", "credentialexpirynotice"): VIEW,
    ("practice", "county"): VIEW,
}
CATALOGUE = {("prescriptions", "medicationproduct"): EDIT}
ORDERS = {
    ("prescriptions", "deliveryorder"): VIEW,
    ("prescriptions", "orderevent"): VIEW,
    ("prescriptions", "pharmacy"): VIEW,
    ("prescriptions", "pharmacystatelicence"): VIEW,
}

GROUPS = {
    "Care coordinator": {
        ("scheduling", "appointment"): VIEW,
        ("scheduling", "appointmenttype"): VIEW,
        ("scheduling", "weeklyavailability"): VIEW,
        ("scheduling", "availabilityexception"): VIEW,
        ("scheduling", "freeconsultationgrant"): EDIT,
        ("scheduling", "reminder"): VIEW,
        ("patients", "patientprofile"): VIEW,
        ("patients", "assessment"): VIEW,
        ("patients", "consentdocument"): VIEW,
        ("patients", "consentsignature"): VIEW,
        ("patients", "safetyflag"): VIEW,
        ("billing", "stripecustomer"): VIEW,
        ("billing", "subscription"): VIEW,
        ("billing", "invoice"): VIEW,
        **ORDERS,
        **CATALOGUE,
        **CREDENTIALS,
    },
    "Pharmacy liaison": {
        **ORDERS,
        ("prescriptions", "pharmacy"): EDIT,
        ("prescriptions", "pharmacystatelicence"): (V, A, C, D),
        **CATALOGUE,
    },
    "Medical director": {
        ("prescriptions", "prescribingpolicy"): EDIT,
        ("scheduling", "appointmenttype"): (V, C),
        ("scheduling", "appointment"): VIEW,
        ("patients", "patientprofile"): VIEW,
        ("patients", "assessment"): VIEW,
        ("patients", "consentdocument"): VIEW,
        ("patients", "consentsignature"): VIEW,
        ("patients", "questionnaireresponse"): VIEW,
        ("patients", "vitalreading"): VIEW,
        ("patients", "presessioncheck"): VIEW,
        ("patients", "safetyflag"): VIEW,
        ("patients", "alertdelivery"): VIEW,
        ("prescriptions", "prescription"): VIEW,
        ("prescriptions", "signingattempt"): VIEW,
        ("prescriptions", "pdmpcheck"): VIEW,
        ("prescriptions", "refillrequest"): VIEW,
        ("prescriptions", "pharmacy"): VIEW,
        **CATALOGUE,
        **CREDENTIALS,
    },
    "Administrator": {
        ("accounts", "user"): EDIT,
        ("accounts", "auditevent"): VIEW,
        ("auth", "group"): (V, A, C, D),
        ("auth", "permission"): VIEW,
    },
}


def forwards(apps, schema_editor):
    # Permissions are otherwise created after the whole migrate run; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in GROUPS.items():
        wanted = {(app, f"{action}_{model}") for (app, model), actions in grants.items() for action in actions}
        permissions = [
            p
            for p in Permission.objects.select_related("content_type")
            if (p.content_type.app_label, p.codename) in wanted
        ]
        missing = wanted - {(p.content_type.app_label, p.codename) for p in permissions}
        assert not missing, f"{name}: no such permissions {sorted(missing)}"
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions)


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(GROUPS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0005_existing_staff_sub_roles"),
        ("billing", "0001_initial"),
        ("patients", "0002_load_consent_documents"),
        ("practice", "0004_expiry_notice_sent_at"),
        ("prescriptions", "0003_delivery_order_newest_first_index"),
        ("scheduling", "0004_reminder_claimed_by"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
