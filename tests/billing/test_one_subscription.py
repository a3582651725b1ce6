"""One Stripe subscription per patient, whatever the order of Checkout (web) and PaymentSheet
(mobile) calls: each start asks Stripe (not only the mirror) under a per-patient lock, and makes
the other channel's pending payment unpayable."""

import itertools
import threading

import pytest
from django.db import connection

from billing.models import StripeCustomer

CHECKOUT = "/api/v1/billing/checkout-session/"
SUBSCRIPTION = "/api/v1/billing/subscription/"


def _payable(fake_stripe) -> int:
    sessions = [s for s in fake_stripe.checkout_sessions.values() if s["status"] == "open"]
    incomplete = [s for s in fake_stripe.subscriptions.values() if s["status"] == "incomplete"]
    return len(sessions) + len(incomplete)


def _live(fake_stripe) -> int:
    return sum(s["status"] in ("active", "trialing", "past_due") for s in fake_stripe.subscriptions.values())


@pytest.mark.django_db
def test_checkout_then_mobile_expires_the_open_checkout(api, patient, fake_stripe):
    session_id = api(patient).post(CHECKOUT, {}).json()["session_id"]
    mobile = api(patient).post(SUBSCRIPTION, {})
    assert mobile.status_code == 201, mobile.json()
    assert fake_stripe.checkout_sessions[session_id]["status"] == "expired"
    with pytest.raises(ValueError):
        fake_stripe.complete_checkout(session_id)  # the old web page can no longer be paid
    assert _payable(fake_stripe) == 1


@pytest.mark.django_db
def test_mobile_then_checkout_cancels_the_incomplete_subscription(api, patient, fake_stripe):
    subscription_id = api(patient).post(SUBSCRIPTION, {}).json()["stripe_subscription_id"]
    web = api(patient).post(CHECKOUT, {})
    assert web.status_code == 201, web.json()
    assert fake_stripe.subscriptions[subscription_id]["status"] in ("incomplete_expired", "canceled")
    with pytest.raises(ValueError):
        fake_stripe.pay_subscription(subscription_id)  # the app's PaymentSheet can no longer confirm it
    assert _payable(fake_stripe) == 1


@pytest.mark.django_db
def test_a_checkout_paid_before_its_webhook_arrived_refuses_the_mobile_start(api, patient, fake_stripe):
    session_id = api(patient).post(CHECKOUT, {}).json()["session_id"]
    fake_stripe.complete_checkout(session_id)  # paid at Stripe; the mirror knows nothing yet
    answer = api(patient).post(SUBSCRIPTION, {})
    assert answer.status_code == 409 and answer.json()["code"] == "already_subscribed"
    assert fake_stripe.sent("post", "/v1/subscriptions") == []
    assert _live(fake_stripe) == 1


@pytest.mark.django_db
def test_a_paymentsheet_paid_before_its_webhook_arrived_refuses_the_checkout_start(api, patient, fake_stripe):
    subscription_id = api(patient).post(SUBSCRIPTION, {}).json()["stripe_subscription_id"]
    fake_stripe.pay_subscription(subscription_id)
    answer = api(patient).post(CHECKOUT, {})
    assert answer.status_code == 409 and answer.json()["code"] == "already_subscribed"
    assert fake_stripe.sent("post", "/v1/checkout/sessions") == []
    assert _live(fake_stripe) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("order", list(itertools.product([CHECKOUT, SUBSCRIPTION], repeat=3)))
def test_any_order_of_starts_leaves_one_payable_thing_and_at_most_one_subscription(api, patient, fake_stripe, order):
    for url in order:
        assert api(patient).post(url, {}).status_code == 201
    assert _payable(fake_stripe) == 1
    # The patient pays everything still payable: one subscription results.
    for session in list(fake_stripe.checkout_sessions.values()):
        if session["status"] == "open":
            fake_stripe.complete_checkout(session["id"])
    for subscription in list(fake_stripe.subscriptions.values()):
        if subscription["status"] == "incomplete":
            fake_stripe.pay_subscription(subscription["id"])
    assert _live(fake_stripe) == 1
    for url in (CHECKOUT, SUBSCRIPTION):
        assert api(patient).post(url, {}).json()["code"] == "already_subscribed"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_checkout_and_mobile_starts_leave_one_payable_thing(on_postgres, api, patient, fake_stripe):
    urls = [CHECKOUT, SUBSCRIPTION] * 3
    barrier = threading.Barrier(len(urls))
    statuses, errors = [], []

    def start(url):
        try:
            barrier.wait(timeout=10)
            statuses.append(api(patient).post(url, {}).status_code)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(url,)) for url in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert set(statuses) <= {201, 409}
    assert _payable(fake_stripe) == 1
    assert StripeCustomer.objects.filter(patient=patient).count() == 1
