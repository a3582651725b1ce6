"""OpenTelemetry traces (config/telemetry.py, docs/deploying.md#traces): off by default; when on, a
request and a task make spans, and no span carries a query string, a body or a patient's data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery import shared_task
from django.db import connections
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from config import telemetry
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
# What a patient is: each must never appear anywhere in an exported span.
PHI = ("Alice", "Anders", "patient.a@example.test", "555-0142", "wrong-secret")


@pytest.fixture
def traced():
    """Instrumented with a provider of its own (never the global one) into memory, scrubbed as in
    production; undone afterwards so the rest of the run is untouched."""
    exporter = InMemorySpanExporter()
    provider = telemetry.tracer_provider("web")
    provider.add_span_processor(SimpleSpanProcessor(telemetry.ScrubbingExporter(exporter)))
    instrumentors = telemetry.instrument(provider)
    try:
        yield exporter, instrumentors
    finally:
        for instrumentor in instrumentors:
            instrumentor.uninstrument()
        provider.shutdown()


def _dump(span) -> str:
    return json.dumps(
        {
            "name": span.name,
            "attributes": dict(span.attributes or {}),
            "events": [{"name": e.name, "attributes": dict(e.attributes or {})} for e in span.events],
            "status": span.status.description,
        },
        default=str,
    )


def _assert_no_phi(spans):
    for span in spans:
        text = _dump(span)
        for value in PHI:
            assert value not in text, (value, text)


def _run(code: str, **env) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings.test", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


PROBE = (
    "import json, sys; import config.wsgi, config.celery; from django.conf import settings; "
    "from config import telemetry; "
    "print(json.dumps({'enabled': settings.OTEL_ENABLED, 'set_up': 'provider' in telemetry._state, "
    "'loaded': sorted(m for m in sys.modules if m.startswith('opentelemetry'))[:3]}))"
)


def test_off_by_default_nothing_of_opentelemetry_is_loaded_and_no_provider_is_set():
    off = _run(PROBE)
    assert off == {"enabled": False, "set_up": False, "loaded": []}
    telemetry.setup("web")  # this process: test settings, no endpoint
    assert "provider" not in telemetry._state
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)


def test_an_endpoint_turns_traces_on_and_otel_enabled_false_keeps_them_off():
    on = _run(PROBE, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9/")
    assert on["enabled"] is True and on["set_up"] is True and on["loaded"]
    off = _run(PROBE, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9/", OTEL_ENABLED="false")
    assert off["enabled"] is False and off["set_up"] is False


def test_the_resource_names_the_service_and_the_deployment(settings):
    settings.OTEL_SERVICE_NAME = "practice-api"
    settings.OTEL_DEPLOYMENT_ENVIRONMENT = "staging"
    settings.OTEL_SERVICE_VERSION = "1.2.3"
    attributes = telemetry.tracer_provider("worker").resource.attributes
    assert attributes["service.name"] == "practice-api"
    assert attributes["deployment.environment.name"] == attributes["deployment.environment"] == "staging"
    assert (attributes["service.version"], attributes["practice.component"]) == ("1.2.3", "worker")


def test_every_instrumentation_fits_the_pinned_libraries(traced):
    _, instrumentors = traced
    names = {type(i).__name__ for i in instrumentors}
    assert names == {
        "DjangoInstrumentor",
        "CeleryInstrumentor",
        "PsycopgInstrumentor",
        "RedisInstrumentor",
        "HTTPXClientInstrumentor",
    }


@pytest.mark.django_db
def test_a_request_makes_a_server_span_without_query_string_body_or_patient_data(traced, api, anon_client, patient):
    exporter, _ = traced
    reply = api(patient).get("/api/v1/auth/me/?q=Alice+Anders&email=patient.a%40example.test")
    # The answer's body holds the patient's email: the span must not.
    assert reply.status_code == 200 and b"patient.a@example.test" in reply.content
    login = anon_client.post(
        "/api/v1/auth/token/?phone=555-0142",
        {"email": "patient.a@example.test", "password": "wrong-secret"},
        format="json",
    )
    assert login.status_code >= 400
    spans = exporter.get_finished_spans()
    servers = [s for s in spans if s.kind == SpanKind.SERVER]
    assert len(servers) == 2, [s.name for s in spans]
    profile = servers[0]
    assert profile.name == "GET api/v1/auth/me/"
    attributes = dict(profile.attributes)
    assert attributes.get("http.route") == "api/v1/auth/me/"
    assert attributes.get("http.status_code", attributes.get("http.response.status_code")) == 200
    for key in ("http.url", "url.full", "http.target"):
        if key in attributes:
            assert "?" not in attributes[key], (key, attributes[key])
    for key in ("url.query", "http.client_ip", "client.address", "http.user_agent", "user_agent.original"):
        assert key not in attributes, key
    _assert_no_phi(spans)
    assert PASSWORD not in "".join(_dump(s) for s in spans)


@pytest.mark.django_db
def test_probes_are_not_traced(traced, anon_client):
    exporter, _ = traced
    assert anon_client.get("/livez").status_code == 200
    assert exporter.get_finished_spans() == ()


@shared_task(name="tests.deploy.telemetry_probe")
def telemetry_probe(patient_id, note):
    return patient_id


def test_a_task_makes_a_span_without_its_arguments(traced):
    exporter, _ = traced
    assert telemetry_probe.delay(42, "Alice Anders").get() == 42  # eager in tests
    spans = [s for s in exporter.get_finished_spans() if "tests.deploy.telemetry_probe" in s.name]
    assert spans, [s.name for s in exporter.get_finished_spans()]
    assert spans[0].kind == SpanKind.CONSUMER
    assert spans[0].attributes.get("celery.task_name") == "tests.deploy.telemetry_probe"
    _assert_no_phi(spans)


def test_the_scrubber_drops_messages_addresses_literals_and_headers():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(telemetry.ScrubbingExporter(exporter)))
    tracer = provider.get_tracer("probe")
    with tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT) as span:
        span.set_attribute("db.statement", "SELECT id FROM accounts_user WHERE last_name = 'Anders' AND id = %s")
        span.set_attribute("url.full", "https://vendor.example/lookup?phone=555-0142#Alice")
        span.set_attribute("client.address", "203.0.113.9")
        span.set_attribute("http.request.header.authorization", ("Bearer wrong-secret",))
        span.set_attribute("db.statement.parameters", "('Alice',)")
        span.set_attribute("enduser.id", "patient.a@example.test")
        span.record_exception(ValueError("duplicate key (email)=(patient.a@example.test)"))
        span.set_status(StatusCode.ERROR, "ValueError: Alice Anders")
    (finished,) = exporter.get_finished_spans()
    attributes = dict(finished.attributes)
    assert attributes == {
        "db.statement": "SELECT id FROM accounts_user WHERE last_name = '?' AND id = %s",
        "url.full": "https://vendor.example/lookup",
    }
    (event,) = finished.events
    assert event.name == "exception" and dict(event.attributes) == {
        "exception.type": "ValueError",
        "exception.escaped": "False",
    }
    assert finished.status.status_code == StatusCode.ERROR and finished.status.description is None
    _assert_no_phi([finished])


@pytest.mark.django_db
def test_psycopg_spans_carry_the_statement_without_its_parameters(traced, on_postgres):
    exporter, _ = traced
    fresh = connections.create_connection("default")  # a connection opened after instrumenting
    try:
        with fresh.cursor() as cursor:
            cursor.execute("SELECT %s::text", ["Alice Anders"])
            cursor.execute("SELECT 'Alice Anders'::text")
    finally:
        fresh.close()
    statements = [
        s.attributes.get("db.statement", s.attributes.get("db.query.text")) for s in exporter.get_finished_spans()
    ]
    assert "SELECT %s::text" in statements and "SELECT '?'::text" in statements, statements
    _assert_no_phi(exporter.get_finished_spans())
