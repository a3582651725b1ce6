"""Structured logs for production (docs/deploying.md#logs): one JSON object a line.

Fields: time, level, logger, message, request_id (api.middleware), task_id (the Celery task being
run, "-" outside one). No PHI reaches a log line by the rule the code keeps (ids and codes only);
this formatter adds nothing that could carry any: an exception is logged as its type and its
stack (file, line, function), never its message or local values, which may quote a row.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime


def current_task_id() -> str:
    try:
        from celery import current_task
    except ImportError:  # pragma: no cover
        return "-"
    task = current_task
    request_id = getattr(getattr(task, "request", None), "id", None) if task else None
    return request_id or "-"


class TaskIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.task_id = current_task_id()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "task_id": getattr(record, "task_id", "-"),
        }
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, _exc, tb = record.exc_info
            entry["exc_type"] = f"{exc_type.__module__}.{exc_type.__qualname__}"
            entry["stack"] = [f"{f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(tb)]
        return json.dumps(entry, ensure_ascii=False)
