"""Interop's periodic tasks (beat): thin, no arguments, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from interop import services


@shared_task(acks_late=True)
def purge_expired_record_exports() -> int:
    """Hourly: delete the contents of record exports past their retention (the rows stay, as the audit)."""
    return services.record_export_purge_expired()
