"""The nightly reconciliation: the mirror is compared with Stripe and drift fixed, safely twice."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from billing.models import Subscription, WebhookEvent
from billing.tasks import reconcile_subscriptions
from tests.billing.factories import mirror_from_fake
from tests.billing.fake_stripe import event
from tests.factories import PatientUserFactory

pytestmark = pytest.mark.django_db


def test_reconciliation_fixes_drift_and_is_safe_to_run_twice(member, patient, fake_stripe):
    # A missed webhook: Stripe says past_due and cancelling, the mirror still says active.
    fake_stripe.set_status(member.stripe_subscription_id, "past_due", cancel_at_period_end=True)
    # A second patient whose subscription was never mirrored at all.
    other = PatientUserFactory()
    other_customer = fake_stripe.add_customer(email=other.email)
    mirror_from_fake(other, other_customer, fake_stripe.add_subscription(other_customer["id"], status="active"))
    Subscription.objects.filter(patient=other).delete()
    # And a subscription of a customer that is not ours.
    fake_stripe.add_subscription("cus_not_ours", status="active")

    first = reconcile_subscriptions.apply().get()
    assert first == {"checked": 3, "created": 1, "changed": 1, "requeued": 0}
    member.refresh_from_db()
    assert (member.status, member.cancel_at_period_end) == ("past_due", True)
    assert member.past_due_since is not None
    assert Subscription.objects.get(patient=other).status == "active"

    (listing, *_) = fake_stripe.sent("get", "/v1/subscriptions")
    assert listing.form["status"] == "all"
    assert listing.stripe_version == "2026-10-28.endive"

    second = reconcile_subscriptions.apply().get()
    assert second == {"checked": 3, "created": 0, "changed": 0, "requeued": 0}
    assert Subscription.objects.count() == 2


def test_reconciliation_pages_through_every_subscription(fake_stripe, monkeypatch):
    from billing.gateway import get_gateway

    patients = PatientUserFactory.create_batch(3)
    for p in patients:
        customer = fake_stripe.add_customer(email=p.email)
        mirror_from_fake(p, customer, fake_stripe.add_subscription(customer["id"]))
    seen = list(get_gateway().subscriptions_list(page_size=2))
    assert len(seen) == 3
    pages = fake_stripe.sent("get", "/v1/subscriptions")
    assert len(pages) == 2 and pages[1].form["starting_after"] == seen[1]["id"]


def test_reconciliation_requeues_events_left_pending(member, fake_stripe, post_event):
    fake_stripe.set_status(member.stripe_subscription_id, "past_due")
    post_event(event("customer.subscription.updated", fake_stripe.subscriptions[member.stripe_subscription_id]))
    stored = WebhookEvent.objects.get()
    assert stored.status == "pending"  # its task message was lost
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        result = reconcile_subscriptions.apply().get()
    assert result["requeued"] == 1
    stored.refresh_from_db()
    assert stored.status == "processed"


def test_reconciliation_is_skipped_while_billing_is_off(settings, fake_stripe):
    settings.BILLING_ENABLED = False
    assert reconcile_subscriptions.apply().get() == {"skipped": True}
    assert fake_stripe.requests == []


def test_the_nightly_reconciliation_is_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["billing-reconcile-subscriptions"]
    assert entry["task"] == reconcile_subscriptions.name


def test_reconciliation_fixes_a_missed_invoice_paid(
    member, fake_stripe, post_event, django_capture_on_commit_callbacks
):
    from billing.models import Invoice

    stripe_sub = fake_stripe.subscriptions[member.stripe_subscription_id]
    invoice = fake_stripe.add_invoice(stripe_sub, status="open", attempt_count=1)
    fake_stripe.set_status(member.stripe_subscription_id, "past_due")
    with django_capture_on_commit_callbacks(execute=True):
        post_event(event("invoice.payment_failed", invoice))
    assert Invoice.objects.get(stripe_invoice_id=invoice["id"]).status == "open"
    # The card update succeeded but the invoice.paid webhook never arrived.
    invoice.update(status="paid", amount_paid=25000)
    fake_stripe.set_status(member.stripe_subscription_id, "active")
    reconcile_subscriptions.apply().get()
    mirrored = Invoice.objects.get(stripe_invoice_id=invoice["id"])
    assert (mirrored.status, mirrored.amount_paid) == ("paid", 25000)
    member.refresh_from_db()
    assert (member.status, member.past_due_since) == ("active", None)
