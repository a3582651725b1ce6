"""Thin tasks: the daily readiness watch (safe to run twice: rows are unique per date and per
patient and switch, and written with their outbox deliveries)."""

from celery import shared_task

from careteam.services import readiness_watch


@shared_task(acks_late=True)
def prescribing_readiness_watch() -> dict:
    result = readiness_watch()
    return {
        "switch_on": result.switch_on.isoformat() if result.switch_on else None,
        "digest_written": result.digest_written,
        "notices_written": result.notices_written,
    }
