"""Practice's periodic tasks (beat): thin, no arguments, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from practice.services import expiry


@shared_task(acks_late=True)
def credential_expiry_watch() -> dict[str, int]:
    """Daily: mark expired licences and registrations, warn staff about those expiring soon (once each)."""
    return expiry.credential_expiry_watch()
