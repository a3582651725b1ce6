"""Subscribing (web Checkout, mobile PaymentSheet), the customer portal and cancellation.

The plan is fixed: one $250/month price from settings (STRIPE_PRICE_ID). Clients may name the
price they think they are buying; any other price is refused with `unknown_price` rather than
silently swapped, so an outdated app cannot sell the wrong thing.

Idempotency keys come from local ids and attempt counters kept on StripeCustomer: a double tap
sends the same key (one session, one subscription), and an expired session or subscription
moves the counter on so the next try gets a fresh one.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from billing.errors import (
    AlreadySubscribed,
    NoBillingAccount,
    NotCancellable,
    StripeRequestFailed,
    SubscribeInProgress,
    UnknownPrice,
)
from billing.gateway import StripeBillingGateway, get_gateway
from billing.models import LIVE_STATUSES, StripeCustomer, Subscription, SubscriptionStatus
from billing.selectors import subscription_for_patient
from billing.services.customers import customer_ensure
from billing.services.mirror import subscription_apply_snapshot, ts

logger = logging.getLogger(__name__)

# A stored Checkout Session is handed out again only if it stays open at least this long.
_CHECKOUT_REUSE_MARGIN = timedelta(minutes=10)
# Short-lived secrets (customer sessions live 30 min, portal links a few) are keyed per time
# bucket: a double tap gets the same one, a later visit a fresh one.
_CUSTOMER_SESSION_BUCKET_SECONDS = 600
_PORTAL_BUCKET_SECONDS = 60


@dataclass(frozen=True)
class CheckoutStart:
    url: str
    session_id: str
    provider: str = "stripe"


@dataclass(frozen=True)
class MobileStart:
    subscription: Subscription
    client_secret: str
    customer_id: str
    customer_session_client_secret: str
    publishable_key: str
    provider: str = "stripe"


def plan_price(price_id: str | None) -> str:
    if price_id and price_id != settings.STRIPE_PRICE_ID:
        raise UnknownPrice(fields={"price_id": [{"code": "unknown_price", "message": UnknownPrice.default_message}]})
    return settings.STRIPE_PRICE_ID


def _refuse_if_member(patient: User) -> None:
    if Subscription.objects.filter(patient=patient, status__in=LIVE_STATUSES).exists():
        raise AlreadySubscribed()


# How long one patient's subscribe call may hold the lock, and how long another waits for it.
_LOCK_SECONDS = 60
_LOCK_WAIT_SECONDS = 15


@contextmanager
def _patient_subscribe_lock(patient: User) -> Iterator[None]:
    """One subscribe call per patient at a time, across processes (the cache is Redis outside
    development). Held across the Stripe calls on purpose: the database is not locked meanwhile.
    A second tap waits for the first and then sees what it did; a call that cannot get the lock
    in time answers 409 `subscribe_in_progress`."""
    key = f"billing-subscribe-lock:{patient.pk}"
    token = uuid.uuid4().hex
    deadline = time.monotonic() + _LOCK_WAIT_SECONDS
    while not cache.add(key, token, timeout=_LOCK_SECONDS):
        if time.monotonic() > deadline:
            raise SubscribeInProgress()
        time.sleep(0.05)
    try:
        yield
    finally:
        if cache.get(key) == token:
            cache.delete(key)


def _stripe_state(*, customer: StripeCustomer, gateway: StripeBillingGateway) -> list[Subscription]:
    """Ask Stripe (not only the mirror) which subscriptions the patient has, mirror them all, and
    refuse if one is live: a Checkout paid a moment ago, whose webhook has not arrived, counts."""
    read_at = timezone.now()
    mirrored = []
    for data in gateway.customer_subscriptions(customer.stripe_customer_id):
        row = subscription_apply_snapshot(data=data, snapshot_at=read_at)
        if row is not None:
            mirrored.append(row)
    if any(row.status in LIVE_STATUSES for row in mirrored):
        raise AlreadySubscribed()
    return mirrored


def _expire_open_checkout(*, customer: StripeCustomer, gateway: StripeBillingGateway) -> None:
    """The app is subscribing: the web Checkout page the patient may still have open must not be
    payable any more (two payments, two subscriptions)."""
    if not customer.checkout_session_id:
        return
    try:
        gateway.checkout_session_expire(customer.checkout_session_id)
    except StripeRequestFailed:
        pass  # already expired or completed: _stripe_state, asked next, tells which
    StripeCustomer.objects.filter(pk=customer.pk, checkout_session_id=customer.checkout_session_id).update(
        checkout_session_id="",
        checkout_session_url="",
        checkout_session_expires_at=None,
        checkout_attempt=F("checkout_attempt") + 1,
    )
    customer.refresh_from_db()


def _cancel_incomplete(
    *, customer: StripeCustomer, subscriptions: list[Subscription], gateway: StripeBillingGateway
) -> None:
    """The web is subscribing: an incomplete subscription the app created must not be payable any more."""
    pending = [row for row in subscriptions if row.status == SubscriptionStatus.INCOMPLETE]
    for row in pending:
        data = gateway.subscription_cancel_now(row.stripe_subscription_id)
        subscription_apply_snapshot(data=data, snapshot_at=timezone.now())
    if pending:
        StripeCustomer.objects.filter(pk=customer.pk).update(subscription_attempt=F("subscription_attempt") + 1)
        customer.refresh_from_db()


def _bucket(seconds: int) -> int:
    return int(timezone.now().timestamp()) // seconds


def checkout_session_start(*, actor: User, price_id: str | None = None, request=None) -> CheckoutStart:
    """A Stripe Checkout Session in subscription mode for the web; returns its URL."""
    price = plan_price(price_id)
    gateway = get_gateway()
    _refuse_if_member(actor)
    with _patient_subscribe_lock(actor):
        return _checkout_session_start(actor=actor, price=price, gateway=gateway, request=request)


def _checkout_session_start(*, actor: User, price: str, gateway: StripeBillingGateway, request) -> CheckoutStart:
    customer = customer_ensure(patient=actor, gateway=gateway)
    subscriptions = _stripe_state(customer=customer, gateway=gateway)
    _cancel_incomplete(customer=customer, subscriptions=subscriptions, gateway=gateway)
    now = timezone.now()
    if customer.checkout_session_id:
        if customer.checkout_session_expires_at and customer.checkout_session_expires_at > now + _CHECKOUT_REUSE_MARGIN:
            return CheckoutStart(
                url=customer.checkout_session_url,
                session_id=customer.checkout_session_id,
                provider=settings.BILLING_PROVIDER,
            )
        # Expired (or about to): move to the next attempt so the next key makes a new session.
        StripeCustomer.objects.filter(pk=customer.pk, checkout_session_id=customer.checkout_session_id).update(
            checkout_session_id="",
            checkout_session_url="",
            checkout_session_expires_at=None,
            checkout_attempt=F("checkout_attempt") + 1,
        )
        customer.refresh_from_db()
    data = gateway.checkout_session_create(
        customer_id=customer.stripe_customer_id,
        price_id=price,
        patient_public_id=str(actor.public_id),
        idempotency_key=f"checkout-{actor.public_id}-{customer.checkout_attempt}",
    )
    with transaction.atomic():
        StripeCustomer.objects.filter(pk=customer.pk).update(
            checkout_session_id=data["id"],
            checkout_session_url=data.get("url") or "",
            checkout_session_expires_at=ts(data.get("expires_at")),
        )
        audit_log(request, AuditAction.CREATE, actor, actor=actor, detail="billing checkout session")
    return CheckoutStart(url=data.get("url") or "", session_id=data["id"], provider=settings.BILLING_PROVIDER)


def mobile_subscription_start(*, actor: User, price_id: str | None = None, request=None) -> MobileStart:
    """An incomplete subscription for the app's PaymentSheet (`payment_behavior=default_incomplete`).

    An existing incomplete subscription is reused (re-read from Stripe for its current secret)
    instead of creating a second; once it has expired (23 hours) the attempt counter moves on.
    """
    price = plan_price(price_id)
    gateway = get_gateway()
    _refuse_if_member(actor)
    with _patient_subscribe_lock(actor):
        return _mobile_subscription_start(actor=actor, price=price, gateway=gateway, request=request)


def _mobile_subscription_start(*, actor: User, price: str, gateway: StripeBillingGateway, request) -> MobileStart:
    customer = customer_ensure(patient=actor, gateway=gateway)
    _expire_open_checkout(customer=customer, gateway=gateway)
    subscriptions = _stripe_state(customer=customer, gateway=gateway)

    data = _reusable_incomplete(actor=actor, customer=customer, subscriptions=subscriptions, gateway=gateway)
    if data is None:
        data = _subscription_create(
            actor=actor, customer=customer, subscriptions=subscriptions, price=price, gateway=gateway
        )
    subscription = subscription_apply_snapshot(data=data, snapshot_at=timezone.now())
    if subscription is None:  # cannot happen: the customer is ours
        raise StripeRequestFailed()
    if subscription.status in LIVE_STATUSES:
        raise AlreadySubscribed()
    invoice = data.get("latest_invoice") if isinstance(data.get("latest_invoice"), dict) else {}
    client_secret = ((invoice or {}).get("confirmation_secret") or {}).get("client_secret")
    if not client_secret:
        logger.error("subscription %s has no confirmation secret", subscription.stripe_subscription_id)
        raise StripeRequestFailed()
    session = gateway.customer_session_create(
        customer_id=customer.stripe_customer_id,
        idempotency_key=f"customer-session-{subscription.stripe_subscription_id}-"
        f"{_bucket(_CUSTOMER_SESSION_BUCKET_SECONDS)}",
    )
    audit_log(request, AuditAction.CREATE, subscription, actor=actor, detail="billing mobile subscription")
    return MobileStart(
        subscription=subscription,
        client_secret=client_secret,
        customer_id=customer.stripe_customer_id,
        customer_session_client_secret=session["client_secret"],
        publishable_key=settings.STRIPE_PUBLISHABLE_KEY,
        provider=settings.BILLING_PROVIDER,
    )


def _reusable_incomplete(
    *, actor: User, customer: StripeCustomer, subscriptions: list[Subscription], gateway: StripeBillingGateway
) -> dict | None:
    """The newest incomplete subscription, re-read from Stripe for its current secret, if it is still
    incomplete there; an expired one moves the attempt counter on (None: create a new one)."""
    incomplete = sorted(
        (row for row in subscriptions if row.status == SubscriptionStatus.INCOMPLETE),
        key=lambda row: (row.stripe_created_at or row.created_at, row.pk),
        reverse=True,
    )
    pending = incomplete[0] if incomplete else None
    if pending is None:
        pending = (
            Subscription.objects.filter(patient=actor, status=SubscriptionStatus.INCOMPLETE)
            .order_by("-created_at", "-id")
            .first()
        )
    if pending is None:
        return None
    data = gateway.subscription_retrieve(pending.stripe_subscription_id, with_confirmation_secret=True)
    mirrored = subscription_apply_snapshot(data=data, snapshot_at=timezone.now())
    if mirrored is not None and mirrored.status in LIVE_STATUSES:
        raise AlreadySubscribed()
    if data["status"] != SubscriptionStatus.INCOMPLETE:
        StripeCustomer.objects.filter(pk=customer.pk, subscription_attempt=customer.subscription_attempt).update(
            subscription_attempt=F("subscription_attempt") + 1
        )
        customer.refresh_from_db()
        return None
    return data


def _subscription_create(
    *,
    actor: User,
    customer: StripeCustomer,
    subscriptions: list[Subscription],
    price: str,
    gateway: StripeBillingGateway,
) -> dict:
    # Every subscription Stripe holds for the customer used up one attempt: an expired one
    # must not replay its idempotency key (the key would hand back the dead subscription).
    attempt = max(customer.subscription_attempt, len(subscriptions) + 1)
    if attempt != customer.subscription_attempt:
        StripeCustomer.objects.filter(pk=customer.pk).update(subscription_attempt=attempt)
        customer.subscription_attempt = attempt
    return gateway.subscription_create(
        customer_id=customer.stripe_customer_id,
        price_id=price,
        patient_public_id=str(actor.public_id),
        idempotency_key=f"sub-{actor.public_id}-{customer.subscription_attempt}",
    )


def portal_session_start(*, actor: User, request=None) -> str:
    """A Stripe customer portal link (update card, invoices, cancel at period end)."""
    gateway = get_gateway()
    customer = StripeCustomer.objects.filter(patient=actor).first()
    if customer is None:
        raise NoBillingAccount()
    data = gateway.portal_session_create(
        customer_id=customer.stripe_customer_id,
        idempotency_key=f"portal-{customer.stripe_customer_id}-{_bucket(_PORTAL_BUCKET_SECONDS)}",
    )
    audit_log(request, AuditAction.READ, actor, actor=actor, detail="billing portal session")
    return data["url"]


def subscription_cancel(*, actor: User, subscription_public_id=None, request=None) -> Subscription:
    """Cancel at the end of the paid period (the patient keeps their membership until then).

    Someone else's subscription, or none, is not found (404).
    """
    subscription = subscription_for_patient(viewer=actor, public_id=subscription_public_id)
    if subscription.status not in LIVE_STATUSES:
        raise NotCancellable()
    if subscription.cancel_at_period_end:
        return subscription
    gateway = get_gateway()
    # Keyed on the snapshot we hold: a double tap replays, a cancel after a resume is new.
    key = f"cancel-{subscription.stripe_subscription_id}-{int(subscription.snapshot_at.timestamp() * 1000)}"
    data = gateway.subscription_cancel_at_period_end(subscription.stripe_subscription_id, idempotency_key=key)
    with transaction.atomic():
        updated = subscription_apply_snapshot(data=data, snapshot_at=timezone.now()) or subscription
        audit_log(request, AuditAction.UPDATE, updated, actor=actor, detail="cancel_at_period_end")
    return updated
