"""Tests: SQLite by default, or PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set (CI)."""

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, STORAGES, env

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
