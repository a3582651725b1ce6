"""Stripe webhooks: store each signed event once, then apply it after commit in a Celery task.

Recording (the view): the signature is checked on the raw body (HMAC-SHA256 over "{t}.{body}",
STRIPE_WEBHOOK_TOLERANCE_SECONDS); a bad or stale signature stores nothing. An event id already
stored is acknowledged again without a second row (Stripe redelivers).

Applying (the task): the event is claimed with a compare-and-swap (pending -> processing), so
duplicates and concurrent workers apply it once. Subscription state is never taken from the
event: the subscription is re-read from Stripe, and the mirror refuses a snapshot older than the
one it holds, so events delivered late or out of order end in Stripe's current state.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from billing.errors import InvalidSignature
from billing.gateway import StripeBillingGateway
from billing.models import InvoiceStatus, StripeCustomer, WebhookEvent, WebhookEventStatus
from billing.services import dunning
from billing.services.mirror import (
    invoice_apply_snapshot,
    invoice_subscription_id,
    stripe_id,
    subscription_apply_snapshot,
    ts,
)

logger = logging.getLogger(__name__)

# A claim older than this belongs to a worker that died: another may take the event over.
STALE_CLAIM = timedelta(minutes=10)

SUBSCRIPTION_EVENTS = {
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
}
INVOICE_EVENTS = {"invoice.paid", "invoice.payment_failed", "invoice.payment_action_required"}
HANDLED_EVENTS = {"checkout.session.completed"} | SUBSCRIPTION_EVENTS | INVOICE_EVENTS


# What applying an event reads from its object (webhook_event_apply and the mirror), per object
# type. Everything else Stripe sends (the customer's email, name, address and phone on invoices,
# customer_details on Checkout Sessions) is dropped before the event is stored
# (docs/security.md#webhook-payloads).
_KEPT_FIELDS = {
    "checkout.session": ("id", "object", "mode", "customer", "subscription", "status"),
    "subscription": ("id", "object", "customer", "status"),
    "invoice": (
        "id",
        "object",
        "customer",
        "status",
        "number",
        "currency",
        "amount_due",
        "amount_paid",
        "attempt_count",
        "hosted_invoice_url",
        "period_start",
        "period_end",
        "created",
        "billing_reason",
    ),
}


def _only(value, keys):
    return {k: value[k] for k in keys if isinstance(value, dict) and k in value}


def webhook_payload_minimise(body: dict) -> dict:
    """The part of a Stripe event that processing needs; nothing that names or reaches a person."""
    obj = (body.get("data") or {}).get("object") or {}
    kind = obj.get("object") if isinstance(obj, dict) else None
    kept = _only(obj, _KEPT_FIELDS.get(kind, ("id", "object")))
    if kind == "invoice":
        subscription = ((obj.get("parent") or {}).get("subscription_details") or {}).get("subscription")
        if subscription is not None:
            kept["parent"] = {"subscription_details": {"subscription": stripe_id(subscription)}}
        lines = (obj.get("lines") or {}).get("data") or []
        if lines and isinstance(lines[0], dict) and lines[0].get("period"):
            kept["lines"] = {"data": [{"period": _only(lines[0]["period"], ("start", "end"))}]}
        transitions = obj.get("status_transitions")
        if isinstance(transitions, dict):
            kept["status_transitions"] = _only(transitions, ("paid_at", "finalized_at"))
    for key in ("customer", "subscription"):
        if key in kept:
            kept[key] = stripe_id(kept[key])
    minimal = _only(body, ("id", "object", "type", "created", "livemode", "api_version"))
    minimal["data"] = {"object": kept}
    return minimal


def webhook_payloads_purge(*, now=None) -> int:
    """Empty the stored payload of every finished event older than BILLING_WEBHOOK_RETENTION_DAYS.

    The row stays (its Stripe id keeps a late redelivery from being applied twice; its type,
    status and times stay for the books); pending and processing events keep theirs until applied.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.BILLING_WEBHOOK_RETENTION_DAYS)
    finished = (WebhookEventStatus.PROCESSED, WebhookEventStatus.IGNORED, WebhookEventStatus.FAILED)
    return (
        WebhookEvent.objects.filter(received_at__lt=cutoff, status__in=finished).exclude(payload={}).update(payload={})
    )


@dataclass(frozen=True)
class Recorded:
    event: WebhookEvent
    created: bool


def webhook_event_record(*, payload: bytes, signature_header: str | None) -> Recorded:
    """Verify and store one delivery. Raises InvalidSignature (400, nothing stored)."""
    try:
        StripeBillingGateway.verify_webhook(payload, signature_header)
        body = json.loads(payload)
        event_id, event_type, created = body["id"], body["type"], ts(int(body["created"]))
        if not isinstance(event_id, str) or not isinstance(event_type, str):
            raise ValueError("id and type must be strings")
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise InvalidSignature() from exc
    except (ValueError, KeyError, TypeError, OverflowError, OSError) as exc:
        # Signed by Stripe yet not an event: refuse it the same way, store nothing.
        raise InvalidSignature("The webhook body is not a Stripe event.", code="invalid_payload") from exc
    status = WebhookEventStatus.PENDING if event_type in HANDLED_EVENTS else WebhookEventStatus.IGNORED
    error_code = ""
    if bool(body.get("livemode")) != settings.STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_")):
        # A test-mode event at the live endpoint (or the reverse): never apply it to real records.
        status, error_code = WebhookEventStatus.IGNORED, "livemode_mismatch"
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                stripe_event_id=event_id,
                type=event_type,
                stripe_created_at=created,
                livemode=bool(body.get("livemode")),
                payload=webhook_payload_minimise(body),
                status=status,
                error_code=error_code,
                processed_at=timezone.now() if status == WebhookEventStatus.IGNORED else None,
            )
        logger.info("stripe event stored id=%s type=%s", event_id, event_type)
        return Recorded(event=event, created=True)
    except IntegrityError:
        return Recorded(event=WebhookEvent.objects.get(stripe_event_id=event_id), created=False)


def webhook_receive(*, payload: bytes, signature_header: str | None) -> Recorded:
    """One delivery to the webhook endpoint (Stripe's, or the sandbox's): verify and store it, and
    have it applied after commit. A redelivery of a stored, still-pending event is enqueued again:
    the claim makes that harmless. Raises InvalidSignature (nothing stored)."""
    from billing.tasks import process_webhook_event  # the task module imports this one

    with transaction.atomic():
        recorded = webhook_event_record(payload=payload, signature_header=signature_header)
        if recorded.event.status == WebhookEventStatus.PENDING:
            process_webhook_event.delay_on_commit(recorded.event.pk)
    return recorded


def webhook_event_claim(*, event_id: int) -> WebhookEvent | None:
    """Compare-and-swap pending -> processing (or take over a stale claim). None: not ours to run."""
    now = timezone.now()
    claimable = Q(status=WebhookEventStatus.PENDING) | Q(
        status=WebhookEventStatus.PROCESSING, claimed_at__lt=now - STALE_CLAIM
    )
    claimed = WebhookEvent.objects.filter(claimable, pk=event_id).update(
        status=WebhookEventStatus.PROCESSING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    return WebhookEvent.objects.get(pk=event_id)


def webhook_event_finish(*, event: WebhookEvent, status: str, error_code: str = "") -> None:
    WebhookEvent.objects.filter(pk=event.pk, status=WebhookEventStatus.PROCESSING).update(
        status=status, error_code=error_code[:64], processed_at=timezone.now() if status != "pending" else None
    )


def webhook_event_apply(*, event: WebhookEvent, gateway: StripeBillingGateway) -> str:
    """Apply one claimed event; returns the final status (processed or ignored)."""
    obj = (event.payload.get("data") or {}).get("object") or {}
    if event.type == "checkout.session.completed":
        return _checkout_completed(obj, gateway)
    if event.type in SUBSCRIPTION_EVENTS:
        return _refresh_subscription(obj.get("id"), gateway)
    if event.type in INVOICE_EVENTS:
        return _invoice_event(event, obj, gateway)
    return WebhookEventStatus.IGNORED


def _refresh_subscription(subscription_id: str | None, gateway: StripeBillingGateway) -> str:
    if not subscription_id:
        return WebhookEventStatus.IGNORED
    # The fresh read is the snapshot; its time orders it against every other snapshot.
    read_at = timezone.now()
    data = gateway.subscription_retrieve(subscription_id)
    mirrored = subscription_apply_snapshot(data=data, snapshot_at=read_at)
    return WebhookEventStatus.PROCESSED if mirrored is not None else WebhookEventStatus.IGNORED


def _checkout_completed(session: dict, gateway: StripeBillingGateway) -> str:
    if session.get("mode") != "subscription":
        return WebhookEventStatus.IGNORED
    customer_id = stripe_id(session.get("customer"))
    # The session is used up: the next Checkout gets a new idempotency key.
    StripeCustomer.objects.filter(stripe_customer_id=customer_id, checkout_session_id=session.get("id")).update(
        checkout_session_id="",
        checkout_session_url="",
        checkout_session_expires_at=None,
        checkout_attempt=F("checkout_attempt") + 1,
    )
    return _refresh_subscription(stripe_id(session.get("subscription")), gateway)


def _invoice_event(event: WebhookEvent, data: dict, gateway: StripeBillingGateway) -> str:
    subscription_id = invoice_subscription_id(data)
    if subscription_id:
        _refresh_subscription(subscription_id, gateway)  # first, so the invoice can link to it
    # An invoice payload is Stripe's snapshot as of the event's creation.
    invoice = invoice_apply_snapshot(data=data, snapshot_at=event.stripe_created_at)
    if invoice is None:
        return WebhookEventStatus.IGNORED
    if invoice.status != InvoiceStatus.OPEN:
        # Delivered late: the invoice was paid (or voided) since. Nothing to tell the patient.
        return WebhookEventStatus.PROCESSED
    if data.get("billing_reason") == "subscription_create":
        # The first payment is made in the app or on Checkout, which show the decline themselves;
        # dunning is for renewals.
        return WebhookEventStatus.PROCESSED
    if event.type == "invoice.payment_failed":
        dunning.dunning_notify(invoice=invoice, kind=dunning.PAYMENT_FAILED)
    elif event.type == "invoice.payment_action_required":
        dunning.dunning_notify(invoice=invoice, kind=dunning.ACTION_REQUIRED)
    return WebhookEventStatus.PROCESSED
