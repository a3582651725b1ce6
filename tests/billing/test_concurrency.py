"""Concurrency on PostgreSQL: the same Stripe event from several threads is applied once."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from billing.models import Subscription, WebhookEvent
from billing.services.webhooks import webhook_event_record
from billing.tasks import process_webhook_event
from tests.billing.fake_stripe import event, sign

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

THREADS = 6


def _run_together(target, count=THREADS):
    barrier = threading.Barrier(count)
    results, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            results.append(target())
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    return results


def test_one_stored_event_processed_by_several_workers_at_once_is_applied_once(on_postgres, member, fake_stripe):
    fake_stripe.set_status(member.stripe_subscription_id, "past_due")
    payload = json.dumps(
        event("customer.subscription.updated", fake_stripe.subscriptions[member.stripe_subscription_id])
    )
    stored = webhook_event_record(payload=payload.encode(), signature_header=sign(payload)).event

    results = _run_together(lambda: process_webhook_event.apply(args=[stored.pk]).get())

    assert sorted(str(r) for r in results) == ["None"] * (THREADS - 1) + ["processed"]
    stored.refresh_from_db()
    assert (stored.status, stored.attempts) == ("processed", 1)
    assert len(fake_stripe.sent("get", f"/v1/subscriptions/{member.stripe_subscription_id}")) == 1
    assert Subscription.objects.get(pk=member.pk).status == "past_due"


def test_the_same_delivery_posted_concurrently_is_stored_and_applied_once(on_postgres, member, fake_stripe):
    fake_stripe.set_status(member.stripe_subscription_id, "past_due")
    payload = json.dumps(
        event("customer.subscription.updated", fake_stripe.subscriptions[member.stripe_subscription_id])
    )
    header = sign(payload)

    def deliver():
        response = Client().post(
            "/webhooks/stripe/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
        return response.status_code

    statuses = _run_together(deliver)

    assert statuses == [200] * THREADS
    assert WebhookEvent.objects.count() == 1
    assert WebhookEvent.objects.get().status == "processed"
    assert len(fake_stripe.sent("get", f"/v1/subscriptions/{member.stripe_subscription_id}")) == 1


def test_racing_snapshots_never_leave_an_older_one_applied(on_postgres, member, fake_stripe):
    """Workers applying snapshots of different ages at once: the newest wins, whatever the order."""
    from datetime import timedelta

    from django.utils import timezone

    from billing.services.mirror import subscription_apply_snapshot

    base = dict(fake_stripe.subscriptions[member.stripe_subscription_id])
    now = timezone.now()
    statuses = ["active", "past_due", "unpaid", "active", "past_due", "canceled"]
    jobs = iter(range(THREADS))
    lock = threading.Lock()

    def apply():
        with lock:
            i = next(jobs)
        return subscription_apply_snapshot(
            data={**base, "status": statuses[i]}, snapshot_at=now + timedelta(seconds=i)
        ).pk

    _run_together(apply)
    member.refresh_from_db()
    assert member.status == "canceled"
    assert member.snapshot_at == now + timedelta(seconds=THREADS - 1)
