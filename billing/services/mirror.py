"""Apply Stripe snapshots (subscriptions, invoices) to the local mirror.

Ordering rule: every mirrored row remembers when the snapshot it holds was true at Stripe
(`snapshot_at`: the event's `created` for a webhook payload, the time of the read for a fresh
read). A snapshot older than, or as old as, the one applied is refused, so duplicated, delayed
and out-of-order webhooks, or two workers racing, never roll the mirror back. The row is locked
while it is compared and written (on SQLite, IMMEDIATE transactions serialise writers instead).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction

from billing.models import (
    FINAL_INVOICE_STATUSES,
    Invoice,
    InvoiceStatus,
    StripeCustomer,
    Subscription,
    SubscriptionStatus,
)

logger = logging.getLogger(__name__)

_DUNNING_STATUSES = (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)
# Invoices only move forward: draft -> open -> (uncollectible ->) paid | void.
_INVOICE_RANK = {
    InvoiceStatus.DRAFT: 0,
    InvoiceStatus.OPEN: 1,
    InvoiceStatus.UNCOLLECTIBLE: 2,
    InvoiceStatus.PAID: 3,
    InvoiceStatus.VOID: 3,
}


def ts(value: int | None) -> datetime | None:
    """A Stripe unix timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def stripe_id(value: Any) -> str | None:
    """An expandable field's id, whether Stripe sent the id or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    return value.get("id")


def invoice_subscription_id(invoice: dict[str, Any]) -> str | None:
    """Since the 2025 API an invoice's subscription is at parent.subscription_details.subscription."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return stripe_id(details.get("subscription"))


def _customer_for(data: dict[str, Any]) -> StripeCustomer | None:
    customer_id = stripe_id(data.get("customer"))
    if not customer_id:
        return None
    return StripeCustomer.objects.filter(stripe_customer_id=customer_id).first()


def _subscription_fields(data: dict[str, Any], *, current: Subscription | None, snapshot_at: datetime) -> dict:
    items = (data.get("items") or {}).get("data") or []
    item = items[0] if items else {}
    status = data["status"]
    past_due_since = None
    if status in _DUNNING_STATUSES:
        if current is not None and current.past_due_since is not None:
            past_due_since = current.past_due_since
        else:
            # The grace clock starts when the unpaid invoice fell due, not when we happened to hear
            # about it (a webhook can arrive late, or only the nightly reconciliation may see it).
            invoice = data.get("latest_invoice")
            due = None
            if isinstance(invoice, dict) and invoice.get("status") == InvoiceStatus.OPEN:
                transitions = invoice.get("status_transitions") or {}
                due = ts(transitions.get("finalized_at")) or ts(invoice.get("created"))
            past_due_since = min(due, snapshot_at) if due else snapshot_at
    return {
        "status": status,
        "price_id": stripe_id(item.get("price") or {}) or "",
        # Since the 2025 API the billing period lives on the subscription items.
        "current_period_start": ts(item.get("current_period_start")),
        "current_period_end": ts(item.get("current_period_end")),
        "cancel_at_period_end": bool(data.get("cancel_at_period_end")),
        "cancel_at": ts(data.get("cancel_at")),
        "canceled_at": ts(data.get("canceled_at")),
        "ended_at": ts(data.get("ended_at")),
        "past_due_since": past_due_since,
        "latest_invoice_id": stripe_id(data.get("latest_invoice")) or "",
        "stripe_created_at": ts(data.get("created")),
        "snapshot_at": snapshot_at,
    }


def subscription_apply_snapshot(*, data: dict[str, Any], snapshot_at: datetime) -> Subscription | None:
    """Mirror one Stripe subscription. Returns the row (unchanged if the snapshot is not newer),
    or None when the subscription belongs to a customer that is not one of ours."""
    customer = _customer_for(data)
    if customer is None:
        logger.info("subscription %s of an unknown customer ignored", data.get("id"))
        return None
    for _ in range(2):  # a second pass only if a concurrent insert won the race
        try:
            with transaction.atomic():
                current = Subscription.objects.select_for_update().filter(stripe_subscription_id=data["id"]).first()
                if current is not None and current.snapshot_at >= snapshot_at:
                    return current
                fields = _subscription_fields(data, current=current, snapshot_at=snapshot_at)
                if current is None:
                    current = Subscription(
                        stripe_subscription_id=data["id"], patient_id=customer.patient_id, customer=customer
                    )
                for name, value in fields.items():
                    setattr(current, name, value)
                current.full_clean(validate_unique=False)
                current.save()
                return current
        except IntegrityError:
            continue
    raise RuntimeError(f"could not mirror subscription {data.get('id')}")


def invoice_apply_snapshot(*, data: dict[str, Any], snapshot_at: datetime) -> Invoice | None:
    """Mirror one Stripe invoice; an older snapshot, or one moving the status backwards, is refused."""
    customer = _customer_for(data)
    if customer is None:
        logger.info("invoice %s of an unknown customer ignored", data.get("id"))
        return None
    subscription_id = invoice_subscription_id(data)
    lines = (data.get("lines") or {}).get("data") or []
    period = (lines[0].get("period") if lines else None) or {}
    status = data.get("status") or InvoiceStatus.DRAFT
    fields = {
        "patient_id": customer.patient_id,
        "subscription": Subscription.objects.filter(stripe_subscription_id=subscription_id).first()
        if subscription_id
        else None,
        "number": data.get("number") or "",
        "status": status,
        "currency": data.get("currency") or "usd",
        "amount_due": data.get("amount_due") or 0,
        "amount_paid": data.get("amount_paid") or 0,
        "attempt_count": data.get("attempt_count") or 0,
        "hosted_invoice_url": data.get("hosted_invoice_url") or "",
        # The line's period is the month the membership covers; the invoice's own period_* is
        # the window its line items were collected in.
        "period_start": ts(period.get("start") or data.get("period_start")),
        "period_end": ts(period.get("end") or data.get("period_end")),
        "stripe_created_at": ts(data.get("created")),
        "paid_at": ts((data.get("status_transitions") or {}).get("paid_at")),
        "snapshot_at": snapshot_at,
    }
    for _ in range(2):
        try:
            with transaction.atomic():
                current = Invoice.objects.select_for_update().filter(stripe_invoice_id=data["id"]).first()
                if current is not None:
                    if current.snapshot_at >= snapshot_at:
                        return current
                    if current.status in FINAL_INVOICE_STATUSES and _INVOICE_RANK.get(status, 0) < 3:
                        return current
                else:
                    current = Invoice(stripe_invoice_id=data["id"])
                for name, value in fields.items():
                    setattr(current, name, value)
                current.full_clean(validate_unique=False)
                current.save()
                return current
        except IntegrityError:
            continue
    raise RuntimeError(f"could not mirror invoice {data.get('id')}")
