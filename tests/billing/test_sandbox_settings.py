"""Which billing provider each environment gets, and production refusing the sandbox."""

import os
import subprocess
import sys

from django.conf import settings as django_settings

PROD = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "p" * 20 + "-Zx8!kq2#Lm9@Wv4$Rt7^Yb1&Nc6*Hd3(Jf5)Gs0",
    "ALLOWED_HOSTS": "practice.example.com",
    "DATABASE_URL": "postgres://u:p@db:5432/practice",
    "REDIS_URL": "redis://redis:6379/0",
    "VAR_DIR": "/tmp/practice-billing-settings-check",
    "ERX_PROVIDER": "sandbox",
    "ERX_ALLOW_SANDBOX": "true",
}
_BILLING_ENV = ("BILLING_PROVIDER", "BILLING_ENABLED", "BILLING_ALLOW_SANDBOX", "STRIPE_SECRET_KEY")


def _provider(**env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in _BILLING_ENV and k not in PROD}
    code = "from django.conf import settings; print(settings.BILLING_PROVIDER, settings.BILLING_ENABLED)"
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=django_settings.BASE_DIR,
        env={"DJANGO_SETTINGS_MODULE": "config.settings.local", **base, **env},
        capture_output=True,
        text=True,
    )


def test_local_and_the_demo_default_to_the_sandbox_without_stripe_keys():
    result = _provider()
    assert result.stdout.split() == ["sandbox", "True"], result.stderr


def test_the_older_billing_enabled_flag_still_means_stripe_or_off():
    assert _provider(BILLING_ENABLED="false").stdout.split() == ["off", "False"]


def test_production_without_stripe_keys_is_off_not_the_sandbox():
    result = _provider(**PROD)
    assert result.stdout.split() == ["off", "False"], result.stderr


def test_production_refuses_the_sandbox_unless_allowed_for_staging():
    refused = _provider(**PROD, BILLING_PROVIDER="sandbox")
    assert refused.returncode != 0 and "BILLING_PROVIDER=sandbox is a simulation" in refused.stderr
    staging = _provider(**PROD, BILLING_PROVIDER="sandbox", BILLING_ALLOW_SANDBOX="true")
    assert staging.stdout.split() == ["sandbox", "True"], staging.stderr


def test_an_unknown_provider_refuses_to_start():
    result = _provider(BILLING_PROVIDER="paypal")
    assert result.returncode != 0 and "BILLING_PROVIDER must be" in result.stderr
