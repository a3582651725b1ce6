"""Production: no defaults for secrets; a missing or weak value stops start-up."""

import os

from django.core.exceptions import ImproperlyConfigured

from config.database import tune_postgres

from .base import *  # noqa: F403
from .base import BILLING_PROVIDER, LOGGING, REST_FRAMEWORK, SIMPLE_JWT, env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")  # no default: raises ImproperlyConfigured when unset
if len(SECRET_KEY) < 50 or "local-dev-only" in SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be a real secret of at least 50 characters.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production runs on PostgreSQL: DATABASE_URL must be postgres://...")
# Pool or PgBouncer, and a 30 s statement timeout by default (config/database.py).
tune_postgres(DATABASES["default"], env=env, statement_timeout_ms=30_000)
REDIS_URL = env.str("REDIS_URL")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CACHES = {"default": {"BACKEND": "api.cache.ReusedClientRedisCache", "LOCATION": REDIS_URL}}
# base.py derived the JWT key from its dev SECRET_KEY: derive it again from the real one.
SIMPLE_JWT = {**SIMPLE_JWT, "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY)}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
STORAGES["staticfiles"]["BACKEND"] = "whitenoise.storage.CompressedManifestStaticFilesStorage"  # noqa: F405

# The browsable API is a developer convenience: JSON only in production.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]}

if SMS_BACKEND == "twilio" and not (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER):  # noqa: F405
    raise ImproperlyConfigured("SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER.")

if ERX_PROVIDER == "sandbox" and not ERX_ALLOW_SANDBOX:  # noqa: F405
    raise ImproperlyConfigured(
        "ERX_PROVIDER=sandbox is a simulation: production must use a certified EPCS vendor "
        "(ERX_PROVIDER=dosespot). Set ERX_ALLOW_SANDBOX=true only on staging."
    )

# --- Deployment: one beat, JSON logs, Sentry (docs/deploying.md) ---------------------------------
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_REDBEAT_REDIS_URL = env.str("CELERY_REDBEAT_REDIS_URL", default=CELERY_BROKER_URL)
# One JSON object a line with the request id and the Celery task id; Celery's workers log through
# the same handler instead of replacing the root logger's.
LOGGING = {
    **LOGGING,
    "handlers": {"console": {**LOGGING["handlers"]["console"], "formatter": env.str("LOG_FORMAT", default="json")}},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from config.observability import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        release=env.str("SENTRY_RELEASE", default=""),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# Billing: without Stripe keys production is off (billing_unavailable), never the sandbox by default;
# an explicit BILLING_PROVIDER=sandbox is a simulation, for staging only. docs/billing.md#production
if BILLING_PROVIDER == "sandbox" and "BILLING_PROVIDER" not in os.environ:
    BILLING_PROVIDER = "off"
    BILLING_ENABLED = False
if BILLING_PROVIDER == "sandbox" and not BILLING_ALLOW_SANDBOX:  # noqa: F405
    raise ImproperlyConfigured(
        "BILLING_PROVIDER=sandbox is a simulation: production must use Stripe (BILLING_PROVIDER=stripe "
        "with the STRIPE_* keys) or BILLING_PROVIDER=off. Set BILLING_ALLOW_SANDBOX=true only on staging."
    )
