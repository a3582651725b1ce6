import json

import pytest

from billing.gateway import use_http_client
from tests.billing.fake_stripe import WEBHOOK_SECRET, FakeStripe, sign

PRICE = "price_membership_monthly"


@pytest.fixture(autouse=True)
def billing_settings(settings):
    settings.BILLING_PROVIDER = "stripe"
    settings.BILLING_ENABLED = True
    settings.STRIPE_SECRET_KEY = "sk_test_fake_key"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_fake_key"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_PRICE_ID = PRICE
    settings.STRIPE_API_VERSION = "2026-10-28.endive"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.BILLING_PAST_DUE_GRACE_DAYS = 7
    return settings


@pytest.fixture
def fake_stripe():
    fake = FakeStripe()
    with use_http_client(fake):
        yield fake


@pytest.fixture
def post_event(client):
    """post_event(event_dict, timestamp=None, secret=...) -> response, signed like Stripe signs."""

    def _post(evt, *, timestamp=None, secret=WEBHOOK_SECRET, signature=None):
        payload = json.dumps(evt)
        header = signature if signature is not None else sign(payload, secret=secret, timestamp=timestamp)
        extra = {"HTTP_STRIPE_SIGNATURE": header} if header else {}
        return client.post("/webhooks/stripe/", data=payload, content_type="application/json", **extra)

    return _post


@pytest.fixture
def member(patient, fake_stripe):
    """The patient with a Stripe customer (at the fake and mirrored) and an active subscription."""
    from tests.billing.factories import mirror_from_fake

    customer = fake_stripe.add_customer(email=patient.email)
    subscription = fake_stripe.add_subscription(customer["id"], status="active")
    return mirror_from_fake(patient, customer, subscription)
