"""Thin Celery tasks of e-prescribing: ids in, a service call, safe to run twice (each service
claims its row with a compare-and-swap). Transient vendor failures are not retried by Celery: the
row goes back to pending with a backoff time and `sweep` (beat) sends it again, so a broker that
lost a task loses nothing either."""

from __future__ import annotations

from celery import shared_task

from prescriptions.services import erx


@shared_task(bind=True)
def send_proposal(self, submission_id: int) -> str:
    return erx.erx_proposal_send(submission_id=submission_id, task_id=self.request.id or "")


@shared_task(bind=True)
def send_cancel(self, submission_id: int) -> str:
    return erx.erx_cancel_send(submission_id=submission_id, task_id=self.request.id or "")


@shared_task
def process_event(event_pk: int) -> str:
    return erx.erx_event_process(event_pk=event_pk)


@shared_task
def poll_submission(submission_id: int) -> str:
    return erx.erx_poll(submission_id=submission_id)


@shared_task
def sweep() -> dict:
    """Beat (every minute): re-drive sends, cancellations and events a lost task left behind."""
    due = erx.erx_sweep()
    for pk in due["send"]:
        send_proposal.delay(pk)
    for pk in due["cancel"]:
        send_cancel.delay(pk)
    for pk in due["events"]:
        process_event.delay(pk)
    return {k: len(v) for k, v in due.items()}


@shared_task
def poll_silent() -> int:
    """Beat: poll the vendor about prescriptions it has been silent on (webhook fallback)."""
    ids = erx.silent_submission_ids()
    for pk in ids:
        poll_submission.delay(pk)
    return len(ids)


@shared_task
def recheck_awaiting() -> int:
    """Beat: re-run the gates on proposals waiting for a signature; cancel those that now fail."""
    return erx.erx_recheck_awaiting()
