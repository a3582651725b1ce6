"""Thin Celery tasks: ids in, the service does the work, safe to run twice."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task

from patients.services.safety import safety_flag_alert_deliver


@shared_task(
    autoretry_for=(SMTPException, ConnectionError, TimeoutError, OSError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)
def send_safety_flag_alerts(flag_id: int) -> int:
    """Alert the assigned physician and the on-call care team about a new safety flag (no PHI)."""
    return safety_flag_alert_deliver(flag_id=flag_id)
