"""gunicorn settings for the web process (docs/deploying.md#web). Every value can be overridden
from the environment (GUNICORN_*), so the image, the compose file and the chart run the same
command: ``gunicorn -c config/gunicorn.conf.py config.wsgi:application``.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# (2 x CPU) + 1 sync-equivalent workers is gunicorn's rule of thumb; with threads, fewer
# processes: one per CPU, 4 threads each. In Kubernetes os.cpu_count() is the node's, not the
# pod's limit: set GUNICORN_WORKERS to the pod's CPU limit there (the chart does).
workers = _int("GUNICORN_WORKERS", max(2, multiprocessing.cpu_count()))
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread"
# A request is killed after `timeout` seconds of silence from its worker; `graceful_timeout` is
# what a worker gets to finish its requests on SIGTERM (below Kubernetes' 30 s grace period).
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
keepalive = _int("GUNICORN_KEEPALIVE", 5)  # above the load balancer's idle timeout is better
# Recycle a worker after this many requests (a slow leak stays bounded); the jitter spreads the
# restarts so the workers do not all recycle at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)
# Heartbeat files in memory, not on the container's overlay filesystem.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/dev/shm" if os.path.isdir("/dev/shm") else None)
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Access log to stdout, one JSON object a line: method, path WITHOUT the query string (%(U)s,
# never %(r)s or %(q)s: a query may carry an email or a name), status, bytes, milliseconds and
# the request id the app set. No client address (the load balancer's log has it).
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
access_log_format = (
    '{"log": "access", "method": "%(m)s", "path": "%(U)s", "status": "%(s)s", '
    '"bytes": "%(B)s", "ms": "%(M)s", "request_id": "%({x-request-id}o)s"}'
)
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")


def child_exit(server, worker):
    # Prometheus multiprocess mode: drop a dead worker's live gauges (api/metrics.py).
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
