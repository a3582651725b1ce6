"""The Stripe webhook: signed or refused, stored once, applied once, in any order."""

import json
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from billing.models import Invoice, Subscription, WebhookEvent
from billing.services.mirror import subscription_apply_snapshot
from tests.billing.fake_stripe import event, sign

pytestmark = pytest.mark.django_db


def _subscription_updated(fake_stripe, member, created=None, **state):
    snapshot = {**fake_stripe.subscriptions[member.stripe_subscription_id], **state}
    return event("customer.subscription.updated", snapshot, created=created)


def test_a_signed_event_is_stored_and_applied_after_commit(
    member, fake_stripe, post_event, django_capture_on_commit_callbacks
):
    fake_stripe.set_status(member.stripe_subscription_id, "past_due")
    evt = _subscription_updated(fake_stripe, member)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_event(evt)
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    assert len(callbacks) == 1
    stored = WebhookEvent.objects.get(stripe_event_id=evt["id"])
    assert (stored.type, stored.status, stored.attempts) == ("customer.subscription.updated", "processed", 1)
    assert stored.processed_at is not None
    member.refresh_from_db()
    assert member.status == "past_due"


def test_nothing_is_applied_before_the_transaction_commits(member, fake_stripe, post_event):
    fake_stripe.set_status(member.stripe_subscription_id, "past_due")
    response = post_event(_subscription_updated(fake_stripe, member))  # on_commit never fires in this test
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == "pending"
    member.refresh_from_db()
    assert member.status == "active"


@pytest.mark.parametrize(
    "signature",
    [
        "",  # unsigned
        "t=1700000000",  # no v1
        "garbage",
        "t=notanumber,v1=abc",
    ],
)
def test_unsigned_or_malformed_signatures_are_refused_and_nothing_stored(member, fake_stripe, post_event, signature):
    response = post_event(_subscription_updated(fake_stripe, member), signature=signature)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()


def test_a_signature_with_the_wrong_secret_is_refused(member, fake_stripe, post_event):
    response = post_event(_subscription_updated(fake_stripe, member), secret="whsec_someone_else")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()


def test_a_stale_signature_is_refused(member, fake_stripe, post_event):
    response = post_event(_subscription_updated(fake_stripe, member), timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()


def test_a_signature_just_inside_the_tolerance_is_accepted(member, fake_stripe, post_event):
    response = post_event(_subscription_updated(fake_stripe, member), timestamp=int(time.time()) - 290)
    assert response.status_code == 200


def test_a_tampered_body_is_refused(member, fake_stripe, client):
    payload = json.dumps(_subscription_updated(fake_stripe, member))
    header = sign(payload)
    tampered = payload.replace('"active"', '"canceled"')
    response = client.post("/webhooks/stripe/", tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_signed_body_that_is_not_an_event_is_refused(client):
    payload = json.dumps({"hello": "world"})
    response = client.post(
        "/webhooks/stripe/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(payload)
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_payload"
    assert not WebhookEvent.objects.exists()


def test_get_is_405_in_the_envelope(client):
    response = client.get("/webhooks/stripe/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_the_same_event_delivered_twice_is_stored_and_applied_once(
    member, fake_stripe, post_event, django_capture_on_commit_callbacks
):
    fake_stripe.set_status(member.stripe_subscription_id, "past_due")
    evt = _subscription_updated(fake_stripe, member)
    with django_capture_on_commit_callbacks(execute=True):
        first = post_event(evt)
    with django_capture_on_commit_callbacks(execute=True):
        second = post_event(evt)
    assert first.status_code == second.status_code == 200
    assert second.json()["duplicate"] is True
    assert WebhookEvent.objects.count() == 1
    assert WebhookEvent.objects.get().attempts == 1
    reads = fake_stripe.sent("get", f"/v1/subscriptions/{member.stripe_subscription_id}")
    assert len(reads) == 1


def test_events_out_of_order_end_in_stripes_current_state(
    member, fake_stripe, post_event, django_capture_on_commit_callbacks
):
    """past_due (older) arrives after active (newer): the re-read from Stripe wins, never the stale payload."""
    now = int(time.time())
    older = _subscription_updated(fake_stripe, member, created=now - 60, status="past_due")
    newer = _subscription_updated(fake_stripe, member, created=now, status="active")
    fake_stripe.set_status(member.stripe_subscription_id, "active")  # Stripe's state now
    with django_capture_on_commit_callbacks(execute=True):
        post_event(newer)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(older)
    member.refresh_from_db()
    assert member.status == "active"
    assert member.past_due_since is None
    assert WebhookEvent.objects.filter(status="processed").count() == 2


def test_an_older_snapshot_is_never_applied_over_a_newer_one(member, fake_stripe):
    data = dict(fake_stripe.subscriptions[member.stripe_subscription_id])
    now = timezone.now()
    subscription_apply_snapshot(data={**data, "status": "canceled"}, snapshot_at=now)
    kept = subscription_apply_snapshot(data={**data, "status": "active"}, snapshot_at=now - timedelta(seconds=5))
    assert kept.status == "canceled"
    assert Subscription.objects.get(pk=member.pk).status == "canceled"
    same = subscription_apply_snapshot(data={**data, "status": "active"}, snapshot_at=now)
    assert same.status == "canceled"


def test_invoice_events_out_of_order_keep_the_invoice_paid_and_send_no_notice(
    member, fake_stripe, post_event, django_capture_on_commit_callbacks
):
    stripe_sub = fake_stripe.subscriptions[member.stripe_subscription_id]
    invoice = fake_stripe.add_invoice(stripe_sub, status="open", attempt_count=1)
    now = int(time.time())
    failed = event("invoice.payment_failed", {**invoice, "status": "open"}, created=now - 30)
    paid = event("invoice.paid", {**invoice, "status": "paid", "amount_paid": 25000}, created=now)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(paid)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(failed)
    mirrored = Invoice.objects.get(stripe_invoice_id=invoice["id"])
    assert (mirrored.status, mirrored.amount_paid) == ("paid", 25000)
    assert mail.outbox == []


def test_checkout_completed_mirrors_the_new_subscription_and_retires_the_session(
    api, patient, fake_stripe, post_event, django_capture_on_commit_callbacks
):
    started = api(patient).post("/api/v1/billing/checkout-session/", {}).json()
    session = fake_stripe.checkout_sessions[started["session_id"]]
    stripe_sub = fake_stripe.add_subscription(session["customer"], status="active")
    completed = {**session, "status": "complete", "subscription": stripe_sub["id"]}
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(event("checkout.session.completed", completed)).status_code == 200
    mirrored = Subscription.objects.get(patient=patient)
    assert (mirrored.stripe_subscription_id, mirrored.status) == (stripe_sub["id"], "active")
    assert mirrored.current_period_end is not None
    assert patient.stripe_customer.checkout_session_id == ""
    assert patient.stripe_customer.checkout_attempt == 2


def test_events_of_unknown_customers_are_ignored(fake_stripe, post_event, django_capture_on_commit_callbacks):
    stranger = fake_stripe.add_subscription("cus_not_ours", status="active")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(event("customer.subscription.created", stranger))
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == "ignored"
    assert not Subscription.objects.exists()


def test_unhandled_event_types_are_acknowledged_and_not_processed(
    fake_stripe, post_event, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_event(event("charge.refunded", {"id": "ch_1", "object": "charge"}))
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == "ignored"
    assert callbacks == []
    assert fake_stripe.requests == []


def test_stripe_unavailable_while_processing_leaves_the_event_pending_for_a_retry(
    member, fake_stripe, post_event, monkeypatch
):
    from billing.tasks import process_webhook_event

    monkeypatch.setattr(process_webhook_event, "max_retries", 0)  # no eager in-process retries here
    evt = _subscription_updated(fake_stripe, member)
    post_event(evt)
    stored = WebhookEvent.objects.get()
    fake_stripe.fail_with = (503, {"type": "api_error"})
    assert process_webhook_event.apply(args=[stored.pk]).get() == "pending"
    stored.refresh_from_db()
    assert stored.status == "pending"
    assert stored.error_code == "payment_provider_unavailable"
    fake_stripe.fail_with = None
    fake_stripe.set_status(member.stripe_subscription_id, "past_due")
    process_webhook_event.apply(args=[stored.pk])
    stored.refresh_from_db()
    member.refresh_from_db()
    assert (stored.status, member.status) == ("processed", "past_due")


def test_webhook_while_billing_is_off_is_503_so_stripe_retries(member, fake_stripe, post_event, settings):
    evt = _subscription_updated(fake_stripe, member)
    settings.BILLING_ENABLED = False
    response = post_event(evt)
    assert response.status_code == 503
    assert not WebhookEvent.objects.exists()


def test_the_webhook_is_documented_in_the_openapi_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/webhooks/stripe/"]["post"]
    assert {"200", "400"} <= set(operation["responses"])
    assert operation["parameters"][0]["name"] == "Stripe-Signature"


def test_a_live_mode_event_at_a_test_mode_endpoint_is_stored_but_never_applied(
    member, fake_stripe, post_event, django_capture_on_commit_callbacks
):
    fake_stripe.set_status(member.stripe_subscription_id, "canceled")
    evt = {**_subscription_updated(fake_stripe, member), "livemode": True}
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(evt).status_code == 200
    stored = WebhookEvent.objects.get()
    assert (stored.status, stored.error_code) == ("ignored", "livemode_mismatch")
    member.refresh_from_db()
    assert member.status == "active"


@pytest.mark.parametrize("body", ['["a list"]', '"a string"', '{"id": "evt_1", "type": "x", "created": 1e300}'])
def test_signed_bodies_of_the_wrong_shape_are_refused_not_crashed(client, body):
    response = client.post("/webhooks/stripe/", body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_payload"
