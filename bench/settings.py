"""Benchmark settings: production settings with dummy secrets, plus the floor route.

Production-like on purpose (DEBUG off, JSON renderer only, Redis cache, PostgreSQL, throttles on),
with only what a benchmark on 127.0.0.1 needs changed: no HTTPS redirect (plain HTTP on the
loopback), throttle rates high enough not to refuse the load, access tokens that outlive the run,
fake SMS/email/carrier providers, and ROOT_URLCONF = bench.urls, which adds the framework-floor
endpoint. Production (config.settings.production) has no such route.
"""

import os

_BENCH_ENV = {
    "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/practice_bench",
    "REDIS_URL": "redis://127.0.0.1:6379/9",
    "SECURE_SSL_REDIRECT": "false",
    "EASYPOST_WEBHOOK_SECRET": "bench-easypost-webhook-secret",
    "CARRIER_TRACKER": "fake",
    "ERX_PROVIDER": "sandbox",
    "ERX_ALLOW_SANDBOX": "true",
    "SMS_BACKEND": "locmem",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "VIDEO_PROVIDER": "fake",
    "LOG_LEVEL": "WARNING",
    "CONN_MAX_AGE": "600",
}
for _name, _value in _BENCH_ENV.items():
    os.environ.setdefault(_name, _value)

from datetime import timedelta  # noqa: E402

from config.settings.production import *  # noqa: E402, F403
from config.settings.production import REST_FRAMEWORK, SIMPLE_JWT  # noqa: E402

ROOT_URLCONF = "bench.urls"
# PostgreSQL's planner defaults assume spinning disks (random_page_cost = 4); on SSD storage the
# usual setting is 1.1, and with it the caseload's join reads 338 users by key instead of scanning
# 20,000. Set per connection here, after the session options production sets (statement timeout,
# no Memoize: config/database.py); a production server sets it in postgresql.conf.
_OPTIONS = DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
_OPTIONS["options"] = " ".join(filter(None, [_OPTIONS.get("options", ""), "-c random_page_cost=1.1"]))
# Throttles stay on (their Redis round trips are part of every request's cost) with rates the load
# never reaches. Per second, not per minute: DRF's throttle keeps the time of every request in
# the window and pickles the list both ways on each request. In production a window holds at
# most its small rate (30 a minute for availability); "10000000/min" let one user's list grow
# to thousands of entries at benchmark rates, a cost no production request pays.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {k: "1000000/s" for k in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},
}
SIMPLE_JWT = {**SIMPLE_JWT, "ACCESS_TOKEN_LIFETIME": timedelta(hours=2)}
