"""The one module that talks to Stripe.

Builds a `stripe.StripeClient` from settings with the API version pinned (STRIPE_API_VERSION) and
exposes the few calls billing needs, returning plain dicts. Every creating call carries an
idempotency key derived from local ids, so a double tap or a retry never creates two things.

Nothing sent from here carries health information: the product and invoice wording is
"Membership - monthly" and metadata holds only the patient's opaque public id.

Tests swap the transport, never this module: `use_http_client(FakeStripe())` makes every client
built here send its requests to a `stripe.HTTPClient` subclass that records them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import stripe
from django.conf import settings

from billing.errors import BillingUnavailable, StripeRequestFailed, StripeUnavailable

logger = logging.getLogger(__name__)

# What Stripe shows on the subscription and its invoices: never a drug, a diagnosis or a visit.
MEMBERSHIP_DESCRIPTION = "Membership - monthly"
# DOMAIN 7: the one plan, $250 a month.
MEMBERSHIP_AMOUNT_CENTS = 25000
MEMBERSHIP_CURRENCY = "usd"
MEMBERSHIP_LOOKUP_KEY = "membership_monthly"

_http_client_override: stripe.HTTPClient | None = None
_default_http_client: stripe.HTTPClient | None = None


@contextmanager
def use_http_client(http_client: stripe.HTTPClient) -> Iterator[stripe.HTTPClient]:
    """Send every Stripe request made inside the block through `http_client` (tests)."""
    global _http_client_override
    previous, _http_client_override = _http_client_override, http_client
    try:
        yield http_client
    finally:
        _http_client_override = previous


def _http_client() -> stripe.HTTPClient | None:
    global _default_http_client
    if _http_client_override is not None:
        return _http_client_override
    if _default_http_client is None:
        # One pooled client per process: a TLS handshake per call would be slow.
        _default_http_client = stripe.new_default_http_client()
    return _default_http_client


def _metadata(patient_public_id: str) -> dict[str, str]:
    return {"patient_public_id": str(patient_public_id)}


def _to_dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict(recursive=True) if hasattr(obj, "to_dict") else dict(obj)


class StripeBillingGateway:
    """The billing calls the practice makes to Stripe. Raise billing errors, never stripe's."""

    def __init__(self, client: stripe.StripeClient):
        self.client = client

    # --- wrapping ------------------------------------------------------------------------
    def _call(self, what: str, fn, *args, **kwargs) -> Any:
        try:
            return fn(*args, **kwargs)
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            logger.warning("stripe %s unavailable: %s", what, type(exc).__name__)
            raise StripeUnavailable() from exc
        except stripe.APIError as exc:
            logger.warning("stripe %s server error http_status=%s", what, exc.http_status)
            raise StripeUnavailable() from exc
        except stripe.StripeError as exc:
            # Log the code and Stripe's request id only: Stripe's messages can echo parameters.
            logger.error("stripe %s refused code=%s request_id=%s", what, exc.code, exc.request_id)
            raise StripeRequestFailed(extra={"provider_code": exc.code or ""}) from exc

    # --- customers -----------------------------------------------------------------------
    def customer_create(self, *, patient_public_id: str, email: str) -> dict[str, Any]:
        # The email is what Stripe needs for receipts and its own card-update emails; no name,
        # phone or address is sent (payment processing needs none of them).
        customer = self._call(
            "customer_create",
            self.client.v1.customers.create,
            params={"email": email, "metadata": _metadata(patient_public_id)},
            options={"idempotency_key": f"customer-{patient_public_id}"},
        )
        return _to_dict(customer)

    # --- the plan ------------------------------------------------------------------------
    def plan_create(self) -> dict[str, Any]:
        """The product "Membership - monthly" with its $250/month price (run once per account)."""
        price = self._call(
            "plan_create",
            self.client.v1.prices.create,
            params={
                "currency": MEMBERSHIP_CURRENCY,
                "unit_amount": MEMBERSHIP_AMOUNT_CENTS,
                "recurring": {"interval": "month", "interval_count": 1},
                "nickname": MEMBERSHIP_DESCRIPTION,
                "lookup_key": MEMBERSHIP_LOOKUP_KEY,
                "product_data": {"name": MEMBERSHIP_DESCRIPTION},
            },
            options={"idempotency_key": f"plan-{MEMBERSHIP_LOOKUP_KEY}-{MEMBERSHIP_AMOUNT_CENTS}"},
        )
        return _to_dict(price)

    def price_retrieve(self, price_id: str) -> dict[str, Any]:
        price = self._call("price_retrieve", self.client.v1.prices.retrieve, price_id, params={"expand": ["product"]})
        return _to_dict(price)

    # --- subscribing ---------------------------------------------------------------------
    def checkout_session_create(
        self, *, customer_id: str, price_id: str, patient_public_id: str, idempotency_key: str
    ) -> dict[str, Any]:
        session = self._call(
            "checkout_session_create",
            self.client.v1.checkout.sessions.create,
            params={
                "mode": "subscription",
                "customer": customer_id,
                "client_reference_id": str(patient_public_id),
                "line_items": [{"price": price_id, "quantity": 1}],
                "success_url": settings.BILLING_CHECKOUT_SUCCESS_URL,
                "cancel_url": settings.BILLING_CHECKOUT_CANCEL_URL,
                "metadata": _metadata(patient_public_id),
                "subscription_data": {
                    "description": MEMBERSHIP_DESCRIPTION,
                    "metadata": _metadata(patient_public_id),
                },
            },
            options={"idempotency_key": idempotency_key},
        )
        return _to_dict(session)

    def subscription_create(
        self, *, customer_id: str, price_id: str, patient_public_id: str, idempotency_key: str
    ) -> dict[str, Any]:
        """An incomplete subscription the mobile app confirms with PaymentSheet.

        Since the 2025 API the first invoice's client secret is at
        `latest_invoice.confirmation_secret` (expanding `latest_invoice.payment_intent` fails).
        """
        subscription = self._call(
            "subscription_create",
            self.client.v1.subscriptions.create,
            params={
                "customer": customer_id,
                "items": [{"price": price_id, "quantity": 1}],
                "payment_behavior": "default_incomplete",
                "payment_settings": {"save_default_payment_method": "on_subscription"},
                "description": MEMBERSHIP_DESCRIPTION,
                "metadata": _metadata(patient_public_id),
                "expand": ["latest_invoice.confirmation_secret"],
            },
            options={"idempotency_key": idempotency_key},
        )
        return _to_dict(subscription)

    def customer_session_create(self, *, customer_id: str, idempotency_key: str) -> dict[str, Any]:
        """A short-lived secret letting PaymentSheet show and save the customer's cards."""
        session = self._call(
            "customer_session_create",
            self.client.v1.customer_sessions.create,
            params={
                "customer": customer_id,
                "components": {
                    "mobile_payment_element": {
                        "enabled": True,
                        "features": {
                            "payment_method_save": "enabled",
                            "payment_method_redisplay": "enabled",
                            "payment_method_remove": "enabled",
                        },
                    }
                },
            },
            options={"idempotency_key": idempotency_key},
        )
        return _to_dict(session)

    # --- managing ------------------------------------------------------------------------
    def subscription_retrieve(self, subscription_id: str, *, with_confirmation_secret: bool = False) -> dict[str, Any]:
        expand = ["latest_invoice.confirmation_secret"] if with_confirmation_secret else ["latest_invoice"]
        subscription = self._call(
            "subscription_retrieve",
            self.client.v1.subscriptions.retrieve,
            subscription_id,
            params={"expand": expand},
        )
        return _to_dict(subscription)

    def subscription_cancel_at_period_end(self, subscription_id: str, *, idempotency_key: str) -> dict[str, Any]:
        subscription = self._call(
            "subscription_cancel_at_period_end",
            self.client.v1.subscriptions.update,
            subscription_id,
            params={"cancel_at_period_end": True, "expand": ["latest_invoice"]},
            options={"idempotency_key": idempotency_key},
        )
        return _to_dict(subscription)

    def customer_subscriptions(self, customer_id: str) -> list[dict[str, Any]]:
        """Every subscription of one customer at Stripe, whatever its status (the truth, not the mirror)."""
        params: dict[str, Any] = {
            "customer": customer_id,
            "status": "all",
            "limit": 100,
            "expand": ["data.latest_invoice"],
        }
        page = self._call("customer_subscriptions", self.client.v1.subscriptions.list, params=params)
        return [_to_dict(s) for s in page.data]

    def subscription_cancel_now(self, subscription_id: str) -> dict[str, Any]:
        """Cancel at once (used on incomplete subscriptions nobody paid: nothing to prorate)."""
        subscription = self._call(
            "subscription_cancel_now", self.client.v1.subscriptions.cancel, subscription_id, params={}
        )
        return _to_dict(subscription)

    def checkout_session_expire(self, session_id: str) -> dict[str, Any]:
        """Expire an open Checkout Session so it can no longer be paid."""
        session = self._call("checkout_session_expire", self.client.v1.checkout.sessions.expire, session_id)
        return _to_dict(session)

    def portal_session_create(self, *, customer_id: str, idempotency_key: str) -> dict[str, Any]:
        session = self._call(
            "portal_session_create",
            self.client.v1.billing_portal.sessions.create,
            params={"customer": customer_id, "return_url": settings.BILLING_PORTAL_RETURN_URL},
            options={"idempotency_key": idempotency_key},
        )
        return _to_dict(session)

    def subscriptions_list(self, *, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every subscription on the account (all statuses), page by page."""
        params: dict[str, Any] = {"status": "all", "limit": page_size, "expand": ["data.latest_invoice"]}
        while True:
            page = self._call("subscriptions_list", self.client.v1.subscriptions.list, params=params)
            items = [_to_dict(s) for s in page.data]
            yield from items
            if not page.has_more or not items:
                return
            params = {**params, "starting_after": items[-1]["id"]}

    # --- webhooks ------------------------------------------------------------------------
    @staticmethod
    def verify_webhook(payload: bytes, signature_header: str | None) -> None:
        """Raise stripe.SignatureVerificationError unless the raw body is signed with our secret
        within STRIPE_WEBHOOK_TOLERANCE_SECONDS (HMAC-SHA256 over "{t}.{payload}")."""
        stripe.WebhookSignature.verify_header(
            payload,
            signature_header,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )


def build_client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        stripe_version=settings.STRIPE_API_VERSION,
        http_client=_http_client(),
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def get_gateway() -> StripeBillingGateway:
    """The gateway, or `billing_unavailable` (409) when billing is switched off.

    BILLING_PROVIDER=sandbox answers from the offline sandbox account instead of Stripe
    (billing/sandbox.py, docs/billing.md#sandbox); everything else is the same code."""
    if not settings.BILLING_ENABLED:
        raise BillingUnavailable()
    if settings.BILLING_PROVIDER == "sandbox":
        from billing.sandbox import SandboxBillingGateway  # the sandbox imports this module

        return SandboxBillingGateway()
    return StripeBillingGateway(build_client())
