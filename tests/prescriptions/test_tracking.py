"""Carrier tracking: the signed webhook, duplicates and out-of-order updates, the poll fallback,
the EasyPost adapter over a fake transport, and the notices."""

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import responses
import time_machine
from django.core import mail
from django.db import connection

from accounts.notifications import sms_outbox
from prescriptions.carriers import EASYPOST_STATUS_MAP, EasyPostCarrierTracker, FakeCarrierTracker, normalise
from prescriptions.models import CarrierEvent, NoticeKind, OrderEvent, OrderNotice, OrderStatus
from prescriptions.services import tracking
from prescriptions.tasks import alert_silent_shipments, poll_stale_shipments
from tests.prescriptions.conftest import sign_body, tracker_event

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def shipped_order(order_factory):
    return order_factory(
        status=OrderStatus.SHIPPED,
        carrier="USPS",
        tracking_number="9400100000000000000000",
        tracker_id="trk_test_1",
        shipped_at=T0 - timedelta(hours=1),
    )


# --- webhook signature -------------------------------------------------------------------------
def test_webhook_with_bad_signature_is_400_and_changes_nothing(post_webhook, shipped_order):
    body = tracker_event(event_id="evt_1", tracker_id="trk_test_1", status="delivered", updated_at=iso(T0))
    response = post_webhook(body, signature=sign_body(body, secret="someone-else"))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    shipped_order.refresh_from_db()
    assert shipped_order.status == OrderStatus.SHIPPED
    assert not CarrierEvent.objects.exists() and not OrderEvent.objects.exists()


def test_webhook_without_signature_or_with_tampered_body_is_400(post_webhook, shipped_order):
    body = tracker_event(event_id="evt_1", tracker_id="trk_test_1", status="delivered", updated_at=iso(T0))
    assert post_webhook(body, signature="").status_code == 400
    tampered = body.replace(b"delivered", b"returned_")
    assert post_webhook(tampered, signature=sign_body(body)).status_code == 400
    shipped_order.refresh_from_db()
    assert shipped_order.status == OrderStatus.SHIPPED


def test_webhook_refuses_everything_when_no_secret_is_configured(post_webhook, shipped_order, settings):
    body = tracker_event(event_id="evt_1", tracker_id="trk_test_1", status="delivered", updated_at=iso(T0))
    signature = sign_body(body, secret="")
    settings.EASYPOST_WEBHOOK_SECRET = ""
    assert post_webhook(body, signature=signature).status_code == 400
    shipped_order.refresh_from_db()
    assert shipped_order.status == OrderStatus.SHIPPED


def test_webhook_get_is_not_allowed(client):
    assert client.get("/webhooks/easypost/").status_code == 405


# --- applying updates --------------------------------------------------------------------------
def test_signed_webhook_moves_the_order_and_records_the_source(post_webhook, shipped_order):
    body = tracker_event(event_id="evt_1", tracker_id="trk_test_1", status="in_transit", updated_at=iso(T0))
    response = post_webhook(body)
    assert response.status_code == 200
    assert response.json() == {"outcome": "applied"}
    shipped_order.refresh_from_db()
    assert shipped_order.status == OrderStatus.IN_TRANSIT
    assert shipped_order.last_carrier_update == T0
    event = OrderEvent.objects.get(order=shipped_order)
    assert (event.from_status, event.to_status, event.source, event.actor) == (
        "shipped",
        "in_transit",
        "easypost",
        None,
    )


def test_duplicated_webhook_changes_nothing_twice(post_webhook, shipped_order):
    body = tracker_event(event_id="evt_dup", tracker_id="trk_test_1", status="in_transit", updated_at=iso(T0))
    assert post_webhook(body).json()["outcome"] == "applied"
    assert post_webhook(body).json()["outcome"] == "duplicate"
    assert OrderEvent.objects.filter(order=shipped_order).count() == 1
    assert CarrierEvent.objects.filter(event_id="easypost:evt_dup").count() == 1


def test_out_of_order_webhook_is_ignored_and_delivered_stays_delivered(post_webhook, shipped_order):
    delivered = tracker_event(event_id="evt_2", tracker_id="trk_test_1", status="delivered", updated_at=iso(T0))
    late = tracker_event(
        event_id="evt_1", tracker_id="trk_test_1", status="in_transit", updated_at=iso(T0 - timedelta(hours=5))
    )
    assert post_webhook(delivered).json()["outcome"] == "applied"
    assert post_webhook(late).json()["outcome"] == "stale"
    shipped_order.refresh_from_db()
    assert shipped_order.status == OrderStatus.DELIVERED
    assert shipped_order.last_carrier_update == T0
    assert list(OrderEvent.objects.filter(order=shipped_order).values_list("to_status", flat=True)) == ["delivered"]


def test_a_newer_update_that_would_move_backwards_is_ignored(post_webhook, shipped_order):
    post_webhook(tracker_event(event_id="e1", tracker_id="trk_test_1", status="delivered", updated_at=iso(T0)))
    later = tracker_event(
        event_id="e2", tracker_id="trk_test_1", status="in_transit", updated_at=iso(T0 + timedelta(hours=1))
    )
    assert post_webhook(later).json()["outcome"] == "not_allowed"
    shipped_order.refresh_from_db()
    assert shipped_order.status == OrderStatus.DELIVERED


def test_unknown_tracker_is_acknowledged_without_changes(post_webhook, shipped_order):
    body = tracker_event(event_id="evt_x", tracker_id="trk_nobody", status="delivered", updated_at=iso(T0))
    response = post_webhook(body)
    assert response.status_code == 200 and response.json()["outcome"] == "unknown_tracker"
    assert not CarrierEvent.objects.exists()


def test_non_tracker_events_are_ignored(post_webhook):
    body = json.dumps({"id": "evt_b", "description": "batch.updated", "result": {}}).encode()
    assert post_webhook(body).json() == {"outcome": "ignored"}


@pytest.mark.parametrize(("carrier_status", "ours"), sorted(EASYPOST_STATUS_MAP.items()))
def test_every_easypost_status_is_mapped(carrier_status, ours):
    assert normalise(carrier_status) == ours


# --- notices -----------------------------------------------------------------------------------
def test_patient_is_told_of_delivery_without_drug_name(post_webhook, shipped_order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(tracker_event(event_id="e1", tracker_id="trk_test_1", status="delivered", updated_at=iso(T0)))
    bodies = [m.body for m in mail.outbox] + [s.body for s in sms_outbox]
    assert bodies and all("ketamine" not in b.lower() and "troche" not in b.lower() for b in bodies)
    assert any("delivered" in b for b in bodies)
    assert OrderNotice.objects.filter(order=shipped_order, kind=NoticeKind.PATIENT_DELIVERED).count() == 1


def test_staff_are_alerted_once_on_exception(post_webhook, shipped_order, settings, django_capture_on_commit_callbacks):
    settings.CARE_TEAM_ALERT_EMAILS = ["oncall@practice.example"]
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(tracker_event(event_id="e1", tracker_id="trk_test_1", status="failure", updated_at=iso(T0)))
    assert tracking.order_notice_send(order_id=shipped_order.pk, kind=NoticeKind.STAFF_EXCEPTION) is False
    alerts = [m for m in mail.outbox if m.to == ["oncall@practice.example"]]
    assert len(alerts) == 1
    assert str(shipped_order.public_id) in alerts[0].body
    assert shipped_order.ship_to_name not in alerts[0].body


def test_silent_shipment_alert_is_sent_once(shipped_order, settings, django_capture_on_commit_callbacks):
    settings.CARE_TEAM_ALERT_EMAILS = ["oncall@practice.example"]
    with time_machine.travel(T0 + timedelta(hours=71), tick=False):
        assert alert_silent_shipments() == 0
    with time_machine.travel(T0 + timedelta(hours=74), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert alert_silent_shipments() == 1
        assert alert_silent_shipments() == 0  # already alerted: nothing queued twice
    assert OrderNotice.objects.filter(order=shipped_order, kind=NoticeKind.STAFF_SILENT).count() == 1
    assert len([m for m in mail.outbox if "No carrier update" in m.subject]) == 1


# --- poll fallback -----------------------------------------------------------------------------
def test_beat_polls_only_shipments_silent_for_the_threshold(shipped_order, order_factory):
    order_factory(status=OrderStatus.IN_TRANSIT, tracker_id="trk_recent", last_carrier_update=T0)
    FakeCarrierTracker.statuses["trk_test_1"] = ("out_for_delivery", T0 + timedelta(hours=4))
    with time_machine.travel(T0 + timedelta(hours=3, minutes=30), tick=False):
        assert tracking.stale_shipment_ids() == [shipped_order.pk]  # shipped 4.5 h ago, never heard of
        assert poll_stale_shipments() == 1
    shipped_order.refresh_from_db()
    assert shipped_order.status == OrderStatus.OUT_FOR_DELIVERY
    assert OrderEvent.objects.get(order=shipped_order).source == "poll"


def test_poll_twice_applies_once(shipped_order):
    FakeCarrierTracker.statuses["trk_test_1"] = ("in_transit", T0)
    assert tracking.shipment_poll(order_id=shipped_order.pk) == "applied"
    assert tracking.shipment_poll(order_id=shipped_order.pk) == "duplicate"
    assert OrderEvent.objects.filter(order=shipped_order).count() == 1


def test_webhook_after_poll_of_the_same_update_is_stale(post_webhook, shipped_order):
    FakeCarrierTracker.statuses["trk_test_1"] = ("in_transit", T0)
    tracking.shipment_poll(order_id=shipped_order.pk)
    body = tracker_event(event_id="evt_same", tracker_id="trk_test_1", status="in_transit", updated_at=iso(T0))
    assert post_webhook(body).json()["outcome"] == "stale"
    assert OrderEvent.objects.filter(order=shipped_order).count() == 1


def test_marking_shipped_starts_tracking_with_the_carrier(
    api, staff, order_factory, django_capture_on_commit_callbacks
):
    order = order_factory(status=OrderStatus.COMPOUNDING)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(staff).post(
            f"/api/v1/staff/delivery-orders/{order.public_id}/transition/",
            {"to": "shipped", "carrier": "USPS", "tracking_number": "EZ1000000001"},
            format="json",
        )
    assert response.status_code == 200, response.json()
    order.refresh_from_db()
    assert order.tracker_id.startswith("trk_fake_")
    assert order.status == OrderStatus.SHIPPED  # pre_transit keeps it shipped


# --- EasyPost adapter over a fake transport ----------------------------------------------------
@responses.activate
def test_easypost_tracker_create_and_retrieve_use_the_sdk_without_network(settings):
    settings.EASYPOST_API_KEY = "EZTK_test_key"
    tracker_json = {
        "id": "trk_abc",
        "object": "Tracker",
        "tracking_code": "EZ4000000004",
        "carrier": "USPS",
        "status": "delivered",
        "updated_at": "2026-11-20T15:00:00Z",
    }
    responses.post("https://api.easypost.com/v2/trackers", json={**tracker_json, "status": "pre_transit"}, status=201)
    responses.get("https://api.easypost.com/v2/trackers/trk_abc", json=tracker_json)
    tracker = EasyPostCarrierTracker()
    created = tracker.create(tracking_code="EZ4000000004", carrier="USPS")
    assert (created.tracker_id, created.status) == ("trk_abc", "pre_transit")
    fetched = tracker.retrieve(tracker_id="trk_abc")
    assert fetched.status == "delivered" and fetched.updated_at == datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    sent = json.loads(responses.calls[0].request.body)
    assert sent == {"tracker": {"tracking_code": "EZ4000000004", "carrier": "USPS"}}  # nothing about the patient
    assert responses.calls[0].request.headers["Authorization"] == "Bearer EZTK_test_key"


@responses.activate
def test_easypost_errors_become_retryable_carrier_errors(settings):
    from prescriptions.carriers import CarrierError

    settings.EASYPOST_API_KEY = "EZTK_test_key"
    responses.get("https://api.easypost.com/v2/trackers/trk_x", json={"error": {"message": "down"}}, status=503)
    with pytest.raises(CarrierError):
        EasyPostCarrierTracker().retrieve(tracker_id="trk_x")


# --- the race ----------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_poll_and_webhook_racing_leave_one_consistent_state(on_postgres, order_factory, client):
    """The webhook (delivered at T0) and a poll (in_transit, older) run at once: whatever the
    interleaving, the order ends delivered, with one transition to delivered and no step back."""
    order = order_factory(
        status=OrderStatus.SHIPPED, carrier="USPS", tracking_number="EZ4000000004", tracker_id="trk_race"
    )
    FakeCarrierTracker.statuses["trk_race"] = ("in_transit", T0 - timedelta(minutes=30))
    body = tracker_event(event_id="evt_race", tracker_id="trk_race", status="delivered", updated_at=iso(T0))
    barrier = threading.Barrier(2)
    results = {}

    def webhook():
        try:
            barrier.wait()
            results["webhook"] = client.post(
                "/webhooks/easypost/",
                data=body,
                content_type="application/json",
                HTTP_X_HMAC_SIGNATURE=sign_body(body),
            ).json()["outcome"]
        finally:
            connection.close()

    def poll():
        try:
            barrier.wait()
            results["poll"] = tracking.shipment_poll(order_id=order.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=webhook), threading.Thread(target=poll)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert order.last_carrier_update == T0
    statuses = list(OrderEvent.objects.filter(order=order).order_by("id").values_list("to_status", flat=True))
    assert statuses.count("delivered") == 1
    assert statuses in (["delivered"], ["in_transit", "delivered"])
    assert results["webhook"] == "applied"
    assert results["poll"] in ("applied", "stale")


@responses.activate
def test_poll_through_easypost_applies_the_retrieved_status(shipped_order, settings):
    settings.CARRIER_TRACKER = "easypost"
    settings.EASYPOST_API_KEY = "EZTK_test_key"
    responses.get(
        "https://api.easypost.com/v2/trackers/trk_test_1",
        json={"id": "trk_test_1", "object": "Tracker", "status": "in_transit", "updated_at": iso(T0)},
    )
    assert tracking.shipment_poll(order_id=shipped_order.pk) == "applied"
    shipped_order.refresh_from_db()
    assert (shipped_order.status, shipped_order.carrier_status) == ("in_transit", "in_transit")
