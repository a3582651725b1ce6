"""Shipment tracking behind one small adapter: `CarrierTracker`.

EasyPostCarrierTracker is the real one (EasyPost's own SDK: trackers create/retrieve, HMAC-signed
webhooks); FakeCarrierTracker is the default in development and tests (no network). Both return a
`TrackerUpdate`, whose raw carrier status `normalise()` maps to our order status.

Nothing about the patient or the drug is sent to the carrier service: a tracker is created from
the tracking code and carrier only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from prescriptions.models import OrderStatus

# EasyPost tracker statuses -> our order status (None: no status change, only "we heard from them").
EASYPOST_STATUS_MAP: dict[str, str | None] = {
    "pre_transit": OrderStatus.SHIPPED,
    "in_transit": OrderStatus.IN_TRANSIT,
    "out_for_delivery": OrderStatus.OUT_FOR_DELIVERY,
    "delivered": OrderStatus.DELIVERED,
    "return_to_sender": OrderStatus.RETURNED,
    # Held at a carrier facility: an adult must sign for a controlled substance, staff follow up.
    "available_for_pickup": OrderStatus.EXCEPTION,
    "failure": OrderStatus.EXCEPTION,
    "error": OrderStatus.EXCEPTION,
    "cancelled": OrderStatus.EXCEPTION,
    "unknown": None,
}


def normalise(carrier_status: str) -> str | None:
    return EASYPOST_STATUS_MAP.get(carrier_status)


@dataclass(frozen=True)
class TrackerUpdate:
    tracker_id: str
    tracking_code: str
    carrier: str
    status: str
    updated_at: datetime | None


class CarrierError(Exception):
    """The carrier service could not be reached or refused the call (transient: retry)."""


class CarrierTracker(Protocol):
    def create(self, *, tracking_code: str, carrier: str) -> TrackerUpdate: ...

    def retrieve(self, *, tracker_id: str) -> TrackerUpdate: ...


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def tracker_update_from(data: Any) -> TrackerUpdate:
    """An EasyPost Tracker (SDK object or the webhook's `result` dict) -> TrackerUpdate."""
    get = data.get if isinstance(data, dict) else (lambda key, default=None: getattr(data, key, default))
    return TrackerUpdate(
        tracker_id=str(get("id", "") or ""),
        tracking_code=str(get("tracking_code", "") or ""),
        carrier=str(get("carrier", "") or ""),
        status=str(get("status", "unknown") or "unknown"),
        updated_at=_parse_time(get("updated_at")),
    )


class EasyPostCarrierTracker:
    """EasyPost trackers through the SDK. `requests_session` swaps the HTTP transport (tests)."""

    def __init__(self, *, api_key: str | None = None, requests_session=None):
        import easypost

        api_key = api_key or settings.EASYPOST_API_KEY
        if not api_key:
            raise ImproperlyConfigured("CARRIER_TRACKER=easypost needs EASYPOST_API_KEY.")
        self.client = easypost.EasyPostClient(api_key, timeout=settings.EASYPOST_TIMEOUT_SECONDS)
        if requests_session is not None:
            self.client._requests_session = requests_session

    def _call(self, fn, **kwargs) -> TrackerUpdate:
        from easypost.errors import EasyPostError

        try:
            return tracker_update_from(fn(**kwargs))
        except EasyPostError as exc:
            raise CarrierError(type(exc).__name__) from exc

    def create(self, *, tracking_code: str, carrier: str) -> TrackerUpdate:
        return self._call(self.client.tracker.create, tracking_code=tracking_code, carrier=carrier)

    def retrieve(self, *, tracker_id: str) -> TrackerUpdate:
        return self._call(self.client.tracker.retrieve, id=tracker_id)


class FakeCarrierTracker:
    """In-memory tracker for development and tests. Tests set `FakeCarrierTracker.statuses[tracker_id]`
    to (status, updated_at) to script what a poll sees."""

    statuses: dict[str, tuple[str, datetime]] = {}

    def create(self, *, tracking_code: str, carrier: str) -> TrackerUpdate:
        tracker_id = "trk_fake_" + hashlib.sha256(f"{carrier}:{tracking_code}".encode()).hexdigest()[:16]
        status, updated_at = self.statuses.setdefault(tracker_id, ("pre_transit", timezone.now()))
        return TrackerUpdate(tracker_id, tracking_code, carrier, status, updated_at)

    def retrieve(self, *, tracker_id: str) -> TrackerUpdate:
        status, updated_at = self.statuses.get(tracker_id, ("unknown", None))
        return TrackerUpdate(tracker_id, "", "", status, updated_at)


_TRACKERS = {"easypost": EasyPostCarrierTracker, "fake": FakeCarrierTracker}


def carrier_tracker() -> CarrierTracker:
    try:
        return _TRACKERS[settings.CARRIER_TRACKER]()
    except KeyError as exc:
        raise ImproperlyConfigured(f"Unknown CARRIER_TRACKER {settings.CARRIER_TRACKER!r}") from exc


def verify_easypost_webhook(*, body: bytes, headers, secret: str | None = None) -> dict:
    """Verify EasyPost's `X-Hmac-Signature` (HMAC-SHA256 of the raw body, 'hmac-sha256-hex='
    prefix) with the SDK's own `validate_webhook`, and return the parsed event.

    Raises ValueError on a missing secret, a missing or wrong signature, or a body that is not JSON.
    """
    from easypost.errors import SignatureVerificationError
    from easypost.util import validate_webhook

    secret = settings.EASYPOST_WEBHOOK_SECRET if secret is None else secret
    if not secret:
        raise ValueError("no webhook secret configured")
    try:
        event = validate_webhook(event_body=body, headers=headers, webhook_secret=secret)
    except SignatureVerificationError as exc:
        raise ValueError("bad signature") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError("bad body") from exc
    if not isinstance(event, dict):
        raise ValueError("bad body")
    return event
