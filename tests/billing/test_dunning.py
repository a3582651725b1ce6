"""Dunning and cancellation journeys, end to end through signed webhooks and the fake Stripe."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts import notifications
from accounts.models import AuditEvent
from api.clock import practice_date
from billing.services.standing import patient_good_standing
from tests.billing.fake_stripe import event

pytestmark = pytest.mark.django_db

PAST_DUE = "/api/v1/billing/staff/past-due/"
MINE = "/api/v1/billing/subscription/"
NOTICE = "Your payment for your membership didn't go through. Open the app to update your card."
HEALTH_WORDS = ("ketamine", "prescription", "depression", "treatment", "dose", "shipment", "visit")


@pytest.fixture
def deliver(post_event, django_capture_on_commit_callbacks):
    def _deliver(evt):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_event(evt)
        assert response.status_code == 200, response.content
        return response

    return _deliver


def _renewal_fails(fake_stripe, member, *, attempt=1):
    stripe_sub = fake_stripe.subscriptions[member.stripe_subscription_id]
    if attempt == 1:
        invoice = fake_stripe.add_invoice(stripe_sub, status="open", attempt_count=1)
    else:
        invoice = fake_stripe.invoices[stripe_sub["latest_invoice"]]
        invoice["attempt_count"] = attempt
    fake_stripe.set_status(member.stripe_subscription_id, "past_due")
    return invoice


def test_payment_failure_past_due_grace_pause_then_payment_resumes(api, member, patient, staff, fake_stripe, deliver):
    from tests.patients.factories import PatientProfileFactory

    PatientProfileFactory(user=patient, phone="+13055550100")  # the patients app holds the phone
    start = timezone.now()
    today = timezone.localdate()

    # 1. The renewal payment fails: Stripe marks the subscription past_due and tells us.
    invoice = _renewal_fails(fake_stripe, member)
    deliver(event("invoice.payment_failed", invoice))
    member.refresh_from_db()
    assert member.status == "past_due"
    assert member.past_due_since is not None and member.past_due_since <= start + timedelta(seconds=5)

    # The patient is told, without any health information, by email and SMS.
    assert [m.body for m in mail.outbox] == [NOTICE]
    assert [s.body for s in notifications.sms_outbox] == [NOTICE]
    assert notifications.sms_outbox[0].to == "+13055550100"
    assert not any(word in (mail.outbox[0].subject + NOTICE).lower() for word in HEALTH_WORDS)

    # 2. Within the grace period: still in good standing, shipments continue; staff see them.
    standing = patient_good_standing(patient=patient)
    assert (standing.ok, standing.status, standing.shipments_paused) == (True, "past_due_in_grace", False)
    assert standing.reason == "payment_past_due"
    rows = api(staff).get(PAST_DUE).json()["results"]
    assert [r["patient"]["id"] for r in rows] == [str(patient.public_id)]
    assert rows[0]["standing"]["shipments_paused"] is False

    # 3. Grace expires: new shipments pause, standing is lost.
    with time_machine.travel(start + timedelta(days=8)):
        standing = patient_good_standing(patient=patient)
        assert (standing.ok, standing.status, standing.shipments_paused) == (False, "past_due", True)
        assert api(staff).get(PAST_DUE).json()["results"][0]["standing"]["shipments_paused"] is True
        assert api(patient).get(MINE).json()["standing"]["status"] == "past_due"
        # Stripe's retry fails again: one more notice for the new attempt, none for a redelivery.
        retry = _renewal_fails(fake_stripe, member, attempt=2)
        failed_again = event("invoice.payment_failed", retry)
        deliver(failed_again)
        deliver(failed_again)
        assert len(mail.outbox) == 2

        # 4. The patient updates the card and pays: standing and shipments resume.
        fake_stripe.set_status(member.stripe_subscription_id, "active")
        paid = {**retry, "status": "paid", "amount_paid": 25000, "attempt_count": 3}
        deliver(event("invoice.paid", paid))
        member.refresh_from_db()
        assert (member.status, member.past_due_since) == ("active", None)
        standing = patient_good_standing(patient=patient)
        assert (standing.ok, standing.status, standing.shipments_paused) == (True, "active", False)
        assert api(staff).get(PAST_DUE).json()["results"] == []
        assert patient_good_standing(patient=patient, on=today + timedelta(days=8)).ok


def test_the_grace_period_is_a_setting(member, patient, fake_stripe, deliver, settings):
    settings.BILLING_PAST_DUE_GRACE_DAYS = 2
    deliver(event("invoice.payment_failed", _renewal_fails(fake_stripe, member)))
    today = practice_date()  # the grace period counts local days in the practice zone
    assert patient_good_standing(patient=patient, on=today + timedelta(days=1)).ok
    assert not patient_good_standing(patient=patient, on=today + timedelta(days=3)).ok


def test_without_a_patient_profile_the_notice_goes_by_email_only(member, fake_stripe, deliver):
    deliver(event("invoice.payment_failed", _renewal_fails(fake_stripe, member)))
    assert len(mail.outbox) == 1
    assert notifications.sms_outbox == []


def test_action_required_asks_the_patient_to_confirm_without_health_information(member, fake_stripe, deliver):
    invoice = _renewal_fails(fake_stripe, member)
    deliver(event("invoice.payment_action_required", invoice))
    (message,) = mail.outbox
    assert "confirm your membership payment" in message.body
    assert not any(word in message.body.lower() for word in HEALTH_WORDS)


def test_the_invoice_mirror_holds_amounts_status_and_link(api, member, patient, fake_stripe, deliver):
    invoice = _renewal_fails(fake_stripe, member)
    deliver(event("invoice.payment_failed", invoice))
    (row,) = api(patient).get("/api/v1/billing/invoices/").json()["results"]
    assert (row["status"], row["amount_due"], row["amount_paid"], row["currency"]) == ("open", 25000, 0, "usd")
    assert row["hosted_invoice_url"] == invoice["hosted_invoice_url"]
    assert row["period_end"] is not None


def test_cancel_at_period_end_keeps_standing_until_the_period_ends(api, member, patient, fake_stripe, deliver):
    response = api(patient).post("/api/v1/billing/subscription/cancel/", {})
    assert response.status_code == 200, response.json()
    assert response.json()["cancel_at_period_end"] is True

    (call,) = fake_stripe.sent("post", f"/v1/subscriptions/{member.stripe_subscription_id}")
    assert call.form["cancel_at_period_end"] == "true"
    assert call.idempotency_key.startswith(f"cancel-{member.stripe_subscription_id}-")
    assert call.stripe_version == "2026-10-28.endive"

    member.refresh_from_db()
    assert member.cancel_at_period_end and member.status == "active"
    assert AuditEvent.objects.filter(
        actor=patient, action="update", object_id=str(member.pk), detail="cancel_at_period_end"
    ).exists()
    period_end = member.current_period_end
    assert patient_good_standing(patient=patient).ok
    assert not patient_good_standing(patient=patient, on=timezone.localdate(period_end) + timedelta(days=1)).ok

    # A second tap changes nothing at Stripe.
    assert api(patient).post("/api/v1/billing/subscription/cancel/", {}).status_code == 200
    assert len(fake_stripe.sent("post", r"/v1/subscriptions/sub_\w+")) == 1

    # At the period end Stripe deletes the subscription and says so.
    with time_machine.travel(period_end + timedelta(minutes=5)):
        ended = fake_stripe.set_status(member.stripe_subscription_id, "canceled", ended_at=int(time.time()))
        deliver(event("customer.subscription.deleted", ended))
        member.refresh_from_db()
        assert member.status == "canceled" and member.ended_at is not None
        standing = patient_good_standing(patient=patient)
        assert (standing.ok, standing.status, standing.reason) == (False, "canceled", "subscription_inactive")


def test_a_past_due_clock_starts_when_the_invoice_fell_due_not_when_we_heard(member, fake_stripe, deliver):
    stripe_sub = fake_stripe.subscriptions[member.stripe_subscription_id]
    three_days_ago = int(time.time()) - 3 * 24 * 3600
    fake_stripe.add_invoice(stripe_sub, status="open", attempt_count=1, created=three_days_ago)
    fake_stripe.set_status(member.stripe_subscription_id, "past_due")
    deliver(event("customer.subscription.updated", stripe_sub))
    member.refresh_from_db()
    expected = datetime.fromtimestamp(three_days_ago + 3600, tz=UTC)  # the fake finalises an hour after
    assert member.past_due_since == expected


def test_a_declined_first_payment_is_not_dunned(api, patient, fake_stripe, deliver):
    """PaymentSheet and Checkout show the decline themselves; dunning is for renewals."""
    started = api(patient).post("/api/v1/billing/subscription/", {}).json()
    stripe_sub = fake_stripe.subscriptions[started["stripe_subscription_id"]]
    invoice = fake_stripe.invoices[stripe_sub["latest_invoice"]]
    deliver(event("invoice.payment_failed", {**invoice, "attempt_count": 1, "billing_reason": "subscription_create"}))
    assert mail.outbox == []
    renewal = {**invoice, "attempt_count": 1, "billing_reason": "subscription_cycle"}
    deliver(event("invoice.payment_failed", renewal))
    assert len(mail.outbox) == 1
