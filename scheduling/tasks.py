"""Scheduling's periodic tasks (beat, every minute): thin, no arguments, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from scheduling.services import agenda, reminders, visits


@shared_task(bind=True, acks_late=True)
def send_due_reminders(self) -> int:
    """Send a chunk of due reminders (SCHEDULING_REMINDER_CHUNK). Rows are claimed under
    SKIP LOCKED, so overlapping scans send each reminder once; a full chunk enqueues one more
    scan before sending, so a burst keeps every worker busy until a claim comes back short.
    The rows carry this task's id, so if its worker dies the redelivered task (same id) takes
    back what it had not sent."""
    return reminders.send_due_reminders(on_full_chunk=send_due_reminders.delay, token=self.request.id or "")


@shared_task(acks_late=True)
def create_due_video_links() -> int:
    """Create video links for visits starting within VIDEO_LINK_LEAD_MINUTES."""
    return sum(visits.video_links_create(appointment_id=pk) for pk in visits.due_video_appointment_ids())


@shared_task(acks_late=True)
def send_physician_agendas() -> int:
    return agenda.send_physician_agendas()
