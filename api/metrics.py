"""Prometheus metrics (docs/deploying.md#metrics): request latency, queue depth, task outcomes.

Labels carry route patterns, methods, status codes, queue and task names: never ids, paths or
query strings, so a metric can hold no PHI. /metrics answers only a bearer token equal to
METRICS_TOKEN (404 when unset or wrong, like any route the caller may not know of).

Several gunicorn workers or Celery pool processes: set PROMETHEUS_MULTIPROC_DIR to an empty
folder shared by the processes of one pod (gunicorn.conf.py and the chart do), and every process
writes its samples there; the scrape adds them up.
"""

from __future__ import annotations

import hmac
import logging
import os
import time

from celery import current_app
from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

REQUEST_LATENCY = Histogram(
    "practice_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern.",
    ["method", "route", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
TASKS = Counter(
    "practice_celery_tasks",
    "Celery tasks finished, by task, queue and outcome (success, failure, retry, timeout).",
    ["task", "queue", "outcome"],
)


class MetricsMiddleware:
    """Outermost middleware: times the whole request, labelled by the matched route pattern."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "unmatched"
        REQUEST_LATENCY.labels(request.method, route, str(response.status_code // 100) + "xx").observe(
            time.perf_counter() - started
        )
        return response


class QueueDepthCollector:
    """At scrape time: messages waiting in each Celery queue (kombu's passive queue declare)."""

    def collect(self):
        gauge = GaugeMetricFamily(
            "practice_celery_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        try:
            with current_app.connection_for_read() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
                channel = conn.default_channel
                for queue in settings.CELERY_TASK_QUEUES:
                    try:
                        depth = channel.queue_declare(queue=queue, passive=True).message_count
                    except Exception:  # a queue nobody has declared yet is empty
                        depth = 0
                    gauge.add_metric([queue], depth)
        except Exception as exc:
            logger.warning("queue depth unavailable: %s", type(exc).__name__)
        yield gauge


def registry() -> CollectorRegistry:
    reg = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(reg)
    else:
        from prometheus_client import REGISTRY

        for collector in list(REGISTRY._collector_to_names):
            reg.register(collector)
    reg.register(QueueDepthCollector())
    return reg


@require_GET
def metrics(request):
    expected = getattr(settings, "METRICS_TOKEN", "")
    supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not expected or not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise Http404
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)


# --- Celery task outcomes (connected in config/celery.py) -----------------------------------------


def _queue_of(sender) -> str:
    info = getattr(getattr(sender, "request", None), "delivery_info", None) or {}
    return info.get("routing_key") or "-"


def on_task_success(sender=None, **kwargs):
    TASKS.labels(sender.name, _queue_of(sender), "success").inc()


def on_task_failure(sender=None, exception=None, **kwargs):
    from billiard.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

    timed_out = isinstance(exception, SoftTimeLimitExceeded | TimeLimitExceeded)
    TASKS.labels(sender.name, _queue_of(sender), "timeout" if timed_out else "failure").inc()


def on_task_retry(sender=None, **kwargs):
    TASKS.labels(sender.name, _queue_of(sender), "retry").inc()


def start_worker_metrics_server(port: int) -> None:
    """A Celery worker's own /metrics (task outcomes), on CELERY_METRICS_PORT, inside the pod."""
    from prometheus_client import start_http_server

    reg = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(reg)
        start_http_server(port, registry=reg)
    else:
        start_http_server(port)
