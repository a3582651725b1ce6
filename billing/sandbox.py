"""The billing sandbox: an offline simulation of a Stripe account in test mode (BILLING_PROVIDER=sandbox).

`SandboxBillingGateway` answers the same calls as `StripeBillingGateway`, in the same Stripe shapes, from
objects kept in the database (`SandboxObject`), so the web process and the Celery worker share one
simulated account. What Stripe would do on its side (a card confirmed in PaymentSheet or on the
Checkout page, a renewal charged or declined, a cancellation taking effect) the sandbox does too,
and then tells the practice the way Stripe does: a signed event posted to the webhook handler
(`billing.services.webhooks.webhook_receive`), stored once, applied after commit by the same task,
mirrored by the same code and judged by the same good-standing rule. Nothing here reaches the
network. docs/billing.md#sandbox

Test cards (as in Stripe test mode): 4242 4242 4242 4242 pays; 4000 0000 0000 0002 is declined
(`card_declined`); 4000 0000 0000 9995 is declined for insufficient funds.
"""

from __future__ import annotations

import calendar
import copy
import hashlib
import hmac
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.errors import StripeRequestFailed
from billing.gateway import MEMBERSHIP_AMOUNT_CENTS, MEMBERSHIP_CURRENCY, MEMBERSHIP_DESCRIPTION, StripeBillingGateway
from billing.models import SandboxObject

logger = logging.getLogger(__name__)

CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_INSUFFICIENT_FUNDS = "4000000000009995"
DECLINES = {CARD_DECLINED: "generic_decline", CARD_INSUFFICIENT_FUNDS: "insufficient_funds"}

CUSTOMER, SUBSCRIPTION, INVOICE, CHECKOUT_SESSION, REPLAY = (
    "customer",
    "subscription",
    "invoice",
    "checkout_session",
    "replay",
)


def now_ts() -> int:
    return int(timezone.now().timestamp())


def add_month(moment: int) -> int:
    """One calendar month later (Stripe bills monthly on the same day, clamped to the month's end)."""
    start = datetime.fromtimestamp(moment, tz=UTC)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def new_id(prefix: str) -> str:
    return f"{prefix}_sbx{uuid.uuid4().hex[:20]}"


# --- the stored account ----------------------------------------------------------------------
def load(kind: str, object_id: str | None, *, for_update: bool = False) -> dict[str, Any] | None:
    if not object_id:
        return None
    qs = SandboxObject.objects.filter(kind=kind, object_id=object_id)
    if for_update:
        qs = qs.select_for_update()
    row = qs.first()
    return copy.deepcopy(row.data) if row is not None else None


def save(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    SandboxObject.objects.update_or_create(object_id=data["id"], defaults={"kind": kind, "data": data})
    return copy.deepcopy(data)


def subscriptions_of(customer_id: str) -> list[dict[str, Any]]:
    rows = SandboxObject.objects.filter(kind=SUBSCRIPTION, data__customer=customer_id).order_by("id")
    return [copy.deepcopy(row.data) for row in rows]


def invoice_by_client_secret(client_secret: str) -> dict[str, Any] | None:
    row = SandboxObject.objects.filter(kind=INVOICE, data__confirmation_secret__client_secret=client_secret).first()
    return copy.deepcopy(row.data) if row is not None else None


# --- objects as Stripe shapes them ----------------------------------------------------------
def make_invoice(subscription: dict, *, billing_reason: str, period_start: int, period_end: int) -> dict:
    """An open (finalized, unpaid) invoice of the membership, with the secret PaymentSheet confirms."""
    created = now_ts()
    invoice_id = new_id("in")
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": subscription["customer"],
        "status": "open",
        "billing_reason": billing_reason,
        "currency": MEMBERSHIP_CURRENCY,
        "amount_due": MEMBERSHIP_AMOUNT_CENTS,
        "amount_paid": 0,
        "attempt_count": 0,
        "number": f"SBX-{invoice_id[-8:].upper()}",
        "hosted_invoice_url": f"{settings.BILLING_SANDBOX_CHECKOUT_URL}/invoice/{invoice_id}",
        "description": MEMBERSHIP_DESCRIPTION,
        "created": created,
        "period_start": created,
        "period_end": created,
        "status_transitions": {"finalized_at": created, "paid_at": None},
        "lines": {
            "object": "list",
            "data": [
                {
                    "id": new_id("il"),
                    "object": "line_item",
                    "description": MEMBERSHIP_DESCRIPTION,
                    "period": {"start": period_start, "end": period_end},
                }
            ],
            "has_more": False,
        },
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": subscription["id"], "metadata": subscription["metadata"]},
        },
        "confirmation_secret": {
            "client_secret": f"pi_sbx{uuid.uuid4().hex[:20]}_secret_{uuid.uuid4().hex[:16]}",
            "type": "payment_intent",
        },
    }


def make_subscription(*, customer_id: str, price_id: str, metadata: dict) -> dict:
    start = now_ts()
    return {
        "id": new_id("sub"),
        "object": "subscription",
        "customer": customer_id,
        "status": "incomplete",
        "created": start,
        "start_date": start,
        "cancel_at_period_end": False,
        "cancel_at": None,
        "canceled_at": None,
        "ended_at": None,
        "description": MEMBERSHIP_DESCRIPTION,
        "metadata": metadata,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": new_id("si"),
                    "object": "subscription_item",
                    "price": {
                        "id": price_id,
                        "object": "price",
                        "unit_amount": MEMBERSHIP_AMOUNT_CENTS,
                        "currency": MEMBERSHIP_CURRENCY,
                    },
                    "quantity": 1,
                    "current_period_start": start,
                    "current_period_end": add_month(start),
                }
            ],
            "has_more": False,
        },
        "latest_invoice": None,
    }


def period_of(subscription: dict) -> tuple[int, int]:
    item = subscription["items"]["data"][0]
    return item["current_period_start"], item["current_period_end"]


def mark_paid(invoice: dict) -> dict:
    invoice.update(
        status="paid",
        amount_paid=invoice["amount_due"],
        attempt_count=invoice["attempt_count"] + 1,
        confirmation_secret=None,
    )
    invoice["status_transitions"]["paid_at"] = now_ts()
    return invoice


def expanded(subscription: dict, expand: list[str] | tuple[str, ...] = ()) -> dict:
    out = copy.deepcopy(subscription)
    if out.get("latest_invoice") and any("latest_invoice" in e for e in expand):
        invoice = load(INVOICE, out["latest_invoice"]) or {}
        if not any(e.endswith("confirmation_secret") for e in expand):
            invoice.pop("confirmation_secret", None)  # includable only, as at Stripe
        out["latest_invoice"] = invoice
    return out


# --- events, posted to the practice's own webhook handler ----------------------------------
def sign(payload: str, *, timestamp: int) -> str:
    """The Stripe-Signature header: HMAC-SHA256 of "{t}.{payload}" with the endpoint secret."""
    digest = hmac.new(
        settings.STRIPE_WEBHOOK_SECRET.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def emit(event_type: str, obj: dict[str, Any]) -> None:
    """Deliver one event as Stripe would: signed, to the webhook handler (stored, applied after commit)."""
    from billing.services.webhooks import webhook_receive  # the handler imports the gateway

    created = now_ts()
    body = {
        "id": new_id("evt"),
        "object": "event",
        "type": event_type,
        "created": created,
        "livemode": False,
        "api_version": settings.STRIPE_API_VERSION,
        "data": {"object": copy.deepcopy(obj)},
    }
    payload = json.dumps(body)
    webhook_receive(payload=payload.encode(), signature_header=sign(payload, timestamp=created))
    logger.info("billing sandbox event %s", event_type)


class SandboxBillingGateway(StripeBillingGateway):
    """StripeBillingGateway's calls, answered by the sandbox account (same arguments, same shapes)."""

    def __init__(self):
        self.client = None

    def _replay(self, key: str | None, make) -> dict[str, Any]:
        """Stripe's idempotency: the same key answers the first reply again, nothing is created twice."""
        if not key:
            return make()
        with transaction.atomic():
            stored = load(REPLAY, f"replay:{key}", for_update=True)
            if stored is not None:
                return stored["reply"]
            reply = make()
            save(REPLAY, {"id": f"replay:{key}", "reply": reply})
            return reply

    def _subscription(self, subscription_id: str) -> dict[str, Any]:
        subscription = load(SUBSCRIPTION, subscription_id, for_update=True)
        if subscription is None:
            raise StripeRequestFailed(extra={"provider_code": "resource_missing"})
        return subscription

    # --- customers -----------------------------------------------------------------------
    def customer_create(self, *, patient_public_id: str, email: str) -> dict[str, Any]:
        def make():
            return save(
                CUSTOMER,
                {
                    "id": new_id("cus"),
                    "object": "customer",
                    "email": email,
                    "metadata": {"patient_public_id": str(patient_public_id)},
                },
            )

        return self._replay(f"customer-{patient_public_id}", make)

    # --- the plan ------------------------------------------------------------------------
    def plan_create(self) -> dict[str, Any]:
        return self.price_retrieve(settings.STRIPE_PRICE_ID)

    def price_retrieve(self, price_id: str) -> dict[str, Any]:
        return {
            "id": price_id,
            "object": "price",
            "active": True,
            "currency": MEMBERSHIP_CURRENCY,
            "unit_amount": MEMBERSHIP_AMOUNT_CENTS,
            "recurring": {"interval": "month", "interval_count": 1},
            "nickname": MEMBERSHIP_DESCRIPTION,
            "product": {"id": "prod_sbx_membership", "object": "product", "name": MEMBERSHIP_DESCRIPTION},
        }

    # --- subscribing ---------------------------------------------------------------------
    def checkout_session_create(
        self, *, customer_id: str, price_id: str, patient_public_id: str, idempotency_key: str
    ) -> dict[str, Any]:
        def make():
            session_id = new_id("cs")
            return save(
                CHECKOUT_SESSION,
                {
                    "id": session_id,
                    "object": "checkout.session",
                    "mode": "subscription",
                    "customer": customer_id,
                    "client_reference_id": str(patient_public_id),
                    "price": price_id,
                    "metadata": {"patient_public_id": str(patient_public_id)},
                    "url": f"{settings.BILLING_SANDBOX_CHECKOUT_URL}/{session_id}",
                    "expires_at": now_ts() + 24 * 3600,
                    "status": "open",
                    "subscription": None,
                },
            )

        return self._replay(idempotency_key, make)

    def subscription_create(
        self, *, customer_id: str, price_id: str, patient_public_id: str, idempotency_key: str
    ) -> dict[str, Any]:
        def make():
            subscription = make_subscription(
                customer_id=customer_id, price_id=price_id, metadata={"patient_public_id": str(patient_public_id)}
            )
            start, end = period_of(subscription)
            invoice = make_invoice(
                subscription, billing_reason="subscription_create", period_start=start, period_end=end
            )
            subscription["latest_invoice"] = invoice["id"]
            save(INVOICE, invoice)
            save(SUBSCRIPTION, subscription)
            emit("customer.subscription.created", subscription)
            return expanded(subscription, ["latest_invoice.confirmation_secret"])

        return self._replay(idempotency_key, make)

    def customer_session_create(self, *, customer_id: str, idempotency_key: str) -> dict[str, Any]:
        return self._replay(
            idempotency_key,
            lambda: {
                "object": "customer_session",
                "customer": customer_id,
                "client_secret": f"cuss_sbx_secret_{uuid.uuid4().hex}",
                "expires_at": now_ts() + 1800,
            },
        )

    # --- managing ------------------------------------------------------------------------
    def subscription_retrieve(self, subscription_id: str, *, with_confirmation_secret: bool = False) -> dict[str, Any]:
        subscription = load(SUBSCRIPTION, subscription_id)
        if subscription is None:
            raise StripeRequestFailed(extra={"provider_code": "resource_missing"})
        expand = ["latest_invoice.confirmation_secret"] if with_confirmation_secret else ["latest_invoice"]
        return expanded(subscription, expand)

    def subscription_cancel_at_period_end(self, subscription_id: str, *, idempotency_key: str) -> dict[str, Any]:
        def make():
            with transaction.atomic():
                subscription = self._subscription(subscription_id)
                subscription["cancel_at_period_end"] = True
                subscription["cancel_at"] = period_of(subscription)[1]
                subscription["canceled_at"] = now_ts()
                save(SUBSCRIPTION, subscription)
                emit("customer.subscription.updated", subscription)
                return expanded(subscription, ["latest_invoice"])

        return self._replay(idempotency_key, make)

    def customer_subscriptions(self, customer_id: str) -> list[dict[str, Any]]:
        return [expanded(s, ["latest_invoice"]) for s in subscriptions_of(customer_id)]

    def subscription_cancel_now(self, subscription_id: str) -> dict[str, Any]:
        with transaction.atomic():
            subscription = self._subscription(subscription_id)
            now = now_ts()
            if subscription["status"] == "incomplete":
                subscription["status"] = "incomplete_expired"
                invoice = load(INVOICE, subscription.get("latest_invoice"))
                if invoice is not None and invoice["status"] == "open":
                    invoice.update(status="void", confirmation_secret=None)
                    save(INVOICE, invoice)
            else:
                subscription["status"] = "canceled"
            subscription.update(canceled_at=now, ended_at=now)
            save(SUBSCRIPTION, subscription)
            emit("customer.subscription.deleted", subscription)
            return expanded(subscription, ["latest_invoice"])

    def checkout_session_expire(self, session_id: str) -> dict[str, Any]:
        with transaction.atomic():
            session = load(CHECKOUT_SESSION, session_id, for_update=True)
            if session is None or session["status"] != "open":
                raise StripeRequestFailed(extra={"provider_code": "checkout_session_not_open"})
            session["status"] = "expired"
            return save(CHECKOUT_SESSION, session)

    def portal_session_create(self, *, customer_id: str, idempotency_key: str) -> dict[str, Any]:
        def make():
            session_id = new_id("bps")
            return {
                "id": session_id,
                "object": "billing_portal.session",
                "customer": customer_id,
                "url": f"{settings.BILLING_SANDBOX_PORTAL_URL}/{session_id}",
                "return_url": settings.BILLING_PORTAL_RETURN_URL,
            }

        return self._replay(idempotency_key, make)

    def subscriptions_list(self, *, page_size: int = 100):
        for row in SandboxObject.objects.filter(kind=SUBSCRIPTION).order_by("id").iterator(chunk_size=page_size):
            yield expanded(row.data, ["latest_invoice"])

    # --- webhooks ------------------------------------------------------------------------
    # verify_webhook is StripeBillingGateway's own: sandbox events are signed with STRIPE_WEBHOOK_SECRET.
