"""The delivery order's state machine: every allowed transition works and is recorded; every
other one is refused with `illegal_transition` and changes nothing."""

import pytest

from accounts.models import AuditEvent
from prescriptions.errors import IllegalTransition, TrackingRequired
from prescriptions.models import OrderEvent, OrderStatus
from prescriptions.services.orders import delivery_order_transition
from prescriptions.state_machine import FINAL, TRANSITIONS

pytestmark = pytest.mark.django_db

ALLOWED = [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets)]
ILLEGAL = [(a, b) for a in OrderStatus.values for b in OrderStatus.values if b not in TRANSITIONS[a]]


def test_the_table_covers_every_status_and_final_ones_go_nowhere():
    assert set(TRANSITIONS) == set(OrderStatus.values)
    assert FINAL == {OrderStatus.DELIVERED, OrderStatus.RETURNED, OrderStatus.CANCELLED}


@pytest.mark.parametrize(("from_status", "to_status"), ALLOWED)
def test_every_allowed_transition_moves_and_is_recorded(order_factory, staff, from_status, to_status):
    order = order_factory(status=from_status, carrier="USPS", tracking_number="9400100000000000000001")
    delivery_order_transition(actor=staff, order_id=order.public_id, to_status=to_status, note="ok")
    order.refresh_from_db()
    assert order.status == to_status
    event = OrderEvent.objects.get(order=order)
    assert (event.from_status, event.to_status, event.actor, event.source) == (from_status, to_status, staff, "user")
    assert AuditEvent.objects.filter(object_id=str(order.pk), action="update").exists()


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL)
def test_every_other_transition_is_refused_and_changes_nothing(order_factory, staff, from_status, to_status):
    order = order_factory(status=from_status, carrier="USPS", tracking_number="9400100000000000000001")
    with pytest.raises(IllegalTransition) as exc:
        delivery_order_transition(actor=staff, order_id=order.public_id, to_status=to_status)
    assert exc.value.code == "illegal_transition" and exc.value.status_code == 409
    order.refresh_from_db()
    assert order.status == from_status
    assert not OrderEvent.objects.filter(order=order).exists()


def test_marking_shipped_needs_carrier_and_tracking_number(order_factory, staff):
    order = order_factory(status=OrderStatus.COMPOUNDING)
    with pytest.raises(TrackingRequired):
        delivery_order_transition(actor=staff, order_id=order.public_id, to_status=OrderStatus.SHIPPED)
    delivery_order_transition(
        actor=staff, order_id=order.public_id, to_status="shipped", carrier="UPS", tracking_number="1Z999"
    )
    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number) == ("shipped", "UPS", "1Z999")
    assert order.shipped_at is not None


def test_staff_transition_api_refuses_illegal_move_with_409(api, staff, order_factory):
    order = order_factory(status=OrderStatus.DELIVERED)
    response = api(staff).post(
        f"/api/v1/staff/delivery-orders/{order.public_id}/transition/", {"to": "in_transit"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"


def test_staff_transition_api_moves_and_returns_the_timeline(api, staff, order_factory):
    order = order_factory(status=OrderStatus.SENT_TO_PHARMACY)
    response = api(staff).post(
        f"/api/v1/staff/delivery-orders/{order.public_id}/transition/",
        {"to": "compounding", "note": "pharmacy confirmed"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "compounding"
    assert [(e["from_status"], e["to_status"], e["note"]) for e in body["timeline"]] == [
        ("sent_to_pharmacy", "compounding", "pharmacy confirmed")
    ]


def test_transition_api_rejects_unknown_status(api, staff, order_factory):
    order = order_factory()
    response = api(staff).post(
        f"/api/v1/staff/delivery-orders/{order.public_id}/transition/", {"to": "teleported"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["to"][0]["code"] == "invalid_choice"


def test_adult_signature_is_always_required_by_constraint(order_factory):
    from django.db import IntegrityError, transaction

    order = order_factory()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(order).objects.filter(pk=order.pk).update(adult_signature_required=False)


def test_a_released_order_and_a_shipped_one_get_their_effects_through_the_outbox(order_factory, staff):
    """Released from a hold, an order is handed off again under a key of its own (the first
    hand-off's done row does not swallow it); marked shipped, its tracking starts once. Both are
    outbox rows written with the transition (docs/notifications.md#side-effects)."""
    from notifications.models import OutboxEffect

    order = order_factory(status=OrderStatus.CREATED)
    delivery_order_transition(actor=staff, order_id=order.public_id, to_status=OrderStatus.ON_HOLD)
    delivery_order_transition(actor=staff, order_id=order.public_id, to_status=OrderStatus.CREATED)
    delivery_order_transition(actor=staff, order_id=order.public_id, to_status=OrderStatus.ON_HOLD)
    delivery_order_transition(actor=staff, order_id=order.public_id, to_status=OrderStatus.CREATED)
    hand_offs = OutboxEffect.objects.filter(dedupe_key__startswith=f"pharmacy-hand-off:{order.pk}:release-")
    assert hand_offs.count() == 2
    assert {e.handler for e in hand_offs} == {"prescriptions.services.orders.delivery_order_hand_off"}
    assert all(e.args == {"order_id": order.pk} for e in hand_offs)

    shipped = order_factory(status=OrderStatus.COMPOUNDING)
    delivery_order_transition(
        actor=staff, order_id=shipped.public_id, to_status="shipped", carrier="UPS", tracking_number="1Z999"
    )
    tracking = OutboxEffect.objects.get(dedupe_key=f"start-tracking:{shipped.pk}")
    assert tracking.handler == "prescriptions.services.tracking.shipment_start_tracking"
    assert tracking.args == {"order_id": shipped.pk}
