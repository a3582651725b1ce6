"""Thin Celery tasks of the messaging app (beat: CELERY_BEAT_SCHEDULE["messaging-overdue-notify"])."""

from __future__ import annotations

from celery import shared_task

from messaging.services import overdue_notify


@shared_task(acks_late=True)
def notify_overdue_messages() -> int:
    return overdue_notify()
