"""Scheduling's periodic tasks (beat, every minute): thin, no arguments, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from scheduling.services import agenda, reminders, visits


@shared_task(acks_late=True)
def send_due_reminders() -> int:
    """Send reminders that are due; each row is claimed by compare-and-swap, so overlapping
    scans send each reminder once."""
    return reminders.send_due_reminders()


@shared_task(acks_late=True)
def create_due_video_links() -> int:
    """Create video links for visits starting within VIDEO_LINK_LEAD_MINUTES."""
    return sum(visits.video_links_create(appointment_id=pk) for pk in visits.due_video_appointment_ids())


@shared_task(acks_late=True)
def send_physician_agendas() -> int:
    return agenda.send_physician_agendas()
