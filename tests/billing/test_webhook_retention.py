"""Stored Stripe events keep only what processing needs, and lose even that after the retention period."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Invoice, WebhookEvent
from billing.services.webhooks import webhook_payloads_purge
from billing.tasks import purge_webhook_payloads
from tests.billing.fake_stripe import event

pytestmark = pytest.mark.django_db


@pytest.fixture
def deliver(post_event, django_capture_on_commit_callbacks):
    def _deliver(evt):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_event(evt)
        assert response.status_code == 200, response.content
        return WebhookEvent.objects.get(stripe_event_id=evt["id"])

    return _deliver


def _failed_renewal(fake_stripe, member):
    subscription = fake_stripe.subscriptions[member.stripe_subscription_id]
    invoice = fake_stripe.add_invoice(subscription, status="open", attempt_count=1)
    invoice.update(
        customer_email="patient.a@example.test",
        customer_name="Alice Anders",
        customer_phone="+13055550100",
        customer_address={"line1": "1 Ocean Dr", "city": "Miami", "state": "FL", "postal_code": "33139"},
        customer_shipping={"name": "Alice Anders"},
    )
    return invoice


def test_an_invoice_event_is_stored_without_the_customers_email_name_or_address(deliver, fake_stripe, member):
    stored = deliver(event("invoice.payment_failed", _failed_renewal(fake_stripe, member)))
    text = json.dumps(stored.payload)
    for personal in ("patient.a@example.test", "Alice", "Anders", "Ocean", "33139", "+1305"):
        assert personal not in text
    assert stored.status == "processed"
    # What processing needs is still there: the invoice was mirrored from the stored payload.
    invoice = Invoice.objects.get(stripe_invoice_id=stored.payload["data"]["object"]["id"])
    assert (invoice.status, invoice.attempt_count, invoice.subscription.pk) == ("open", 1, member.pk)


def test_a_checkout_session_event_keeps_only_ids_and_mode(deliver, fake_stripe, member):
    session = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "mode": "subscription",
        "customer": member.customer.stripe_customer_id,
        "subscription": member.stripe_subscription_id,
        "customer_details": {"email": "patient.a@example.test", "name": "Alice Anders"},
        "customer_email": "patient.a@example.test",
    }
    stored = deliver(event("checkout.session.completed", session))
    assert stored.payload["data"]["object"] == {
        "id": "cs_test_1",
        "object": "checkout.session",
        "mode": "subscription",
        "customer": member.customer.stripe_customer_id,
        "subscription": member.stripe_subscription_id,
    }


def test_finished_payloads_are_emptied_after_the_retention_period_and_pending_ones_kept(
    deliver, fake_stripe, member, settings
):
    done = deliver(event("invoice.payment_failed", _failed_renewal(fake_stripe, member)))
    pending = WebhookEvent.objects.create(
        stripe_event_id="evt_pending",
        type="invoice.paid",
        stripe_created_at=timezone.now(),
        payload={"id": "evt_pending", "data": {"object": {"id": "in_x"}}},
        status="pending",
    )
    old = timezone.now() - timedelta(days=settings.BILLING_WEBHOOK_RETENTION_DAYS, minutes=1)
    WebhookEvent.objects.filter(pk__in=[done.pk, pending.pk]).update(received_at=old)
    fresh = deliver(event("invoice.payment_failed", _failed_renewal(fake_stripe, member)))

    assert purge_webhook_payloads.apply().get() == 1
    assert WebhookEvent.objects.get(pk=done.pk).payload == {}
    assert WebhookEvent.objects.get(pk=pending.pk).payload != {}
    assert WebhookEvent.objects.get(pk=fresh.pk).payload != {}
    assert WebhookEvent.objects.filter(stripe_event_id=done.stripe_event_id).exists()  # dedupe by id still works
    assert webhook_payloads_purge() == 0  # safe to run twice
