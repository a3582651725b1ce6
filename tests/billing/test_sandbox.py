"""The billing sandbox (BILLING_PROVIDER=sandbox): Stripe test mode, offline, through the real path.

Every change the sandbox makes reaches the mirror only as a signed event through the webhook
handler, applied after commit by the webhook task, so these tests check the same mirror, events
and standing the real Stripe adapter feeds.
"""

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from billing.models import Invoice, SandboxObject, Subscription, WebhookEvent
from billing.services.standing import patient_good_standing

pytestmark = pytest.mark.django_db

SUBSCRIPTION = "/api/v1/billing/subscription/"
CHECKOUT = "/api/v1/billing/checkout-session/"
CANCEL = "/api/v1/billing/subscription/cancel/"
PAY = "/api/v1/billing/sandbox/pay/"
RENEWAL = "/api/v1/billing/staff/sandbox/renewal/"
DECLINED = "4000000000000002"


@pytest.fixture(autouse=True)
def sandbox(settings):
    settings.BILLING_PROVIDER = "sandbox"
    settings.BILLING_ENABLED = True
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_sandbox"
    settings.STRIPE_PRICE_ID = "price_sandbox_membership_monthly"
    return settings


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """run(fn) -> fn(), with what commits after it (the webhook task, notices) applied, as in production."""

    def _run(fn):
        with django_capture_on_commit_callbacks(execute=True):
            return fn()

    return _run


def _subscribe_in_the_app(api, patient, run, card="4242424242424242"):
    started = run(lambda: api(patient).post(SUBSCRIPTION, {}, format="json"))
    assert started.status_code == 201, started.json()
    body = started.json()
    paid = run(lambda: api(patient).post(PAY, {"client_secret": body["client_secret"], "card": card}, format="json"))
    return body, paid


def test_the_app_subscribes_and_reaches_good_standing_through_signed_events(api, patient, run):
    body, paid = _subscribe_in_the_app(api, patient, run)
    assert body["provider"] == "sandbox" and body["status"] == "incomplete"
    assert body["publishable_key"] == "pk_test_sandbox"
    assert paid.status_code == 200, paid.json()
    assert paid.json()["status"] == "paid"

    mine = api(patient).get(SUBSCRIPTION).json()
    assert mine["subscription"]["status"] == "active"
    assert mine["standing"]["ok"] is True
    assert patient_good_standing(patient=patient).status == "active"
    # Reached through the webhook path: the events are stored and processed like Stripe's.
    types = set(WebhookEvent.objects.values_list("type", "status"))
    assert ("invoice.paid", "processed") in types
    assert ("customer.subscription.updated", "processed") in types
    invoice = Invoice.objects.get(patient=patient)
    assert invoice.status == "paid" and invoice.amount_paid == 25000


def test_the_web_checkout_completes_into_a_membership(api, patient, run):
    started = run(lambda: api(patient).post(CHECKOUT, {}, format="json"))
    assert started.status_code == 201, started.json()
    assert started.json()["provider"] == "sandbox"
    assert started.json()["url"].startswith("https://sandbox-billing.invalid/checkout/")
    session_id = started.json()["session_id"]
    paid = run(lambda: api(patient).post(PAY, {"checkout_session_id": session_id}, format="json"))
    assert paid.status_code == 200, paid.json()
    assert patient_good_standing(patient=patient).ok
    assert WebhookEvent.objects.filter(type="checkout.session.completed", status="processed").exists()
    again = run(lambda: api(patient).post(PAY, {"checkout_session_id": session_id}, format="json"))
    assert again.status_code == 409 and again.json()["code"] == "nothing_to_pay"


def test_a_declined_test_card_is_402_and_leaves_the_membership_incomplete(api, patient, run):
    body, declined = _subscribe_in_the_app(api, patient, run, card=DECLINED)
    assert declined.status_code == 402
    assert declined.json()["code"] == "card_declined"
    assert declined.json()["decline_code"] == "generic_decline"
    assert not patient_good_standing(patient=patient).ok
    assert Subscription.objects.get(patient=patient).status == "incomplete"
    # The first payment's decline is shown by the app; no dunning email for it.
    assert not [m for m in mail.outbox if "payment" in m.subject.lower()]
    paid = run(lambda: api(patient).post(PAY, {"client_secret": body["client_secret"]}, format="json"))
    assert paid.status_code == 200
    assert patient_good_standing(patient=patient).ok


def test_a_double_tap_on_subscribe_creates_one_subscription(api, patient, run):
    first = run(lambda: api(patient).post(SUBSCRIPTION, {}, format="json")).json()
    second = run(lambda: api(patient).post(SUBSCRIPTION, {}, format="json")).json()
    assert first["stripe_subscription_id"] == second["stripe_subscription_id"]
    assert SandboxObject.objects.filter(kind="subscription").count() == 1
    assert SandboxObject.objects.filter(kind="customer").count() == 1


def test_cancelling_keeps_the_membership_to_the_end_of_the_period(api, patient, run, staff):
    _subscribe_in_the_app(api, patient, run)
    cancelled = run(lambda: api(patient).post(CANCEL, {}, format="json"))
    assert cancelled.status_code == 200, cancelled.json()
    assert cancelled.json()["cancel_at_period_end"] is True
    subscription = Subscription.objects.get(patient=patient)
    assert subscription.cancel_at is not None
    assert patient_good_standing(patient=patient).ok
    after = timezone.localdate(subscription.cancel_at) + timezone.timedelta(days=1)
    assert patient_good_standing(patient=patient, on=after).status == "canceled"
    # At the end of the period the sandbox (as Stripe) ends the subscription.
    ended = run(lambda: api(staff).post(RENEWAL, {"patient": str(patient.public_id), "outcome": "paid"}, format="json"))
    assert ended.json()["outcome"] == "ended"
    assert Subscription.objects.get(patient=patient).status == "canceled"


def test_staff_simulate_a_failed_renewal_the_patient_is_told_and_the_grace_period_runs(api, patient, run, staff):
    _subscribe_in_the_app(api, patient, run)
    mail.outbox.clear()
    with time_machine.travel(timezone.now() + timezone.timedelta(days=30)):
        failed = run(
            lambda: api(staff).post(RENEWAL, {"patient": str(patient.public_id), "outcome": "failed"}, format="json")
        )
        assert failed.status_code == 200, failed.json()
        assert failed.json() == {
            "outcome": "failed",
            "subscription_status": "past_due",
            "invoice_id": failed.json()["invoice_id"],
            "attempt_count": 1,
        }
        standing = patient_good_standing(patient=patient)
        assert standing.status == "past_due_in_grace" and standing.ok
        assert Subscription.objects.get(patient=patient).past_due_since is not None
        assert len(mail.outbox) == 1  # the dunning notice, once
        unpaid = Invoice.objects.get(stripe_invoice_id=failed.json()["invoice_id"])
        assert unpaid.status == "open" and unpaid.attempt_count == 1
    with time_machine.travel(timezone.now() + timezone.timedelta(days=38)):
        assert patient_good_standing(patient=patient).status == "past_due"
        settled = run(
            lambda: api(staff).post(RENEWAL, {"patient": str(patient.public_id), "outcome": "paid"}, format="json")
        )
        assert settled.json()["subscription_status"] == "active"
        assert patient_good_standing(patient=patient).status == "active"
        assert Invoice.objects.get(stripe_invoice_id=failed.json()["invoice_id"]).status == "paid"


def test_someone_elses_client_secret_is_not_found(api, patient, other_patient, run):
    body = run(lambda: api(patient).post(SUBSCRIPTION, {}, format="json")).json()
    run(lambda: api(other_patient).post(SUBSCRIPTION, {}, format="json"))
    response = api(other_patient).post(PAY, {"client_secret": body["client_secret"]}, format="json")
    assert response.status_code == 404


def test_pay_needs_exactly_one_of_secret_and_session(api, patient):
    assert api(patient).post(PAY, {}, format="json").status_code == 400
    both = api(patient).post(PAY, {"client_secret": "x", "checkout_session_id": "y"}, format="json")
    assert both.status_code == 400 and both.json()["code"] == "validation_error"


def test_the_sandbox_routes_do_not_exist_with_real_stripe(api, patient, staff, settings):
    settings.BILLING_PROVIDER = "stripe"
    assert api(patient).post(PAY, {"client_secret": "pi_x_secret_y"}, format="json").status_code == 404
    response = api(staff).post(RENEWAL, {"patient": str(patient.public_id), "outcome": "failed"}, format="json")
    assert response.status_code == 404


def test_the_renewal_is_staff_only(api, patient, run):
    response = api(patient).post(RENEWAL, {"patient": str(patient.public_id), "outcome": "failed"}, format="json")
    assert response.status_code in (403, 404)


def test_a_forged_sandbox_event_is_refused(client):
    response = client.post(
        "/webhooks/stripe/", data="{}", content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=00"
    )
    assert response.status_code == 400
    assert WebhookEvent.objects.count() == 0
