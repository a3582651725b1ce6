"""Logs and metrics (docs/deploying.md#logs, docs/deploying.md#metrics). Sentry: production.py.

No PHI in logs: log ids and codes, never names, notes, answers or contact details.
"""

from .environment import env

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "api.middleware.RequestIdLogFilter"},
        "task_id": {"()": "api.jsonlog.TaskIdLogFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "api.jsonlog.JsonFormatter"},  # production (docs/deploying.md#logs)
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env.str("LOG_FORMAT", default="plain"),
            "filters": ["request_id", "task_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # stripe-python logs request and response bodies (emails, names) at DEBUG: never let them through.
        "stripe": {"level": "INFO"},
    },
}
# /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset: 404 (docs/deploying.md#metrics).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# Traces: OpenTelemetry, off unless an OTLP endpoint is set (config/telemetry.py, docs/deploying.md#traces).
# The exporter reads the standard OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout) and
# the SDK OTEL_TRACES_SAMPLER(_ARG); OTEL_ENABLED=false turns traces off even with an endpoint.
OTEL_ENABLED = env.bool("OTEL_ENABLED", default=bool(env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")))
OTEL_SERVICE_NAME = env.str("OTEL_SERVICE_NAME", default="practice")
OTEL_SERVICE_VERSION = env.str("OTEL_SERVICE_VERSION", default="")
OTEL_DEPLOYMENT_ENVIRONMENT = env.str("OTEL_DEPLOYMENT_ENVIRONMENT", default="development")
