"""The delivery order's state machine: the one table of allowed transitions (docs/delivery.md#states).

    created -> sent_to_pharmacy -> compounding -> shipped -> in_transit -> out_for_delivery -> delivered
    any live status can go to exception; a shipment can be returned; an order not yet shipped can be
    cancelled; an exception is resolved by moving on (or returned / cancelled). A created order
    paused by a fill check waits in on_hold (with its reasons) and goes back to created.

Delivered, returned and cancelled are final. Nothing moves backwards, so a late carrier update
can never undo "delivered".
"""

from __future__ import annotations

from prescriptions.models import OrderStatus as S

TRANSITIONS: dict[str, frozenset[str]] = {
    S.CREATED: frozenset({S.SENT_TO_PHARMACY, S.ON_HOLD, S.CANCELLED}),
    # A fill paused by a fill check (prescriptions/fill_checks.py) goes back to created when the
    # reasons clear (the hand-off checks again), or is cancelled.
    S.ON_HOLD: frozenset({S.CREATED, S.CANCELLED}),
    S.SENT_TO_PHARMACY: frozenset({S.COMPOUNDING, S.EXCEPTION, S.CANCELLED}),
    S.COMPOUNDING: frozenset({S.SHIPPED, S.EXCEPTION, S.CANCELLED}),
    S.SHIPPED: frozenset({S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED, S.EXCEPTION, S.RETURNED}),
    S.IN_TRANSIT: frozenset({S.OUT_FOR_DELIVERY, S.DELIVERED, S.EXCEPTION, S.RETURNED}),
    S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED, S.EXCEPTION, S.RETURNED}),
    S.EXCEPTION: frozenset({S.SHIPPED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED, S.RETURNED, S.CANCELLED}),
    S.DELIVERED: frozenset(),
    S.RETURNED: frozenset(),
    S.CANCELLED: frozenset(),
}

FINAL = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
# Statuses in which the carrier has the parcel: tracked, polled, watched for silence.
IN_CARRIER_HANDS = frozenset({S.SHIPPED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.EXCEPTION})


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())
