"""Health endpoints (docs/deploying.md#health). No DNS or mail checks (offline), no data in answers.

* /livez: the process is up and serving (Kubernetes livenessProbe: restart only a wedged process,
  never because a dependency is down, which a restart would not fix).
* /readyz: database, broker, cache answer and every migration is applied (readinessProbe: take the
  pod out of the load balancer until it can serve).
* /healthz: database and broker, as before (docker-compose's healthcheck).
"""

from __future__ import annotations

import logging
import uuid

from celery import current_app
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.http import JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

# Once a process has seen every migration applied it stays so (a process runs one version of the
# code), so the migration graph is loaded once, not on every probe.
_migrations_applied = False


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_broker() -> str:
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _check_cache() -> str:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    value = cache.get(key)
    cache.delete(key)
    return "ok" if value == "1" else "unavailable"


def _check_migrations() -> str:
    global _migrations_applied
    if not _migrations_applied:
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            return "pending"
        _migrations_applied = True
    return "ok"


def _run(checks) -> JsonResponse:
    results: dict[str, str] = {}
    for name, check in checks:
        try:
            results[name] = check()
        except Exception as exc:  # any failure is "down"; the type is enough to diagnose
            logger.warning("health check %s failed: %s", name, type(exc).__name__)
            results[name] = "unavailable"
    healthy = all(v == "ok" for v in results.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": results}, status=200 if healthy else 503
    )


@require_GET
def healthz(request):
    return _run((("database", _check_database), ("broker", _check_broker)))


@require_GET
def livez(request):
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request):
    return _run(
        (
            ("database", _check_database),
            ("broker", _check_broker),
            ("cache", _check_cache),
            ("migrations", _check_migrations),
        )
    )
