"""Delivery orders: creation rules, the pharmacy hand-off (once), and the views of each role."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.models import AuditEvent
from prescriptions.errors import FillRefused
from prescriptions.models import DeliveryOrder, OrderEvent, OrderStatus
from prescriptions.services.orders import delivery_order_create, delivery_order_hand_off
from prescriptions.tasks import hand_off_order
from tests.prescriptions.conftest import pause_shipments
from tests.prescriptions.factories import DeliveryOrderFactory

pytestmark = pytest.mark.django_db


# --- creation rules -----------------------------------------------------------------------------
def test_no_order_without_a_verified_address(patient, physician, signed):
    from patients.models import PatientProfile

    PatientProfile.objects.filter(user=patient).update(address_verified_at=None)
    with pytest.raises(FillRefused) as exc:
        delivery_order_create(actor=physician, prescription=signed, quantity=2)
    assert exc.value.code == "fill_refused"
    assert [r["code"] for r in exc.value.reasons] == ["address_not_verified"]
    assert DeliveryOrder.objects.filter(prescription=signed).count() == 1


def test_no_order_to_an_address_outside_the_service_area(patient, physician, signed):
    from patients.models import PatientProfile

    # A Florida address whose county is in New Jersey is not a service-area address.
    PatientProfile.objects.filter(user=patient).update(county_id="34013")
    with pytest.raises(FillRefused) as exc:
        delivery_order_create(actor=physician, prescription=signed, quantity=2)
    assert "address_not_verified" in [r["code"] for r in exc.value.reasons]


def test_new_orders_pause_when_the_membership_is_past_due(patient, physician, signed):
    pause_shipments(patient)
    with pytest.raises(FillRefused) as exc:
        delivery_order_create(actor=physician, prescription=signed, quantity=2)
    assert [r["code"] for r in exc.value.reasons] == ["subscription_past_due"]


def test_the_order_snapshots_the_verified_address(patient, signed):
    from patients.models import PatientProfile

    order = DeliveryOrder.objects.get(prescription=signed)
    PatientProfile.objects.filter(user=patient).update(address_line1="2 Elsewhere Rd")
    order.refresh_from_db()
    assert (order.ship_to_line1, order.ship_to_zip, order.ship_to_county_fips) == ("1 Ocean Drive", "33139", "12086")


# --- hand-off -----------------------------------------------------------------------------------
def test_first_fill_of_an_e_prescription_is_handed_off_without_any_email(signed, pharmacy, caplog):
    order = DeliveryOrder.objects.get(prescription=signed)
    assert order.status == OrderStatus.SENT_TO_PHARMACY  # the transmitted e-prescription is the hand-off
    assert [m for m in mail.outbox if m.to == [pharmacy.email]] == []
    with caplog.at_level(logging.DEBUG):
        assert hand_off_order(order.pk) is False  # a second run finds nothing to claim
    assert all("Alice" not in r.getMessage() and "AP5836727" not in r.getMessage() for r in caplog.records)
    events = list(OrderEvent.objects.filter(order=order).values_list("to_status", "source", "note"))
    assert events == [
        ("created", "system", "first fill: e-prescription transmitted"),
        ("sent_to_pharmacy", "pharmacy_gateway", "handed off (erx)"),
    ]


def test_a_refill_of_a_controlled_substance_sends_a_dispense_request_without_the_prescription(
    signed, physician, pharmacy, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = delivery_order_create(actor=physician, prescription=signed, quantity=8)
    order.refresh_from_db()
    assert order.status == OrderStatus.SENT_TO_PHARMACY
    (message,) = [m for m in mail.outbox if m.to == [pharmacy.email]]
    assert str(order.public_id) in message.body and "Fill number: 2" in message.body
    assert "ADULT SIGNATURE REQUIRED" in message.body
    for phi in ("Alice", "Anders", "Ocean Drive", "AP5836727", "troche", signed.directions):
        assert phi not in message.body


def test_a_failed_send_leaves_the_order_created_for_a_retry(signed, physician, monkeypatch):
    from prescriptions import pharmacy_gateway

    order = delivery_order_create(actor=physician, prescription=signed, quantity=2)

    def broken(self, order):
        raise OSError("smtp down")

    monkeypatch.setattr(pharmacy_gateway.EmailPharmacyGateway, "send_order", broken)
    with pytest.raises(OSError):
        delivery_order_hand_off(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.CREATED
    monkeypatch.undo()
    assert delivery_order_hand_off(order_id=order.pk) is True


def test_hand_off_waits_while_shipments_are_paused(patient, physician, signed):
    order = delivery_order_create(actor=physician, prescription=signed, quantity=2)
    pause_shipments(patient)
    assert delivery_order_hand_off(order_id=order.pk) is False
    order.refresh_from_db()
    assert order.status == OrderStatus.CREATED


# --- role views ---------------------------------------------------------------------------------
def test_patient_sees_own_orders_with_tracking_and_reads_are_audited(api, patient, other_patient, signed):
    order = DeliveryOrder.objects.get(prescription=signed)
    listing = api(patient).get("/api/v1/patient/delivery-orders/")
    assert listing.status_code == 200 and listing.json()["count"] == 1
    detail = api(patient).get(f"/api/v1/patient/delivery-orders/{order.public_id}/")
    assert detail.status_code == 200
    assert [e["to_status"] for e in detail.json()["timeline"]] == ["created", "sent_to_pharmacy"]
    assert AuditEvent.objects.filter(object_id=str(order.pk), action="read", actor=patient).count() == 2
    assert api(other_patient).get(f"/api/v1/patient/delivery-orders/{order.public_id}/").status_code == 404
    assert api(other_patient).get("/api/v1/patient/delivery-orders/").json()["count"] == 0


def test_patient_sees_own_signed_prescriptions_but_not_drafts(api, patient, other_patient, signed, physician, product):
    from tests.prescriptions.factories import PrescriptionFactory

    PrescriptionFactory(patient=patient, physician=physician, product=product)
    body = api(patient).get("/api/v1/patient/prescriptions/").json()
    assert [r["id"] for r in body["results"]] == [str(signed.public_id)]
    assert body["results"][0]["refills_remaining"] == 2
    assert api(other_patient).get(f"/api/v1/patient/prescriptions/{signed.public_id}/").status_code == 404
    assert AuditEvent.objects.filter(object_id=str(signed.pk), action="read", actor=patient).exists()


def test_physician_sees_orders_of_their_caseload_only(api, physician, other_physician, signed):
    assert api(physician).get("/api/v1/physician/delivery-orders/").json()["count"] == 1
    assert api(other_physician).get("/api/v1/physician/delivery-orders/").json()["count"] == 0
    assert api(other_physician).get(f"/api/v1/physician/prescriptions/{signed.public_id}/").status_code == 404
    response = api(physician).get(f"/api/v1/physician/prescriptions/{signed.public_id}/")
    assert response.status_code == 200 and response.json()["snapshot"]["prescriber_dea_number"] == "AP5836727"
    assert AuditEvent.objects.filter(object_id=str(signed.pk), action="read", actor=physician).exists()


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("patient", 404),
        ("physician", 404),
        ("other_physician", 404),
        ("staff", 200),
        ("pharmacy_liaison", 200),
        ("medical_director", 404),
        ("admin_user", 404),
    ],
)
def test_staff_board_is_for_coordinators_and_pharmacy_liaisons(api, request, signed, role, expected):
    user = request.getfixturevalue(role)
    order = DeliveryOrder.objects.get(prescription=signed)
    assert api(user).get("/api/v1/staff/delivery-orders/").status_code == expected
    assert api(user).get(f"/api/v1/staff/delivery-orders/{order.public_id}/").status_code == expected
    moved = api(user).post(
        f"/api/v1/staff/delivery-orders/{order.public_id}/transition/", {"to": "compounding"}, format="json"
    )
    assert moved.status_code == expected


def test_anonymous_gets_401_everywhere(anon_client, signed):
    for url in (
        "/api/v1/staff/delivery-orders/",
        "/api/v1/patient/delivery-orders/",
        "/api/v1/physician/prescriptions/",
    ):
        assert anon_client.get(url).status_code == 401


def test_staff_board_filters_and_reads_in_constant_queries(api, staff, pharmacy, django_assert_max_num_queries):
    now = timezone.now()
    for _ in range(3):
        DeliveryOrderFactory(status=OrderStatus.IN_TRANSIT, carrier="USPS", ship_to_state="FL")
        DeliveryOrderFactory(
            status=OrderStatus.CREATED, ship_to_state="NJ", status_changed_at=now - timedelta(hours=30)
        )
    client = api(staff)
    with django_assert_max_num_queries(8):
        body = client.get("/api/v1/staff/delivery-orders/").json()
    assert body["count"] == 6
    for _ in range(6):
        DeliveryOrderFactory(status=OrderStatus.IN_TRANSIT)
    with django_assert_max_num_queries(8):  # same number with twice the rows
        client.get("/api/v1/staff/delivery-orders/")
    assert client.get("/api/v1/staff/delivery-orders/?status=in_transit&carrier=usps").json()["count"] == 3
    assert client.get("/api/v1/staff/delivery-orders/?state=NJ").json()["count"] == 3
    assert client.get("/api/v1/staff/delivery-orders/?overdue=true").json()["count"] == 3  # created > 24 h
    assert client.get("/api/v1/staff/delivery-orders/?overdue=false").json()["count"] == 12 - 3
    one = DeliveryOrder.objects.filter(status=OrderStatus.IN_TRANSIT).first()
    by_pharmacy = client.get(f"/api/v1/staff/delivery-orders/?pharmacy={one.pharmacy.public_id}").json()
    assert by_pharmacy["count"] == DeliveryOrder.objects.filter(pharmacy=one.pharmacy).count() >= 1
    assert client.get("/api/v1/staff/delivery-orders/?status=flying").status_code == 400


def test_overdue_includes_shipments_silent_for_72_hours(api, staff):
    shipped_at = timezone.now() - timedelta(hours=80)
    silent = DeliveryOrderFactory(
        status=OrderStatus.IN_TRANSIT,
        shipped_at=shipped_at,
        last_carrier_update=shipped_at,
        status_changed_at=timezone.now(),
    )
    DeliveryOrderFactory(status=OrderStatus.IN_TRANSIT, shipped_at=shipped_at, last_carrier_update=timezone.now())
    body = api(staff).get("/api/v1/staff/delivery-orders/?overdue=true").json()
    assert [r["id"] for r in body["results"]] == [str(silent.public_id)]


def test_list_reads_are_audited_one_row_per_order(api, staff):
    orders = [DeliveryOrderFactory() for _ in range(2)]
    api(staff).get("/api/v1/staff/delivery-orders/")
    audited = set(AuditEvent.objects.filter(actor=staff, action="read").values_list("object_id", flat=True))
    assert audited == {str(o.pk) for o in orders}


def test_stuck_orders_show_up_after_their_status_threshold(api, staff, settings):
    settings.DELIVERY_STUCK_AFTER_HOURS = {"compounding": 72}
    order = DeliveryOrderFactory(status=OrderStatus.COMPOUNDING)
    with time_machine.travel(timezone.now() + timedelta(hours=71)):
        assert api(staff).get("/api/v1/staff/delivery-orders/?overdue=true").json()["count"] == 0
    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        body = api(staff).get("/api/v1/staff/delivery-orders/?overdue=true").json()
        assert [r["id"] for r in body["results"]] == [str(order.public_id)]


def test_patient_gets_shipping_texts_without_the_drug_name(
    api, staff, patient, signed, post_webhook, django_capture_on_commit_callbacks
):
    from accounts.notifications import sms_outbox
    from tests.prescriptions.conftest import tracker_event

    order = DeliveryOrder.objects.get(prescription=signed)
    client = api(staff)
    url = f"/api/v1/staff/delivery-orders/{order.public_id}/transition/"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"to": "compounding"}, format="json")
        client.post(url, {"to": "shipped", "carrier": "USPS", "tracking_number": "EZ2000000002"}, format="json")
    order.refresh_from_db()
    later = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with django_capture_on_commit_callbacks(execute=True):
        body = tracker_event(
            event_id="evt_ofd", tracker_id=order.tracker_id, status="out_for_delivery", updated_at=later
        )
        assert post_webhook(body).json()["outcome"] == "applied"
    texts = [m.body for m in sms_outbox if m.to == "+13055550100"]
    assert texts == [
        "Your order has shipped. Open the app to track it.",
        "Your order is out for delivery today. An adult must sign for it. Open the app to track it.",
    ]
    assert all("troche" not in t.lower() and "ketamine" not in t.lower() for t in texts)
