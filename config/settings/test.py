"""Tests: SQLite by default, or PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set (CI)."""

import os
from urllib.parse import urlsplit, urlunsplit

from .base import *  # noqa: F403
from .base import CACHES, REDIS_URL, REST_FRAMEWORK, STORAGES, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = env.str("SMS_BACKEND", default="locmem")
PUSH_BACKEND = env.str("PUSH_BACKEND", default="locmem")
# Tasks run in-process unless a test starts a real worker; on_commit hooks still apply.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
# Throttling is tested on purpose in its own tests; elsewhere it would make runs flaky.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {k: "100000/min" for k in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},
}
# Message attachments: kept in memory, nothing written to disk by a test run.
STORAGES = {**STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}

# Under pytest-xdist each worker caches in a Redis database of its own: a test's cache.clear()
# (FLUSHDB) or its throttle counts would otherwise reach the other worker's tests mid-test
# (seen: an availability budget test and the throttling test failing on PostgreSQL + Redis).
# Databases base + 3 + n (the worker-crash tests' brokers take base + 1 + n).
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _WORKER.startswith("gw"):
    _parts = urlsplit(REDIS_URL)
    _db = (int(_parts.path.strip("/") or 0) + 3 + int(_WORKER[2:])) % 16
    CACHES = {"default": {**CACHES["default"], "LOCATION": urlunsplit(_parts._replace(path=f"/{_db}"))}}
