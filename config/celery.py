"""The Celery app: configured from Django settings (CELERY_*), tasks found in each app's tasks.py."""

import os
from pathlib import Path

from celery import Celery

from config import telemetry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("practice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_filesystem_broker_folders(sender, **kwargs):
    # The embedded default broker (kombu's filesystem transport) needs its folders to exist
    # before the first message is sent or received.
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


# --- Task outcomes for /metrics (api/metrics.py, docs/deploying.md#metrics) ----------------------
from celery import signals  # noqa: E402


@signals.task_success.connect
def _count_success(sender=None, **kwargs):
    from api.metrics import on_task_success

    on_task_success(sender=sender, **kwargs)


@signals.task_failure.connect
def _count_failure(sender=None, **kwargs):
    from api.metrics import on_task_failure

    on_task_failure(sender=sender, **kwargs)


@signals.task_retry.connect
def _count_retry(sender=None, **kwargs):
    from api.metrics import on_task_retry

    on_task_retry(sender=sender, **kwargs)


@signals.worker_init.connect
def _serve_worker_metrics(**kwargs):
    # A worker pod's task outcomes, on its own port (never exposed by a Service).
    port = int(os.environ.get("CELERY_METRICS_PORT") or 0)
    if port:
        from api.metrics import start_worker_metrics_server

        start_worker_metrics_server(port)


# --- Traces (config/telemetry.py, docs/deploying.md#traces): off unless OTEL_ENABLED ------------
# In each prefork (or solo) child, after the fork: the span exporter's thread must start there.
@signals.worker_process_init.connect
def _traces_in_worker_process(**kwargs):
    telemetry.setup("worker")


@signals.beat_init.connect
def _traces_in_beat(**kwargs):
    telemetry.setup("beat")
