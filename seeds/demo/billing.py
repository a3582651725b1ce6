"""Demo memberships: mirror rows with fake Stripe ids (never sent to Stripe).

The billing step runs before the patients step, so on a first `manage.py seed` there may be no
demo patients yet. Two ways in, both idempotent:
- `seed_patient_subscription(user, status)` gives one patient a membership; the patients step
  (or anyone) can call it right after creating a demo patient;
- `run()` gives every existing demo patient (email @demo.practice.example) without a membership
  one, by email hint: "pastdue" -> past_due (4 days into the grace period), "lapsed" ->
  canceled, "prospect"/"new" -> none (free consultation only), anything else -> active.

With the billing sandbox (BILLING_PROVIDER=sandbox, the demo's default) each membership is also
registered with the sandbox account, under the same ids and in the same state (customer,
subscription, its three invoices; the open one of a past-due membership still payable), so a demo
patient can cancel, pay, resubscribe or be shown a failed renewal like any sandbox subscriber
(docs/billing.md#demo-memberships). Registering sends no events: the mirror already says it.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Role, User
from billing import sandbox
from billing.models import Invoice, StripeCustomer, Subscription, SubscriptionStatus

DEMO_DOMAIN = "@demo.practice.example"
PRICE = "price_demo_membership_monthly"


def _sandbox_on() -> bool:
    return settings.BILLING_ENABLED and settings.BILLING_PROVIDER == "sandbox"


def _price() -> str:
    # The sandbox's plan, so a demo membership and a new one have the same price.
    return settings.STRIPE_PRICE_ID if _sandbox_on() and settings.STRIPE_PRICE_ID else PRICE


def _ts(moment) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def register_with_sandbox(subscription: Subscription) -> bool:
    """Put a mirrored demo membership into the sandbox account (same ids, same state), unless it is
    there already. True when registered now."""
    if sandbox.load(sandbox.SUBSCRIPTION, subscription.stripe_subscription_id) is not None:
        return False
    patient, customer_id = subscription.patient, subscription.customer.stripe_customer_id
    if sandbox.load(sandbox.CUSTOMER, customer_id) is None:
        sandbox.save(
            sandbox.CUSTOMER,
            {
                "id": customer_id,
                "object": "customer",
                "email": patient.email,
                "metadata": {"patient_public_id": str(patient.public_id)},
            },
        )
    data = sandbox.make_subscription(
        customer_id=customer_id,
        price_id=subscription.price_id,
        metadata={"patient_public_id": str(patient.public_id)},
    )
    item = data["items"]["data"][0]
    item["price"]["id"] = subscription.price_id
    item["current_period_start"] = _ts(subscription.current_period_start)
    item["current_period_end"] = _ts(subscription.current_period_end)
    data.update(
        id=subscription.stripe_subscription_id,
        status=subscription.status,
        created=_ts(subscription.stripe_created_at),
        start_date=_ts(subscription.stripe_created_at),
        canceled_at=_ts(subscription.canceled_at),
        ended_at=_ts(subscription.ended_at),
    )
    invoices = list(subscription.invoices.order_by("stripe_created_at", "pk"))
    for position, invoice in enumerate(invoices):
        shaped = sandbox.make_invoice(
            data,
            billing_reason="subscription_create" if position == 0 else "subscription_cycle",
            period_start=_ts(invoice.period_start),
            period_end=_ts(invoice.period_end),
        )
        shaped.update(
            id=invoice.stripe_invoice_id,
            number=invoice.number,
            status=invoice.status,
            amount_due=invoice.amount_due,
            amount_paid=invoice.amount_paid,
            attempt_count=invoice.attempt_count,
            created=_ts(invoice.stripe_created_at),
        )
        shaped["status_transitions"]["paid_at"] = _ts(invoice.paid_at)
        if invoice.status != "open":
            shaped["confirmation_secret"] = None  # only an open invoice can still be paid
        sandbox.save(sandbox.INVOICE, shaped)
        data["latest_invoice"] = shaped["id"]
    sandbox.save(sandbox.SUBSCRIPTION, data)
    return True


def _status_for(email: str) -> str | None:
    local = email.split("@")[0].lower()
    if "pastdue" in local or "past-due" in local or "past_due" in local:
        return SubscriptionStatus.PAST_DUE
    if "lapsed" in local:
        return SubscriptionStatus.CANCELED
    if "prospect" in local or local.startswith("new"):
        return None
    return SubscriptionStatus.ACTIVE


def seed_patient_subscription(user: User, status: str = SubscriptionStatus.ACTIVE) -> Subscription:
    """One demo membership for `user` (fake ids derived from the user's public id)."""
    now = timezone.now()
    tag = user.public_id.hex[:14]
    customer, _ = StripeCustomer.objects.get_or_create(patient=user, defaults={"stripe_customer_id": f"cus_demo{tag}"})
    period_start = now - timedelta(days=10)
    past_due = status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)
    canceled = status == SubscriptionStatus.CANCELED
    subscription, _ = Subscription.objects.get_or_create(
        stripe_subscription_id=f"sub_demo{tag}",
        defaults={
            "patient": user,
            "customer": customer,
            "status": status,
            "price_id": _price(),
            "current_period_start": period_start,
            "current_period_end": period_start + timedelta(days=30),
            "canceled_at": now - timedelta(days=3) if canceled else None,
            "ended_at": now - timedelta(days=3) if canceled else None,
            "past_due_since": now - timedelta(days=4) if past_due else None,
            "stripe_created_at": now - timedelta(days=70),
            "snapshot_at": now - timedelta(days=1),
        },
    )
    for months_ago in (2, 1, 0):
        created = period_start - timedelta(days=30 * months_ago)
        unpaid = months_ago == 0 and past_due
        Invoice.objects.get_or_create(
            stripe_invoice_id=f"in_demo{tag}{months_ago}",
            defaults={
                "patient": user,
                "subscription": subscription,
                "number": f"DEMO-{tag[:6].upper()}-{3 - months_ago:04d}",
                "status": "open" if unpaid else "paid",
                "amount_due": 25000,
                "amount_paid": 0 if unpaid else 25000,
                "attempt_count": 2 if unpaid else 1,
                "period_start": created,
                "period_end": created + timedelta(days=30),
                "stripe_created_at": created,
                "paid_at": None if unpaid else created + timedelta(hours=1),
                "snapshot_at": now - timedelta(days=1),
            },
        )
    if _sandbox_on():
        register_with_sandbox(subscription)
    return subscription


def run(stdout) -> None:
    patients = User.objects.filter(role=Role.PATIENT, email__endswith=DEMO_DOMAIN, subscriptions__isnull=True)
    seeded = 0
    for user in patients.order_by("pk"):
        status = _status_for(user.email)
        if status is not None:
            seed_patient_subscription(user, status)
            seeded += 1
    stdout.write(f"  {seeded} demo memberships (patients seeded later get theirs on the next run)")
    if _sandbox_on():
        # Memberships seeded before the sandbox knew them (an older demo database) join it now.
        registered = sum(
            register_with_sandbox(subscription)
            for subscription in Subscription.objects.filter(
                patient__email__endswith=DEMO_DOMAIN, stripe_subscription_id__startswith="sub_demo"
            ).select_related("patient", "customer")
        )
        if registered:
            stdout.write(f"  {registered} earlier demo memberships registered with the billing sandbox")
