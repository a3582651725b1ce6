"""A fake Stripe for tests: a `stripe.HTTPClient` that records every request and answers like
Stripe would (with state, and idempotent replay of POSTs by Idempotency-Key). No network."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

MONTH = 30 * 24 * 3600


@dataclass
class SentRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]  # the form body (POST) or the query string (GET), flattened like Stripe encodes it

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")

    @property
    def stripe_version(self) -> str | None:
        return self.headers.get("Stripe-Version")


@dataclass
class FakeStripe(stripe.HTTPClient):
    name = "fake"
    requests: list[SentRequest] = field(default_factory=list)
    customers: dict[str, dict] = field(default_factory=dict)
    subscriptions: dict[str, dict] = field(default_factory=dict)
    invoices: dict[str, dict] = field(default_factory=dict)
    checkout_sessions: dict[str, dict] = field(default_factory=dict)
    prices: dict[str, dict] = field(default_factory=dict)
    fail_with: tuple[int, dict] | str | None = None  # (status, error body) or "connection"
    _replays: dict[str, tuple[str, int]] = field(default_factory=dict)
    _counter: int = 0

    def __post_init__(self):
        super().__init__()
        self._lock = threading.Lock()

    # --- stripe.HTTPClient ------------------------------------------------------------------
    def request(self, method, url, headers, post_data=None, *, _usage=None):
        parts = urlsplit(url)
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        form = dict(parse_qsl(body if method == "post" else parts.query, keep_blank_values=True))
        sent = SentRequest(method=method, path=parts.path, headers=dict(headers), form=form)
        with self._lock:
            self.requests.append(sent)
            if self.fail_with == "connection":
                raise stripe.APIConnectionError("fake network down")
            if self.fail_with is not None:
                status, error = self.fail_with
                return json.dumps({"error": error}), status, {}
            key = sent.idempotency_key if method == "post" else None
            if key and key in self._replays:
                text, status = self._replays[key]
                return text, status, {"Idempotent-Replayed": "true"}
            status, payload = self._route(sent)
            text = json.dumps(payload)
            if key:
                self._replays[key] = (text, status)
            return text, status, {}

    def close(self):
        pass

    # --- what tests look at -----------------------------------------------------------------
    def sent(self, method: str, path_pattern: str) -> list[SentRequest]:
        return [r for r in self.requests if r.method == method and re.fullmatch(path_pattern, r.path)]

    # --- state helpers ----------------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_test{self._counter:04d}"

    def add_customer(self, customer_id: str | None = None, email: str = "x@example.test") -> dict:
        customer = {"id": customer_id or self._id("cus"), "object": "customer", "email": email, "metadata": {}}
        self.customers[customer["id"]] = customer
        return customer

    def add_invoice(self, subscription: dict, *, status="open", attempt_count=0, created=None, **extra) -> dict:
        created = created or int(time.time())
        invoice = {
            "id": self._id("in"),
            "object": "invoice",
            "customer": subscription["customer"],
            "status": status,
            "currency": "usd",
            "amount_due": 25000,
            "amount_paid": 25000 if status == "paid" else 0,
            "attempt_count": attempt_count,
            "number": f"MEM-{self._counter:04d}",
            "hosted_invoice_url": f"https://invoice.stripe.test/i/{self._counter}",
            "created": created,
            "period_start": created,
            "period_end": created,
            "status_transitions": {
                "finalized_at": created + 3600 if status != "draft" else None,
                "paid_at": created + 3700 if status == "paid" else None,
            },
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": self._id("il"),
                        "object": "line_item",
                        "description": "Membership - monthly",
                        "period": {"start": created, "end": created + MONTH},
                    }
                ],
                "has_more": False,
            },
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": subscription["id"], "metadata": {}},
            },
            "confirmation_secret": {"client_secret": f"pi_{self._counter}_secret_abc", "type": "payment_intent"}
            if status == "open"
            else None,
            **extra,
        }
        self.invoices[invoice["id"]] = invoice
        subscription["latest_invoice"] = invoice["id"]
        return invoice

    def add_subscription(
        self, customer_id: str, *, status="active", price="price_membership_monthly", start=None, metadata=None
    ) -> dict:
        start = start or int(time.time())
        subscription = {
            "id": self._id("sub"),
            "object": "subscription",
            "customer": customer_id,
            "status": status,
            "created": start,
            "start_date": start,
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "description": "Membership - monthly",
            "metadata": metadata or {},
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": self._id("si"),
                        "object": "subscription_item",
                        "price": {"id": price, "object": "price", "unit_amount": 25000, "currency": "usd"},
                        "quantity": 1,
                        "current_period_start": start,
                        "current_period_end": start + MONTH,
                    }
                ],
                "has_more": False,
            },
            "latest_invoice": None,
        }
        self.subscriptions[subscription["id"]] = subscription
        self.add_invoice(subscription, status="paid" if status == "active" else "open", created=start)
        return subscription

    def complete_checkout(self, session_id: str) -> dict:
        """The patient pays on Stripe's Checkout page: the session completes with an active subscription."""
        session = self.checkout_sessions[session_id]
        if session["status"] != "open":
            raise ValueError(f"session {session_id} is {session['status']}, cannot be paid")
        subscription = self.add_subscription(session["customer"], status="active")
        session.update(status="complete", subscription=subscription["id"])
        return subscription

    def pay_subscription(self, subscription_id: str) -> dict:
        """The app confirms the PaymentSheet: an incomplete subscription becomes active."""
        subscription = self.subscriptions[subscription_id]
        if subscription["status"] != "incomplete":
            raise ValueError(f"subscription {subscription_id} is {subscription['status']}, cannot be paid")
        subscription["status"] = "active"
        return subscription

    def set_status(self, subscription_id: str, status: str, **changes) -> dict:
        subscription = self.subscriptions[subscription_id]
        subscription.update(status=status, **changes)
        return subscription

    def _expand(self, subscription: dict, expand: list[str]) -> dict:
        out = json.loads(json.dumps(subscription))
        invoice_id = out.get("latest_invoice")
        if invoice_id and any(e.endswith("latest_invoice") or "latest_invoice." in e for e in expand):
            invoice = json.loads(json.dumps(self.invoices[invoice_id]))
            if not any(e.endswith("confirmation_secret") for e in expand):
                invoice.pop("confirmation_secret", None)  # includable only, like Stripe
            out["latest_invoice"] = invoice
        return out

    # --- routing ----------------------------------------------------------------------------
    def _route(self, r: SentRequest) -> tuple[int, dict]:
        expand = [v for k, v in r.form.items() if k.startswith("expand[")]
        now = int(time.time())
        if r.method == "post" and r.path == "/v1/customers":
            customer = self.add_customer(email=r.form.get("email", ""))
            customer["metadata"] = {k[9:-1]: v for k, v in r.form.items() if k.startswith("metadata[")}
            return 200, customer
        if r.method == "post" and r.path == "/v1/checkout/sessions":
            session = {
                "id": self._id("cs"),
                "object": "checkout.session",
                "mode": r.form.get("mode"),
                "customer": r.form.get("customer"),
                "client_reference_id": r.form.get("client_reference_id"),
                "url": f"https://checkout.stripe.test/c/pay/{self._counter}",
                "expires_at": now + 24 * 3600,
                "status": "open",
            }
            self.checkout_sessions[session["id"]] = session
            return 200, session
        if r.method == "post" and r.path == "/v1/subscriptions":
            subscription = self.add_subscription(
                r.form["customer"],
                status="incomplete",
                price=r.form.get("items[0][price]"),
                metadata={k[9:-1]: v for k, v in r.form.items() if k.startswith("metadata[")},
            )
            return 200, self._expand(subscription, expand)
        match = re.fullmatch(r"/v1/checkout/sessions/(cs_\w+)/expire", r.path)
        if r.method == "post" and match:
            session = self.checkout_sessions.get(match.group(1))
            if session is None or session["status"] != "open":
                return 400, {"error": {"type": "invalid_request_error", "code": "checkout_session_not_open"}}
            session["status"] = "expired"
            return 200, session
        match = re.fullmatch(r"/v1/subscriptions/(sub_\w+)", r.path)
        if match:
            subscription = self.subscriptions.get(match.group(1))
            if subscription is None:
                return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing"}}
            if r.method == "delete":
                subscription["status"] = "incomplete_expired" if subscription["status"] == "incomplete" else "canceled"
                subscription["canceled_at"] = now
                subscription["ended_at"] = now
                return 200, self._expand(subscription, expand)
            if r.method == "post" and r.form.get("cancel_at_period_end") == "true":
                subscription["cancel_at_period_end"] = True
                subscription["cancel_at"] = subscription["items"]["data"][0]["current_period_end"]
            return 200, self._expand(subscription, expand)
        if r.method == "get" and r.path == "/v1/subscriptions":
            items = sorted(self.subscriptions.values(), key=lambda s: s["id"])
            if r.form.get("customer"):
                items = [s for s in items if s["customer"] == r.form["customer"]]
            after = r.form.get("starting_after")
            if after:
                items = [s for s in items if s["id"] > after]
            limit = int(r.form.get("limit", 10))
            page = items[:limit]
            inner = [e.removeprefix("data.") for e in expand]
            return 200, {
                "object": "list",
                "url": "/v1/subscriptions",
                "has_more": len(items) > limit,
                "data": [self._expand(s, inner) for s in page],
            }
        if r.method == "post" and r.path == "/v1/prices":
            price = {
                "id": self._id("price"),
                "object": "price",
                "active": True,
                "currency": r.form["currency"],
                "unit_amount": int(r.form["unit_amount"]),
                "recurring": {"interval": r.form["recurring[interval]"], "interval_count": 1},
                "lookup_key": r.form.get("lookup_key"),
                "product": self._id("prod"),
            }
            self.prices[price["id"]] = {
                **price,
                "product": {"id": price["product"], "object": "product", "name": r.form["product_data[name]"]},
            }
            return 200, price
        match = re.fullmatch(r"/v1/prices/(price_\w+)", r.path)
        if match and match.group(1) in self.prices:
            return 200, self.prices[match.group(1)]
        if r.method == "post" and r.path == "/v1/customer_sessions":
            return 200, {
                "object": "customer_session",
                "customer": r.form.get("customer"),
                "client_secret": f"cuss_secret_{self._id('cuss')}",
                "expires_at": now + 1800,
            }
        if r.method == "post" and r.path == "/v1/billing_portal/sessions":
            session_id = self._id("bps")
            return 200, {
                "id": session_id,
                "object": "billing_portal.session",
                "customer": r.form.get("customer"),
                "url": f"https://billing.stripe.test/p/session/{session_id}",
                "return_url": r.form.get("return_url"),
            }
        return 404, {"error": {"type": "invalid_request_error", "message": f"no fake route {r.method} {r.path}"}}


WEBHOOK_SECRET = "whsec_test_secret_for_local_signing"


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send: HMAC-SHA256 over "{t}.{payload}"."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


_event_counter = iter(range(1, 10**9))


def event(event_type: str, obj: dict[str, Any], *, created: int | None = None, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_test{next(_event_counter):06d}",
        "object": "event",
        "type": event_type,
        "created": created or int(time.time()),
        "livemode": False,
        "api_version": "2026-10-28.endive",
        "data": {"object": obj},
    }
