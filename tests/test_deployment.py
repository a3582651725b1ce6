"""No Docker engine runs here: check docker-compose.yml against what the code expects, and that
production settings refuse to start without real secrets."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_production_shaped_services():
    services = compose()["services"]
    assert set(services) == {"migrate", "web", "worker", "beat", "postgres", "redis"}
    images = {services[name].get("image") for name in ("migrate", "web", "worker", "beat")}
    assert images == {"practice-backend:latest"}, "migrate, web, worker and beat must share one image"
    for name in services:
        assert "healthcheck" in services[name], f"{name} has no healthcheck (or an explicit disable)"
    # The image's HEALTHCHECK probes HTTP: the processes without a web server say so.
    assert services["beat"]["healthcheck"] == {"disable": True}
    assert services["worker"]["healthcheck"]["test"][1:4] == ["celery", "-A", "config"]


def test_compose_migrates_once_before_web_worker_and_beat():
    services = compose()["services"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert "migrate" not in " ".join(services[name]["command"]), f"{name} must not migrate (replicas race)"


def test_compose_commands_match_the_code():
    services = compose()["services"]
    assert "config.wsgi:application" in " ".join(services["web"]["command"])
    assert services["web"]["command"][:3] == ["gunicorn", "-c", "config/gunicorn.conf.py"]
    assert (ROOT / "config" / "gunicorn.conf.py").exists()
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    from config.queues import QUEUES

    worker = services["worker"]["command"]
    assert set(worker[worker.index("--queues") + 1].split(",")) == set(QUEUES), "one compose worker eats every queue"
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    from config.celery import app

    assert app.main == "practice"


def test_compose_environment_provides_what_production_settings_require():
    services = compose()["services"]
    example = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#") and "=" in line
    }
    for name in ("migrate", "web", "worker", "beat"):
        provided = set(services[name]["environment"]) | example
        for required in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"):
            assert required in provided, f"{name} lacks {required}"
        assert services[name]["environment"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://")
        assert services[name]["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert "POSTGRES_PASSWORD" in example


def _production_check(env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"}}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.production", "VAR_DIR": "/tmp/practice-prod-check"})
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_production_refuses_to_start_without_secrets():
    result = _production_check(
        {"ALLOWED_HOSTS": "x", "DATABASE_URL": "postgres://u@h/d", "REDIS_URL": "redis://h:6379/0"}
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_a_weak_secret():
    result = _production_check(
        {
            "SECRET_KEY": "short",
            "ALLOWED_HOSTS": "x",
            "DATABASE_URL": "postgres://u@h/d",
            "REDIS_URL": "redis://h:6379/0",
        }
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be a real secret" in result.stderr


def test_production_passes_check_deploy_with_real_looking_secrets():
    result = _production_check(
        {
            "SECRET_KEY": "p" * 20 + "-Zx8!kq2#Lm9@Wv4$Rt7^Yb1&Nc6*Hd3(Jf5)Gs0",
            "ALLOWED_HOSTS": "practice.example.com",
            "DATABASE_URL": "postgres://u:p@db:5432/practice",
            "REDIS_URL": "redis://redis:6379/0",
            **REAL_ERX,
        }
    )
    assert result.returncode == 0, result.stdout + result.stderr


REAL_ERX = {
    "ERX_PROVIDER": "dosespot",
    "DOSESPOT_CLINIC_ID": "21",
    "DOSESPOT_CLINIC_KEY": "clinic-key",
    "DOSESPOT_USER_ID": "900",
    "DOSESPOT_SUBSCRIPTION_KEY": "subscription-key",
    "ERX_WEBHOOK_SECRET": "push-secret-0123456789abcdef0123",
}
PROD = {
    "SECRET_KEY": "p" * 20 + "-Zx8!kq2#Lm9@Wv4$Rt7^Yb1&Nc6*Hd3(Jf5)Gs0",
    "ALLOWED_HOSTS": "practice.example.com",
    "DATABASE_URL": "postgres://u:p@db:5432/practice",
    "REDIS_URL": "redis://redis:6379/0",
}


def test_production_refuses_the_sandbox_e_prescribing_vendor_unless_allowed_for_staging():
    refused = _production_check({**PROD, "ERX_PROVIDER": "sandbox"})
    assert refused.returncode != 0 and "ERX_PROVIDER=sandbox" in refused.stderr
    staging = _production_check({**PROD, "ERX_PROVIDER": "sandbox", "ERX_ALLOW_SANDBOX": "true"})
    assert staging.returncode == 0, staging.stdout + staging.stderr


def test_production_refuses_a_half_configured_dosespot():
    result = _production_check({**PROD, **REAL_ERX, "DOSESPOT_CLINIC_KEY": ""})
    assert result.returncode != 0 and "ERX_PROVIDER=dosespot needs" in result.stderr
