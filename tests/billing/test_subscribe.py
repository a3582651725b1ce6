"""Subscribing from the web (Checkout) and the app (PaymentSheet): what reaches Stripe, and once."""

import pytest
import time_machine
from django.utils import timezone

from billing.models import StripeCustomer, Subscription
from tests.billing.conftest import PRICE
from tests.billing.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

CHECKOUT = "/api/v1/billing/checkout-session/"
SUBSCRIPTION = "/api/v1/billing/subscription/"
PORTAL = "/api/v1/billing/portal-session/"


def test_web_checkout_returns_the_session_url_and_sends_a_subscription_mode_session(api, patient, fake_stripe):
    response = api(patient).post(CHECKOUT, {})
    assert response.status_code == 201, response.json()
    assert response.json()["url"].startswith("https://checkout.stripe.test/")

    (customer_call,) = fake_stripe.sent("post", "/v1/customers")
    assert customer_call.idempotency_key == f"customer-{patient.public_id}"
    assert customer_call.form == {"email": patient.email, "metadata[patient_public_id]": str(patient.public_id)}

    (session_call,) = fake_stripe.sent("post", "/v1/checkout/sessions")
    form = session_call.form
    assert form["mode"] == "subscription"
    assert form["customer"] == StripeCustomer.objects.get(patient=patient).stripe_customer_id
    assert form["line_items[0][price]"] == PRICE and form["line_items[0][quantity]"] == "1"
    assert form["client_reference_id"] == str(patient.public_id)
    assert form["subscription_data[description]"] == "Membership - monthly"
    assert form["subscription_data[metadata][patient_public_id]"] == str(patient.public_id)
    assert session_call.idempotency_key == f"checkout-{patient.public_id}-1"
    assert all(r.stripe_version == "2026-10-28.endive" for r in fake_stripe.requests)


def test_stripe_version_comes_from_settings(api, patient, fake_stripe, settings):
    settings.STRIPE_API_VERSION = "2025-03-31.basil"
    api(patient).post(CHECKOUT, {})
    assert {r.stripe_version for r in fake_stripe.requests} == {"2025-03-31.basil"}


def test_web_checkout_double_tap_reuses_the_open_session(api, patient, fake_stripe):
    first = api(patient).post(CHECKOUT, {}).json()
    second = api(patient).post(CHECKOUT, {}).json()
    assert first == second
    assert len(fake_stripe.checkout_sessions) == 1
    assert len(fake_stripe.customers) == 1


def test_web_checkout_after_the_session_expired_gets_a_new_one_with_a_new_key(api, patient, fake_stripe):
    first = api(patient).post(CHECKOUT, {}).json()
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=24, minutes=1)):
        second = api(patient).post(CHECKOUT, {}).json()
    assert first["session_id"] != second["session_id"]
    keys = [r.idempotency_key for r in fake_stripe.sent("post", "/v1/checkout/sessions")]
    assert keys == [f"checkout-{patient.public_id}-1", f"checkout-{patient.public_id}-2"]


def test_mobile_subscribe_returns_what_payment_sheet_needs(api, patient, fake_stripe):
    response = api(patient).post(SUBSCRIPTION, {})
    assert response.status_code == 201, response.json()
    body = response.json()
    stripe_sub = fake_stripe.subscriptions[body["stripe_subscription_id"]]
    invoice = fake_stripe.invoices[stripe_sub["latest_invoice"]]
    assert body["client_secret"] == invoice["confirmation_secret"]["client_secret"]
    assert body["customer_id"] == stripe_sub["customer"]
    assert body["customer_session_client_secret"].startswith("cuss_secret_")
    assert body["publishable_key"] == "pk_test_fake_key"
    assert body["status"] == "incomplete"

    (create,) = fake_stripe.sent("post", "/v1/subscriptions")
    assert create.form["payment_behavior"] == "default_incomplete"
    assert create.form["items[0][price]"] == PRICE
    assert create.form["expand[0]"] == "latest_invoice.confirmation_secret"
    assert create.form["payment_settings[save_default_payment_method]"] == "on_subscription"
    assert create.form["description"] == "Membership - monthly"
    assert {k for k in create.form if k.startswith("metadata")} == {"metadata[patient_public_id]"}
    assert create.idempotency_key == f"sub-{patient.public_id}-1"
    assert create.stripe_version == "2026-10-28.endive"

    (session,) = fake_stripe.sent("post", "/v1/customer_sessions")
    assert session.form["components[mobile_payment_element][enabled]"] == "true"
    assert session.idempotency_key.startswith(f"customer-session-{stripe_sub['id']}-")

    mirrored = Subscription.objects.get(patient=patient)
    assert (mirrored.status, str(mirrored.public_id)) == ("incomplete", body["subscription_id"])


def test_mobile_double_tap_reuses_the_incomplete_subscription(api, patient, fake_stripe):
    first = api(patient).post(SUBSCRIPTION, {}).json()
    second = api(patient).post(SUBSCRIPTION, {}).json()
    assert first["stripe_subscription_id"] == second["stripe_subscription_id"]
    assert first["client_secret"] == second["client_secret"]
    assert len(fake_stripe.sent("post", "/v1/subscriptions")) == 1
    assert len(fake_stripe.subscriptions) == 1
    assert Subscription.objects.filter(patient=patient).count() == 1
    # The reuse re-reads the subscription for its current secret.
    (read,) = fake_stripe.sent("get", r"/v1/subscriptions/sub_\w+")
    assert read.form["expand[0]"] == "latest_invoice.confirmation_secret"


def test_mobile_second_tap_asks_stripe_so_a_missing_mirror_row_creates_nothing(api, patient, fake_stripe):
    """The second tap misses the local mirror, but Stripe is asked: it reuses the first subscription."""
    first = api(patient).post(SUBSCRIPTION, {}).json()
    Subscription.objects.filter(patient=patient).delete()  # as if the first tap had not written yet
    second = api(patient).post(SUBSCRIPTION, {}).json()
    keys = [r.idempotency_key for r in fake_stripe.sent("post", "/v1/subscriptions")]
    assert keys == [f"sub-{patient.public_id}-1"]
    assert len(fake_stripe.subscriptions) == 1
    assert first["stripe_subscription_id"] == second["stripe_subscription_id"]
    assert Subscription.objects.filter(patient=patient).count() == 1


def test_mobile_after_the_incomplete_subscription_expired_creates_a_new_one(api, patient, fake_stripe):
    first = api(patient).post(SUBSCRIPTION, {}).json()
    fake_stripe.set_status(first["stripe_subscription_id"], "incomplete_expired")
    second = api(patient).post(SUBSCRIPTION, {}).json()
    assert second["stripe_subscription_id"] != first["stripe_subscription_id"]
    keys = [r.idempotency_key for r in fake_stripe.sent("post", "/v1/subscriptions")]
    assert keys == [f"sub-{patient.public_id}-1", f"sub-{patient.public_id}-2"]
    assert Subscription.objects.get(stripe_subscription_id=first["stripe_subscription_id"]).status == (
        "incomplete_expired"
    )


def test_mobile_when_the_incomplete_subscription_was_paid_meanwhile_is_409(api, patient, fake_stripe):
    first = api(patient).post(SUBSCRIPTION, {}).json()
    fake_stripe.set_status(first["stripe_subscription_id"], "active")
    response = api(patient).post(SUBSCRIPTION, {})
    assert response.status_code == 409
    assert response.json()["code"] == "already_subscribed"
    assert Subscription.objects.get(patient=patient).status == "active"


@pytest.mark.parametrize("url", [CHECKOUT, SUBSCRIPTION])
def test_subscribing_when_already_a_member_is_409_and_calls_no_stripe(api, patient, fake_stripe, url):
    SubscriptionFactory(customer__patient=patient, status="active")
    response = api(patient).post(url, {})
    assert response.status_code == 409
    assert response.json()["code"] == "already_subscribed"
    assert fake_stripe.requests == []


@pytest.mark.parametrize("url", [CHECKOUT, SUBSCRIPTION])
def test_an_unknown_price_is_refused_and_calls_no_stripe(api, patient, fake_stripe, url):
    response = api(patient).post(url, {"price_id": "price_something_else"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_price"
    assert body["fields"]["price_id"][0]["code"] == "unknown_price"
    assert fake_stripe.requests == []


def test_naming_the_plan_price_is_accepted(api, patient, fake_stripe):
    assert api(patient).post(CHECKOUT, {"price_id": PRICE}).status_code == 201


def test_a_malformed_body_is_a_validation_error(api, patient, fake_stripe):
    response = api(patient).post(CHECKOUT, {"price_id": ["a", "b"]}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize("url", [CHECKOUT, SUBSCRIPTION, PORTAL])
def test_billing_switched_off_is_409_billing_unavailable(api, patient, fake_stripe, settings, url):
    settings.BILLING_ENABLED = False
    response = api(patient).post(url, {})
    assert response.status_code == 409
    assert response.json()["code"] == "billing_unavailable"
    assert fake_stripe.requests == []


@pytest.mark.parametrize("failure", [(500, {"type": "api_error", "message": "boom"}), "connection"])
def test_stripe_down_is_503_and_saves_nothing(api, patient, fake_stripe, failure):
    fake_stripe.fail_with = failure
    response = api(patient).post(SUBSCRIPTION, {})
    assert response.status_code == 503
    assert response.json()["code"] == "payment_provider_unavailable"
    assert not StripeCustomer.objects.exists()
    assert not Subscription.objects.exists()


def test_stripe_refusing_a_request_is_502_with_a_stable_code(api, patient, fake_stripe):
    fake_stripe.fail_with = (400, {"type": "invalid_request_error", "code": "resource_missing", "message": "x"})
    response = api(patient).post(CHECKOUT, {})
    assert response.status_code == 502
    assert response.json()["code"] == "payment_provider_error"


def test_no_name_or_health_words_reach_stripe(api, patient, fake_stripe):
    api(patient).post(SUBSCRIPTION, {})
    api(patient).post(PORTAL)
    sent = " ".join(f"{k}={v}" for r in fake_stripe.requests for k, v in r.form.items()).lower()
    for word in (patient.first_name.lower(), patient.last_name.lower(), "ketamine", "depression", "prescription"):
        assert word not in sent


def test_portal_session_returns_the_portal_url(api, patient, fake_stripe, settings):
    api(patient).post(CHECKOUT, {})
    response = api(patient).post(PORTAL)
    assert response.status_code == 201
    assert response.json()["url"].startswith("https://billing.stripe.test/p/session/")
    (call,) = fake_stripe.sent("post", "/v1/billing_portal/sessions")
    assert call.form["return_url"] == settings.BILLING_PORTAL_RETURN_URL
    assert call.idempotency_key.startswith("portal-cus_")


def test_portal_without_a_billing_account_is_404(api, patient, fake_stripe):
    response = api(patient).post(PORTAL)
    assert response.status_code == 404
    assert response.json()["code"] == "no_billing_account"
