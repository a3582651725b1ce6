"""Nightly reconciliation: compare the mirror with Stripe and fix drift.

Webhooks can be lost (an outage longer than Stripe's three days of retries, a misconfigured
endpoint). Every night the task lists every subscription from Stripe (with its latest invoice)
and applies each as a fresh snapshot; the mirror's ordering rule makes this safe to run twice or beside live webhooks.
Stored events left pending (a lost task message) are enqueued again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from billing.gateway import StripeBillingGateway
from billing.models import Subscription, SubscriptionStatus, WebhookEvent, WebhookEventStatus
from billing.services.mirror import invoice_apply_snapshot, subscription_apply_snapshot
from billing.services.webhooks import STALE_CLAIM

logger = logging.getLogger(__name__)

_COMPARED = (
    "status",
    "current_period_end",
    "cancel_at_period_end",
    "cancel_at",
    "canceled_at",
    "past_due_since",
    "latest_invoice_id",
)
PENDING_EVENT_AGE = timedelta(minutes=5)


@dataclass
class ReconcileResult:
    checked: int = 0
    created: int = 0
    changed: int = 0
    unknown_customer: int = 0
    missing_at_stripe: list[str] = field(default_factory=list)


def _state(subscription: Subscription | None) -> tuple | None:
    return None if subscription is None else tuple(getattr(subscription, f) for f in _COMPARED)


def subscriptions_reconcile(*, gateway: StripeBillingGateway) -> ReconcileResult:
    result = ReconcileResult()
    before = {s.stripe_subscription_id: _state(s) for s in Subscription.objects.all()}
    seen: set[str] = set()
    for data in gateway.subscriptions_list():
        result.checked += 1
        seen.add(data["id"])
        read_at = timezone.now()
        mirrored = subscription_apply_snapshot(data=data, snapshot_at=read_at)
        if mirrored is not None and isinstance(data.get("latest_invoice"), dict):
            # The latest invoice came expanded with the listing: a missed invoice.paid is fixed too.
            invoice_apply_snapshot(data=data["latest_invoice"], snapshot_at=read_at)
        if mirrored is None:
            result.unknown_customer += 1
        elif data["id"] not in before:
            result.created += 1
        elif _state(mirrored) != before[data["id"]]:
            result.changed += 1
            logger.warning("billing drift fixed subscription=%s", mirrored.pk)
    live = {SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE}
    result.missing_at_stripe = sorted(
        sid for sid, state in before.items() if sid not in seen and state is not None and state[0] in live
    )
    if result.missing_at_stripe:
        logger.error("mirrored subscriptions missing at Stripe: %d", len(result.missing_at_stripe))
    return result


def stuck_webhook_event_ids() -> list[int]:
    """Events stored but never applied: pending for a while, or claimed by a worker that died."""
    now = timezone.now()
    return list(
        WebhookEvent.objects.filter(
            Q(status=WebhookEventStatus.PENDING, received_at__lt=now - PENDING_EVENT_AGE)
            | Q(status=WebhookEventStatus.PROCESSING, claimed_at__lt=now - STALE_CLAIM)
        ).values_list("pk", flat=True)
    )
