import os
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings as django_settings

from billing.models import Invoice, Subscription
from billing.services.standing import patient_good_standing
from tests.factories import PatientUserFactory


@pytest.mark.django_db
def test_demo_seed_gives_demo_patients_memberships_and_is_idempotent():
    from seeds.demo import billing as step

    active = PatientUserFactory(email="alex@demo.practice.example")
    overdue = PatientUserFactory(email="pastdue.pat@demo.practice.example")
    prospect = PatientUserFactory(email="prospect.paula@demo.practice.example")
    PatientUserFactory(email="real.person@example.test")
    step.run(StringIO())
    step.run(StringIO())
    assert Subscription.objects.count() == 2
    assert Invoice.objects.count() == 6
    assert patient_good_standing(patient=active).status == "active"
    assert patient_good_standing(patient=overdue).status == "past_due_in_grace"
    assert patient_good_standing(patient=prospect).status == "none"


def _import_settings(**env):
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base", **env}
    return subprocess.run(
        [sys.executable, "-c", "import config.settings.base"],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
    )


def test_billing_enabled_but_half_configured_refuses_to_start():
    result = _import_settings(BILLING_ENABLED="true", STRIPE_SECRET_KEY="sk_test_x", STRIPE_PRICE_ID="")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "STRIPE_PRICE_ID" in result.stderr and "STRIPE_WEBHOOK_SECRET" in result.stderr


def test_billing_enabled_and_fully_configured_starts():
    result = _import_settings(
        BILLING_ENABLED="true",
        STRIPE_SECRET_KEY="sk_test_x",
        STRIPE_PUBLISHABLE_KEY="pk_test_x",
        STRIPE_WEBHOOK_SECRET="whsec_x",
        STRIPE_PRICE_ID="price_x",
    )
    assert result.returncode == 0, result.stderr
