"""Thin Celery tasks of the messaging app (beat: CELERY_BEAT_SCHEDULE["messaging-overdue-notify"])."""

from __future__ import annotations

from celery import shared_task

from messaging.attachments import attachment_orphans_sweep
from messaging.services import overdue_notify


@shared_task(acks_late=True)
def notify_overdue_messages() -> int:
    return overdue_notify()


@shared_task(acks_late=True)
def sweep_orphaned_attachments() -> int:
    """Hourly: delete stored attachment files no message names (a send that never committed)."""
    return attachment_orphans_sweep()
