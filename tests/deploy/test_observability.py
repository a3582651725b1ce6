"""Production's JSON log lines, the Sentry scrubber, the database settings (docs/deploying.md)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import environ
import pytest
from django.core.exceptions import ImproperlyConfigured

from api.jsonlog import JsonFormatter, TaskIdLogFilter
from api.middleware import RequestIdLogFilter, _request_id
from config.database import PREPARE_ONLY_WHEN_ASKED, tune_postgres
from config.observability import SCRUBBED, scrub_event

ROOT = Path(__file__).resolve().parents[2]
PHI = "Alice Anders alice@example.test"


def _record(msg="order %s handed off", args=(42,), exc_info=None):
    record = logging.LogRecord("prescriptions", logging.ERROR, __file__, 1, msg, args, exc_info)
    RequestIdLogFilter().filter(record)
    TaskIdLogFilter().filter(record)
    return record


def test_a_json_line_carries_the_request_id_and_task_id():
    token = _request_id.set("req-abcdef12")
    try:
        line = json.loads(JsonFormatter().format(_record()))
    finally:
        _request_id.reset(token)
    assert line["message"] == "order 42 handed off"
    assert (line["request_id"], line["task_id"], line["level"], line["logger"]) == (
        "req-abcdef12",
        "-",
        "ERROR",
        "prescriptions",
    )


def test_a_json_line_of_a_task_carries_its_task_id():
    from celery import shared_task

    @shared_task(name="tests.deploy.log_probe")
    def probe():
        return json.loads(JsonFormatter().format(_record()))["task_id"]

    result = probe.apply(task_id="task-1234")
    assert result.get() == "task-1234"


def test_an_exception_is_logged_by_type_and_stack_never_its_message():
    try:
        raise ValueError(f"duplicate key value (email)=({PHI})")
    except ValueError:
        line = JsonFormatter().format(_record("order failed", (), sys.exc_info()))
    assert "Alice" not in line and "alice@" not in line
    parsed = json.loads(line)
    assert parsed["exc_type"] == "builtins.ValueError"
    assert any("test_observability.py" in frame for frame in parsed["stack"])


def test_production_settings_log_json():
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"LOG_FORMAT", "SENTRY_DSN"}},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "p" * 20 + "-Zx8!kq2#Lm9@Wv4$Rt7^Yb1&Nc6*Hd3(Jf5)Gs0",
        "ALLOWED_HOSTS": "practice.example.com",
        "DATABASE_URL": "postgres://u:p@db:5432/practice",
        "REDIS_URL": "redis://redis:6379/0",
        "ERX_PROVIDER": "sandbox",
        "ERX_ALLOW_SANDBOX": "true",
        "VAR_DIR": "/tmp/practice-prod-check",
    }
    code = (
        "import django, logging; django.setup(); from django.conf import settings as s; "
        "print(s.LOGGING['handlers']['console']['formatter'], s.CELERY_WORKER_HIJACK_ROOT_LOGGER, "
        "s.CELERY_BEAT_SCHEDULER, s.DATABASES['default']['OPTIONS']['options']); "
        "logging.getLogger('probe').warning('hello %s', 7)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "json",
        "False",
        "redbeat.RedBeatScheduler",
        *("-c", "statement_timeout=30000", "-c", "enable_memoize=off"),
    ]
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello 7" and line["request_id"] == "-"


def test_the_sentry_scrubber_keeps_types_and_frames_and_drops_what_could_quote_a_row():
    event = {
        "exception": {
            "values": [
                {
                    "type": "IntegrityError",
                    "value": f"Key (email)=({PHI}) already exists",
                    "stacktrace": {"frames": [{"filename": "patients/services.py", "lineno": 3, "vars": {"n": PHI}}]},
                }
            ]
        },
        "request": {
            "url": "https://practice.example.com/api/v1/patients/?q=Anders",
            "query_string": "q=Anders",
            "data": {"name": PHI},
            "cookies": {"sessionid": "x"},
            "headers": {"Authorization": "Bearer t", "X-Request-ID": "req-1", "Cookie": "x"},
        },
        "user": {"id": 7, "email": "alice@example.test", "ip_address": "203.0.113.9"},
        "breadcrumbs": {"values": [{"category": "query", "message": "SELECT 1", "data": {"params": [PHI]}}]},
        "extra": {"sys.argv": [PHI]},
    }
    scrubbed = scrub_event(event, {})
    assert "Alice" not in json.dumps(scrubbed) and "Anders" not in json.dumps(scrubbed)
    exc = scrubbed["exception"]["values"][0]
    assert exc["type"] == "IntegrityError" and exc["value"] == SCRUBBED
    assert exc["stacktrace"]["frames"] == [{"filename": "patients/services.py", "lineno": 3}]
    assert scrubbed["request"] == {
        "url": "https://practice.example.com/api/v1/patients/",
        "headers": {"X-Request-ID": "req-1"},
    }
    assert scrubbed["user"] == {"id": 7}


def test_sentry_starts_only_with_a_dsn_and_never_sends_default_pii(monkeypatch):
    import sentry_sdk

    from config.observability import init_sentry

    seen = {}
    monkeypatch.setattr(sentry_sdk, "init", lambda **kw: seen.update(kw))
    init_sentry(dsn="https://k@sentry.invalid/1", environment="staging", release="", traces_sample_rate=0.0)
    assert seen["send_default_pii"] is False and seen["include_local_variables"] is False
    assert seen["before_send"] is scrub_event
    names = {type(i).__name__ for i in seen["integrations"]}
    assert {"DjangoIntegration", "CeleryIntegration"} <= names


@pytest.fixture
def clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith("DATABASE_"):
            monkeypatch.delenv(key)
    return monkeypatch


PG = {"ENGINE": "django.db.backends.postgresql", "NAME": "practice"}


def test_database_default_is_a_persistent_connection_with_a_statement_timeout(clean_env):
    db = tune_postgres(dict(PG), env=environ.Env(), statement_timeout_ms=30_000)
    assert db["OPTIONS"] == {
        "connect_timeout": 5,
        "options": "-c statement_timeout=30000 -c enable_memoize=off",
        "prepare_threshold": PREPARE_ONLY_WHEN_ASKED,
    }
    assert "DISABLE_SERVER_SIDE_CURSORS" not in db


def test_database_pool_turns_persistent_connections_off(clean_env):
    clean_env.setenv("DATABASE_POOL", "true")
    clean_env.setenv("DATABASE_POOL_MAX_SIZE", "4")
    db = tune_postgres({**PG, "CONN_MAX_AGE": 60}, env=environ.Env(), statement_timeout_ms=0)
    assert db["CONN_MAX_AGE"] == 0
    assert db["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 4, "timeout": 10}
    assert db["OPTIONS"]["options"] == "-c enable_memoize=off"  # no timeout outside production


def test_database_sessions_plan_without_memoize_unless_asked(clean_env):
    """config/database.py: Memoize sized for the table, not the LIMIT, cost a page 0.7 ms."""
    db = tune_postgres(dict(PG), env=environ.Env(), statement_timeout_ms=0)
    assert "enable_memoize=off" in db["OPTIONS"]["options"]
    clean_env.setenv("DATABASE_MEMOIZE", "true")
    assert "options" not in tune_postgres(dict(PG), env=environ.Env(), statement_timeout_ms=0)["OPTIONS"]


@pytest.mark.django_db
def test_on_postgresql_the_session_has_memoize_off():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL session setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_memoize")
        assert cursor.fetchone()[0] == "off"


def test_database_prepares_only_the_statements_that_ask(clean_env):
    assert tune_postgres(dict(PG), env=environ.Env(), statement_timeout_ms=0)["OPTIONS"]["prepare_threshold"] == (
        PREPARE_ONLY_WHEN_ASKED
    )
    kept = tune_postgres({**PG, "OPTIONS": {"prepare_threshold": 5}}, env=environ.Env(), statement_timeout_ms=0)
    assert kept["OPTIONS"]["prepare_threshold"] == 5


def test_database_behind_pgbouncer_has_no_server_side_cursors_nor_prepared_statements(clean_env):
    clean_env.setenv("DATABASE_PGBOUNCER", "true")
    db = tune_postgres(dict(PG), env=environ.Env(), statement_timeout_ms=30_000)
    assert db["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert db["OPTIONS"]["prepare_threshold"] is None
    assert "options" not in db["OPTIONS"]  # PgBouncer refuses it: the role carries the timeout


def test_database_pool_and_pgbouncer_exclude_each_other(clean_env):
    clean_env.setenv("DATABASE_POOL", "true")
    clean_env.setenv("DATABASE_PGBOUNCER", "true")
    with pytest.raises(ImproperlyConfigured):
        tune_postgres(dict(PG), env=environ.Env(), statement_timeout_ms=0)


def test_sqlite_is_left_alone(clean_env):
    db = {"ENGINE": "django.db.backends.sqlite3", "NAME": "x"}
    assert tune_postgres(dict(db), env=environ.Env(), statement_timeout_ms=30_000) == db


@pytest.mark.django_db
def test_the_statement_timeout_reaches_postgresql(on_postgres):
    """A real connection made with the option: SHOW statement_timeout answers it."""
    import psycopg
    from django.db import connection

    params = dict(connection.get_connection_params())
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params["options"] = "-c statement_timeout=1234"
    with psycopg.connect(**params) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "1234ms"
