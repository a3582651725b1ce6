"""Demo memberships: mirror rows with fake Stripe ids (never sent to Stripe).

The billing step runs before the patients step, so on a first `manage.py seed` there may be no
demo patients yet. Two ways in, both idempotent:
- `seed_patient_subscription(user, status)` gives one patient a membership; the patients step
  (or anyone) can call it right after creating a demo patient;
- `run()` gives every existing demo patient (email @demo.practice.example) without a membership
  one, by email hint: "pastdue" -> past_due (4 days into the grace period), "lapsed" ->
  canceled, "prospect"/"new" -> none (free consultation only), anything else -> active.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import Role, User
from billing.models import Invoice, StripeCustomer, Subscription, SubscriptionStatus

DEMO_DOMAIN = "@demo.practice.example"
PRICE = "price_demo_membership_monthly"


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
            "price_id": PRICE,
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
