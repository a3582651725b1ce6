"""Fixtures of the prescriptions tests: catalogue, pharmacies, orders, webhook signing."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from prescriptions.carriers import FakeTracker
from tests.prescriptions.factories import DeliveryOrderFactory, ProductFactory, licensed_pharmacy

WEBHOOK_SECRET = "whsec-test-only-0123456789"


@pytest.fixture(autouse=True)
def _prescriptions_settings(settings):
    settings.EASYPOST_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.CARRIER_TRACKER = "fake"
    settings.PHARMACY_GATEWAY = "email"
    FakeTracker.statuses.clear()
    yield
    FakeTracker.statuses.clear()


@pytest.fixture
def product(db):
    return ProductFactory()


@pytest.fixture
def pharmacy(db):
    """Licensed for Florida and New Jersey."""
    return licensed_pharmacy("FL", "NJ", name="Sunshine Compounding")


@pytest.fixture
def fl_only_pharmacy(db):
    return licensed_pharmacy("FL", name="Gulf Coast Compounding")


@pytest.fixture
def order_factory(db):
    return DeliveryOrderFactory


def sign_body(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "hmac-sha256-hex=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def tracker_event(*, event_id: str, tracker_id: str, status: str, updated_at: str, carrier: str = "USPS") -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "Event",
            "description": "tracker.updated",
            "result": {
                "id": tracker_id,
                "object": "Tracker",
                "tracking_code": "9400100000000000000000",
                "carrier": carrier,
                "status": status,
                "updated_at": updated_at,
            },
        }
    ).encode()


@pytest.fixture
def post_webhook(client):
    def post(body: bytes, signature: str | None = None):
        headers = {} if signature == "" else {"HTTP_X_HMAC_SIGNATURE": signature or sign_body(body)}
        return client.post("/webhooks/easypost/", data=body, content_type="application/json", **headers)

    return post
