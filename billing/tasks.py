"""Billing's Celery tasks: thin, ids only, safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from api.errors import ServiceUnavailable
from billing.errors import BillingUnavailable
from billing.gateway import get_gateway
from billing.models import WebhookEventStatus
from billing.services.reconcile import stuck_webhook_event_ids, subscriptions_reconcile
from billing.services.webhooks import (
    webhook_event_apply,
    webhook_event_claim,
    webhook_event_finish,
    webhook_payloads_purge,
)

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=6, acks_late=True)
def process_webhook_event(self, event_id: int) -> str | None:
    """Apply one stored Stripe event; a duplicate or concurrent run finds it already claimed."""
    event = webhook_event_claim(event_id=event_id)
    if event is None:
        return None
    try:
        status = webhook_event_apply(event=event, gateway=get_gateway())
    except (ServiceUnavailable, BillingUnavailable) as exc:
        # Stripe is unavailable (or billing switched off meanwhile): put the event back and retry with backoff.
        webhook_event_finish(event=event, status=WebhookEventStatus.PENDING, error_code=exc.code)
        if self.request.retries >= self.max_retries:
            logger.error("stripe event %s still pending after retries", event.stripe_event_id)
            return WebhookEventStatus.PENDING
        raise self.retry(exc=exc, countdown=min(30 * 2**self.request.retries, 1800))
    except Exception as exc:
        webhook_event_finish(event=event, status=WebhookEventStatus.FAILED, error_code=type(exc).__name__)
        logger.exception("stripe event %s failed", event.stripe_event_id)
        raise
    webhook_event_finish(event=event, status=status)
    return status


@shared_task(acks_late=True)
def reconcile_subscriptions() -> dict:
    """Nightly (beat): fix drift between the mirror and Stripe; re-enqueue stuck events."""
    if not settings.BILLING_ENABLED:
        return {"skipped": True}
    result = subscriptions_reconcile(gateway=get_gateway())
    stuck = stuck_webhook_event_ids()
    for event_id in stuck:
        process_webhook_event.delay(event_id)
    logger.info(
        "billing reconciled checked=%d created=%d changed=%d requeued=%d",
        result.checked,
        result.created,
        result.changed,
        len(stuck),
    )
    return {"checked": result.checked, "created": result.created, "changed": result.changed, "requeued": len(stuck)}


@shared_task(acks_late=True)
def purge_webhook_payloads() -> int:
    """Daily (beat): empty stored Stripe payloads past BILLING_WEBHOOK_RETENTION_DAYS. Safe to run twice."""
    purged = webhook_payloads_purge()
    logger.info("stripe webhook payloads purged count=%d", purged)
    return purged
