"""What happens on Stripe's side, played by the billing sandbox (BILLING_PROVIDER=sandbox only).

- `sandbox_payment_confirm`: the patient pays with a test card, as PaymentSheet (the app, with the
  `client_secret` from POST /billing/subscription/) or the Checkout page (the web, with the
  session id) would. Stripe then sends events; so does the sandbox.
- `sandbox_renewal_charge`: the next monthly charge, paid or declined (staff use it to show a
  failed payment: the membership goes past due, the patient gets the dunning notice, the grace
  period starts; a later paid charge settles it).

Every change reaches the mirror only through signed events and the webhook handler, as with
Stripe. docs/billing.md#sandbox
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from accounts.audit import audit_log
from accounts.models import AuditAction, Role, User
from api.errors import NotFound
from billing import sandbox as account
from billing.errors import CardDeclined, NothingToPay, SandboxOnly
from billing.models import StripeCustomer

# Stripe's default Smart Retries give up after this many failed attempts and mark the subscription unpaid.
_ATTEMPTS_BEFORE_UNPAID = 4


@dataclass(frozen=True)
class SandboxPayment:
    status: str  # the invoice's status at the sandbox: "paid"
    subscription_id: str  # Stripe's (sandbox's) subscription id
    invoice_id: str


def require_sandbox() -> None:
    if not (settings.BILLING_ENABLED and settings.BILLING_PROVIDER == "sandbox"):
        raise SandboxOnly()


def _customer_id_of(patient: User) -> str:
    customer = StripeCustomer.objects.filter(patient=patient).first()
    if customer is None:
        raise NotFound()
    return customer.stripe_customer_id


def _decline(card: str, *, invoice: dict | None) -> None:
    """A declined attempt: Stripe counts it on the invoice and sends invoice.payment_failed."""
    if invoice is not None:
        with transaction.atomic():
            invoice = account.load(account.INVOICE, invoice["id"], for_update=True)
            invoice["attempt_count"] += 1
            account.save(account.INVOICE, invoice)
            account.emit("invoice.payment_failed", invoice)
    raise CardDeclined(extra={"decline_code": account.DECLINES[card]})


def sandbox_payment_confirm(
    *, actor: User, card: str, client_secret: str = "", checkout_session_id: str = "", request=None
) -> SandboxPayment:
    """Pay the patient's first membership invoice (PaymentSheet) or Checkout Session with a test card."""
    require_sandbox()
    customer_id = _customer_id_of(actor)
    if client_secret:
        result = _pay_invoice(customer_id=customer_id, client_secret=client_secret, card=card)
    else:
        result = _pay_checkout(customer_id=customer_id, session_id=checkout_session_id, card=card)
    audit_log(request, AuditAction.UPDATE, actor, actor=actor, detail="billing sandbox payment")
    return result


def _pay_invoice(*, customer_id: str, client_secret: str, card: str) -> SandboxPayment:
    invoice = account.invoice_by_client_secret(client_secret)
    if invoice is None or invoice["customer"] != customer_id:
        raise NotFound()  # someone else's secret is not found either
    if invoice["status"] != "open":
        raise NothingToPay()
    if card in account.DECLINES:
        _decline(card, invoice=invoice)
    subscription_id = invoice["parent"]["subscription_details"]["subscription"]
    with transaction.atomic():
        invoice = account.mark_paid(account.load(account.INVOICE, invoice["id"], for_update=True))
        subscription = account.load(account.SUBSCRIPTION, subscription_id, for_update=True)
        account.save(account.INVOICE, invoice)
        subscription["status"] = "active"
        account.save(account.SUBSCRIPTION, subscription)
        account.emit("invoice.paid", invoice)
        account.emit("customer.subscription.updated", subscription)
    return SandboxPayment(status="paid", subscription_id=subscription_id, invoice_id=invoice["id"])


def _pay_checkout(*, customer_id: str, session_id: str, card: str) -> SandboxPayment:
    session = account.load(account.CHECKOUT_SESSION, session_id)
    if session is None or session["customer"] != customer_id:
        raise NotFound()
    if session["status"] != "open" or session["expires_at"] <= account.now_ts():
        raise NothingToPay("This Checkout Session is no longer open.")
    if card in account.DECLINES:
        _decline(card, invoice=None)  # Checkout shows the decline; no subscription exists yet
    with transaction.atomic():
        session = account.load(account.CHECKOUT_SESSION, session_id, for_update=True)
        subscription = account.make_subscription(
            customer_id=customer_id, price_id=session["price"], metadata=session["metadata"]
        )
        start, end = account.period_of(subscription)
        invoice = account.make_invoice(
            subscription, billing_reason="subscription_create", period_start=start, period_end=end
        )
        account.mark_paid(invoice)
        subscription.update(status="active", latest_invoice=invoice["id"])
        session.update(status="complete", subscription=subscription["id"])
        for kind, obj in (
            (account.INVOICE, invoice),
            (account.SUBSCRIPTION, subscription),
            (account.CHECKOUT_SESSION, session),
        ):
            account.save(kind, obj)
        account.emit("customer.subscription.created", subscription)
        account.emit("invoice.paid", invoice)
        account.emit("checkout.session.completed", session)
    return SandboxPayment(status="paid", subscription_id=subscription["id"], invoice_id=invoice["id"])


@dataclass(frozen=True)
class SandboxRenewal:
    outcome: str  # "paid", "failed" or "ended" (a membership set to cancel reached its end)
    subscription_status: str
    invoice_id: str | None
    attempt_count: int


def sandbox_renewal_charge(*, actor: User, patient_public_id, outcome: str, request=None) -> SandboxRenewal:
    """Charge the patient's membership for its next month (or retry the unpaid charge), paid or failed."""
    require_sandbox()
    patient = User.objects.filter(public_id=patient_public_id, role=Role.PATIENT).first()
    if patient is None:
        raise NotFound()
    customer_id = _customer_id_of(patient)
    live = [
        s for s in account.subscriptions_of(customer_id) if s["status"] in ("active", "trialing", "past_due", "unpaid")
    ]
    if not live:
        raise NothingToPay("This patient has no membership to charge.")
    with transaction.atomic():
        subscription = account.load(account.SUBSCRIPTION, live[-1]["id"], for_update=True)
        invoice = account.load(account.INVOICE, subscription.get("latest_invoice"), for_update=True)
        if invoice is None or invoice["status"] != "open":
            if subscription["cancel_at_period_end"]:
                # The period ends without a renewal: Stripe cancels the subscription.
                now = account.now_ts()
                subscription.update(status="canceled", ended_at=now)
                account.save(account.SUBSCRIPTION, subscription)
                account.emit("customer.subscription.deleted", subscription)
                result = SandboxRenewal("ended", "canceled", None, 0)
                audit_log(request, AuditAction.UPDATE, patient, actor=actor, detail="billing sandbox renewal")
                return result
            _, previous_end = account.period_of(subscription)
            item = subscription["items"]["data"][0]
            item["current_period_start"], item["current_period_end"] = previous_end, account.add_month(previous_end)
            invoice = account.make_invoice(
                subscription,
                billing_reason="subscription_cycle",
                period_start=item["current_period_start"],
                period_end=item["current_period_end"],
            )
            subscription["latest_invoice"] = invoice["id"]
        if outcome == "paid":
            account.mark_paid(invoice)
            subscription["status"] = "active"
            events = ["invoice.paid", "customer.subscription.updated"]
        else:
            invoice["attempt_count"] += 1
            subscription["status"] = "unpaid" if invoice["attempt_count"] >= _ATTEMPTS_BEFORE_UNPAID else "past_due"
            events = ["invoice.payment_failed", "customer.subscription.updated"]
        account.save(account.INVOICE, invoice)
        account.save(account.SUBSCRIPTION, subscription)
        for event_type in events:
            account.emit(event_type, invoice if event_type.startswith("invoice.") else subscription)
        audit_log(request, AuditAction.UPDATE, patient, actor=actor, detail="billing sandbox renewal")
    return SandboxRenewal(outcome, subscription["status"], invoice["id"], invoice["attempt_count"])
