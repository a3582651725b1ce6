"""OpenTelemetry traces, on when OTEL_ENABLED (an OTLP endpoint set; docs/deploying.md#traces).

`setup(component)` is called by config/wsgi.py (each gunicorn worker: "web") and by the Celery
signals in config/celery.py (each prefork child: "worker"; beat: "beat"). With traces off it
returns at once: nothing of OpenTelemetry is imported and no tracer provider is set, so the cost
is one settings lookup per process. With traces on it sets a TracerProvider (resource
`service.name`, `service.version`, `deployment.environment(.name)` from settings, `practice.component`)
that batches spans to the OTLP/HTTP exporter (endpoint, headers and timeout from the standard
OTEL_EXPORTER_OTLP_* variables; sampler from OTEL_TRACES_SAMPLER), and instruments Django,
Celery, psycopg, redis and httpx. OTEL_PYTHON_DISABLED_INSTRUMENTATIONS (comma-separated names
of those five) leaves some out.

No PHI leaves in a span. The instrumentations are set up not to collect it (psycopg and redis
never capture statement parameters or arguments; SQL comments are off; health checks and
/metrics are not traced), and every span passes through `ScrubbingExporter` on its way out,
which keeps the shape of the work and drops what could quote a person:
* query strings (`url.query`; `http.url`, `url.full` and `http.target` lose everything from `?`);
* the client's address and user agent, captured headers, `enduser.*`, statement parameters,
  message bodies;
* string literals in SQL (`'...'` becomes `'?'`: the ORM binds values, raw SQL might not);
* exception messages and stack traces (an exception event keeps its type), and status
  descriptions (they repeat the message): a database error may quote a row.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from django.conf import settings

INSTRUMENTATIONS = ("django", "celery", "psycopg", "redis", "httpx")
# Never traced: probes and scrapes (a search in the URL without its query string).
EXCLUDED_URLS = r"/livez/?$,/readyz/?$,/healthz/?$,/metrics/?$"
_URL_KEYS = {"http.url", "url.full", "http.target"}
_DROPPED_KEYS = {
    "url.query",
    "http.client_ip",
    "client.address",
    "client.port",
    "net.peer.ip",
    "net.peer.port",
    "net.sock.peer.addr",
    "net.sock.peer.port",
    "network.peer.address",
    "network.peer.port",
    "http.user_agent",
    "user_agent.original",
    "db.statement.parameters",
    "messaging.message.body",
    "http.request.body",
    "http.response.body",
}
_DROPPED_PREFIXES = (
    "http.request.header.",
    "http.response.header.",
    "db.query.parameter.",
    "enduser.",
    "user_agent.",
)
_SQL_KEYS = {"db.statement", "db.query.text"}
_SQL_STRING = re.compile(r"'(?:[^']|'')*'")
_KEPT_EXCEPTION_KEYS = {"exception.type", "exception.escaped"}

_state: dict[str, Any] = {}


def setup(component: str) -> None:
    """Traces for this process, once; a no-op unless settings.OTEL_ENABLED."""
    if not settings.OTEL_ENABLED or "provider" in _state:
        return
    # Imported only when traces are on: zero cost when off.
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = tracer_provider(component)
    provider.add_span_processor(BatchSpanProcessor(ScrubbingExporter(OTLPSpanExporter())))
    trace.set_tracer_provider(provider)
    _state["provider"] = provider
    _state["instrumentors"] = instrument(provider)


def tracer_provider(component: str):
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    attributes = {
        "service.name": settings.OTEL_SERVICE_NAME,
        "deployment.environment.name": settings.OTEL_DEPLOYMENT_ENVIRONMENT,
        "deployment.environment": settings.OTEL_DEPLOYMENT_ENVIRONMENT,
        "practice.component": component,
    }
    if settings.OTEL_SERVICE_VERSION:
        attributes["service.version"] = settings.OTEL_SERVICE_VERSION
    # Resource.create also merges OTEL_RESOURCE_ATTRIBUTES; the sampler comes from OTEL_TRACES_SAMPLER.
    return TracerProvider(resource=Resource.create(attributes))


def instrument(provider) -> list:
    """Instrument the libraries with this provider; returns the instrumentors (tests undo them)."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    disabled = {n.strip() for n in os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",")}
    chosen = {
        # The middleware goes first in settings.MIDDLEWARE: call before the WSGI handler loads it.
        "django": (DjangoInstrumentor(), {"excluded_urls": EXCLUDED_URLS, "is_sql_commentor_enabled": False}),
        "celery": (CeleryInstrumentor(), {}),
        # Parameters are not captured (capture_parameters defaults to False; said here on purpose).
        "psycopg": (PsycopgInstrumentor(), {"capture_parameters": False, "enable_commenter": False}),
        "redis": (RedisInstrumentor(), {}),  # arguments are replaced by "?" in db.statement
        "httpx": (HTTPXClientInstrumentor(), {}),
    }
    done = []
    for name, (instrumentor, options) in chosen.items():
        if name in disabled or instrumentor.is_instrumented_by_opentelemetry:
            continue
        instrumentor.instrument(tracer_provider=provider, **options)
        if instrumentor.is_instrumented_by_opentelemetry:  # False when the library's version does not fit
            done.append(instrumentor)
    return done


def _strip_query(value: Any) -> Any:
    return value.split("?", 1)[0].split("#", 1)[0] if isinstance(value, str) else value


def scrub_attributes(attributes) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in (attributes or {}).items():
        if key in _DROPPED_KEYS or key.startswith(_DROPPED_PREFIXES):
            continue
        if key in _URL_KEYS:
            value = _strip_query(value)
        elif key in _SQL_KEYS and isinstance(value, str):
            value = _SQL_STRING.sub("'?'", value)
        kept[key] = value
    return kept


def scrub_span(span):
    """A copy of a finished span without what could identify a person (see the module's doc)."""
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.trace import Status

    events = [
        Event(
            event.name,
            {k: v for k, v in (event.attributes or {}).items() if k in _KEPT_EXCEPTION_KEYS},
            event.timestamp,
        )
        for event in span.events
    ]
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=scrub_attributes(span.attributes),
        events=events,
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class ScrubbingExporter:
    """A SpanExporter (duck-typed: the SDK is not imported at load) that scrubs, then hands on."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def export(self, spans: Sequence):
        return self.inner.export([scrub_span(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
