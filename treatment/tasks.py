"""Thin Celery tasks for beat: each scan is safe to run twice (compare-and-swap per row)."""

from __future__ import annotations

from celery import shared_task

from treatment.services import notices, sessions


@shared_task
def close_stale_sessions() -> int:
    """Close sessions left open past the policy's limit (auto_closed)."""
    return sessions.sessions_auto_close()


@shared_task
def send_due_check_in_notices() -> int:
    """Missed check-ins: one reminder to the patient, then one alert to the care team."""
    return notices.check_in_notices_send_due()
