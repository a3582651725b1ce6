"""Thin Celery tasks of the outcomes app (beat: CELERY_BEAT_SCHEDULE["outcomes-diary-reminders"])."""

from __future__ import annotations

from celery import shared_task

from outcomes.reminders import send_due_diary_reminders


@shared_task(acks_late=True)
def send_diary_reminders() -> int:
    return send_due_diary_reminders()
