"""/livez, /readyz and /metrics (docs/deploying.md#health, #metrics)."""

from __future__ import annotations

import pytest

from api import health

pytestmark = pytest.mark.django_db


def test_livez_says_the_process_is_up_and_checks_nothing(anon_client, monkeypatch):
    def broken():
        raise ConnectionError("down")

    monkeypatch.setattr(health, "_check_database", broken)
    response = anon_client.get("/livez")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_checks_database_broker_cache_and_migrations(anon_client):
    response = anon_client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "cache": "ok", "migrations": "ok"},
    }


@pytest.mark.parametrize("check", ["_check_database", "_check_broker", "_check_cache"])
def test_readyz_is_503_when_a_dependency_is_down(anon_client, monkeypatch, check):
    def broken():
        raise ConnectionError("secret-host:6379 refused")

    monkeypatch.setattr(health, check, broken)
    response = anon_client.get("/readyz")
    assert response.status_code == 503
    assert "unavailable" in response.json()["checks"].values()
    assert "secret-host" not in response.content.decode()


def test_readyz_is_503_while_a_migration_is_pending(anon_client, monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    monkeypatch.setattr(health, "_migrations_applied", False)
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("pending", False)])
    response = anon_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "pending"


def test_healthz_is_unchanged(anon_client):
    assert anon_client.get("/healthz").json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_metrics_is_404_without_the_token(anon_client, settings):
    settings.METRICS_TOKEN = ""
    assert anon_client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    assert anon_client.get("/metrics").status_code == 404
    assert anon_client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404


def test_metrics_with_the_token_has_latency_queue_depth_and_task_outcomes(anon_client, settings, patient):
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    anon_client.get(f"/api/v1/patients/{patient.public_id}/?email={patient.email}")
    anon_client.get("/livez")
    from notifications.tasks import outbox_sweep

    outbox_sweep.apply()
    response = anon_client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'practice_http_request_duration_seconds_count{method="GET",route="livez",status="2xx"}' in text
    for queue in ("default", "notifications", "integrations", "reports"):
        assert f'practice_celery_queue_depth{{queue="{queue}"}}' in text
    assert 'practice_celery_tasks_total{outcome="success",queue="-",task="notifications.tasks.outbox_sweep"}' in text
    # Route patterns only: no ids, no addresses, no query strings.
    assert str(patient.public_id) not in text and patient.email not in text and "?" not in text
