"""The local mirror of Stripe's billing state.

Stripe is the source of truth for payment state (docs/billing.md). These rows mirror it from signed
webhooks (and the nightly reconciliation), so the rest of the practice can ask "is this patient
in good standing?" without a network call. Nothing here holds health information, and nothing
here is sent to Stripe except opaque ids.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class StripeCustomer(models.Model):
    """The one Stripe customer of a patient, created once (idempotency key `customer-<public_id>`).

    It also remembers the patient's open Checkout Session and the attempt counters that make the
    idempotency keys of the subscribe calls stable across double taps, yet new after an expiry.
    """

    patient = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stripe_customer")
    stripe_customer_id = models.CharField(max_length=255, unique=True)
    checkout_attempt = models.PositiveIntegerField(default=1)
    checkout_session_id = models.CharField(max_length=255, blank=True)
    checkout_session_url = models.URLField(max_length=2000, blank=True)
    checkout_session_expires_at = models.DateTimeField(null=True, blank=True)
    subscription_attempt = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "Stripe customer"

    def __str__(self) -> str:
        return f"StripeCustomer {self.stripe_customer_id} (patient #{self.patient_id})"


class SubscriptionStatus(models.TextChoices):
    """Stripe's own subscription statuses, verbatim."""

    INCOMPLETE = "incomplete", "Incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete (expired)"
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELED = "canceled", "Canceled"
    UNPAID = "unpaid", "Unpaid"
    PAUSED = "paused", "Paused"


# Statuses in which a patient holds a membership (and so may not start a second one).
LIVE_STATUSES = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)


class Subscription(models.Model):
    """Mirror of one Stripe subscription of the $250/month plan.

    `snapshot_at` orders the snapshots applied to this row: a snapshot read (or sent) earlier than
    the one already applied is refused, so a delayed webhook or a slow worker never rolls the
    mirror back. `past_due_since` starts the dunning grace period (BILLING_PAST_DUE_GRACE_DAYS).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subscriptions")
    customer = models.ForeignKey(StripeCustomer, on_delete=models.PROTECT, related_name="subscriptions")
    stripe_subscription_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=32, choices=SubscriptionStatus.choices, db_index=True)
    price_id = models.CharField(max_length=255, blank=True)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    cancel_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    latest_invoice_id = models.CharField(max_length=255, blank=True)
    stripe_created_at = models.DateTimeField(null=True, blank=True)
    snapshot_at = models.DateTimeField(help_text="When the applied snapshot was true at Stripe (ordering guard).")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["patient", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in SubscriptionStatus]),
                name="billing_subscription_status_valid",
            ),
            # A past-due clock only runs while the subscription is past due or unpaid.
            models.CheckConstraint(
                condition=models.Q(past_due_since__isnull=True)
                | models.Q(status__in=[SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID]),
                name="billing_subscription_past_due_since_only_when_past_due",
            ),
        ]

    def __str__(self) -> str:
        return f"Subscription {self.stripe_subscription_id} ({self.status})"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    UNCOLLECTIBLE = "uncollectible", "Uncollectible"
    VOID = "void", "Void"


FINAL_INVOICE_STATUSES = (InvoiceStatus.PAID, InvoiceStatus.VOID)


class Invoice(models.Model):
    """Mirror of one Stripe invoice of a patient's membership (amounts in cents)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="invoices")
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    number = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=InvoiceStatus.choices)
    currency = models.CharField(max_length=3, default="usd")
    amount_due = models.PositiveIntegerField(default=0)
    amount_paid = models.PositiveIntegerField(default=0)
    attempt_count = models.PositiveIntegerField(default=0)
    hosted_invoice_url = models.URLField(max_length=2000, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    stripe_created_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # The last failed attempt the patient was told about: one notice per Stripe retry, never two.
    notified_attempt = models.PositiveIntegerField(default=0)
    snapshot_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-stripe_created_at", "-id"]
        indexes = [models.Index(fields=["patient", "stripe_created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in InvoiceStatus]),
                name="billing_invoice_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Invoice {self.stripe_invoice_id} ({self.status})"


class WebhookEventStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"
    FAILED = "failed", "Failed"


class WebhookEvent(models.Model):
    """One Stripe event, stored once by its id when its signature checked out.

    The webhook view only stores the event; a Celery task applies it after commit, claiming it
    with a compare-and-swap (pending -> processing), so a duplicate delivery or two workers apply
    it once.
    """

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=128, db_index=True)
    stripe_created_at = models.DateTimeField()
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=WebhookEventStatus.choices, default=WebhookEventStatus.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in WebhookEventStatus]),
                name="billing_webhookevent_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id} ({self.status})"


class SandboxObject(models.Model):
    """One object of the billing sandbox's simulated Stripe account (BILLING_PROVIDER=sandbox).

    The sandbox keeps what Stripe would keep (customers, subscriptions, invoices, Checkout
    Sessions, idempotent replies) as Stripe-shaped JSON, in the database so the web process and
    the Celery worker see the same account. Never used with the real Stripe. docs/billing.md#sandbox
    """

    object_id = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=32, db_index=True)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"sandbox {self.kind} {self.object_id}"
