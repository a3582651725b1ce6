"""Thin Celery tasks of the outbox: ids in, safe to run twice (rows are claimed by compare-and-swap).

Each task's id is its claim token: when a worker dies mid-send, the broker delivers the same
task again (acks_late + reject_on_worker_lost) and it takes back the rows it held at once.
"""

from __future__ import annotations

from celery import shared_task

from notifications import outbox
from notifications.models import Delivery, OutboxEffect


@shared_task(bind=True, acks_late=True)
def send_deliveries(self, delivery_ids: list[int]) -> int:
    """Fast path: send these deliveries (enqueued after the commit that wrote them)."""
    return outbox.perform(Delivery, delivery_ids, token=self.request.id or "")


@shared_task(bind=True, acks_late=True)
def run_effects(self, effect_ids: list[int]) -> int:
    """Fast path: perform these side effects (enqueued after the commit that wrote them)."""
    return outbox.perform(OutboxEffect, effect_ids, token=self.request.id or "")


@shared_task(bind=True, acks_late=True)
def outbox_sweep(self) -> dict[str, int]:
    """Beat: send what the fast path lost (broker down at commit, worker killed, retries due).
    A full chunk enqueues one more sweep at once, so a backlog drains without waiting for beat."""
    from django.conf import settings

    claimed = outbox.sweep(token=self.request.id or "")
    if max(claimed.values(), default=0) >= settings.NOTIFICATIONS_SWEEP_CHUNK:
        outbox_sweep.delay()
    return claimed
