"""Delivery orders: creation from a signed prescription, the state machine, the pharmacy hand-off.

Every status change goes through `delivery_order_transition` (or the hand-off's compare-and-swap)
and writes an OrderEvent: from, to, who or what, when.
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from api.clock import practice_date
from api.errors import NotFound
from notifications.services import effect_enqueue
from prescriptions import fill_checks
from prescriptions.errors import (
    AddressNotVerified,
    FillRefused,
    IllegalTransition,
    PrescriptionNotSigned,
    TrackingRequired,
)
from prescriptions.models import (
    DeliveryOrder,
    EventSource,
    NoticeKind,
    OrderEvent,
    OrderStatus,
    Prescription,
    PrescriptionStatus,
)
from prescriptions.pharmacy_gateway import pharmacy_gateway
from prescriptions.services.gates import STAGED, GateReport, fill_gate
from prescriptions.services.patient_facts import standing_refusal, verified_ship_to
from prescriptions.state_machine import can_transition

logger = logging.getLogger(__name__)

# Which notice each arrival status triggers (written to the outbox with the change, once per order and kind).
NOTICE_ON_STATUS = {
    OrderStatus.SHIPPED: NoticeKind.PATIENT_SHIPPED,
    OrderStatus.OUT_FOR_DELIVERY: NoticeKind.PATIENT_OUT_FOR_DELIVERY,
    OrderStatus.DELIVERED: NoticeKind.PATIENT_DELIVERED,
    OrderStatus.EXCEPTION: NoticeKind.STAFF_EXCEPTION,
    OrderStatus.RETURNED: NoticeKind.STAFF_RETURNED,
}


def delivery_order_create(
    *,
    actor: User | None,
    prescription: Prescription,
    quantity: int,
    cleared: GateReport | None = None,
    kind: str = STAGED,
    request=None,
    note: str = "",
) -> DeliveryOrder:
    """Create the next fill of a signed prescription (called inside a transaction that holds the
    prescription row locked). This is the only place a fill is made, so no path can skip the
    gate: unless `cleared` is a passing report of `gates.run_gates` for this very prescription and
    quantity (signing and refill approval pass theirs), the shared fill gate runs here and a
    failure is 422 `fill_refused` with every reason (docs/prescribing-gates.md). An order that a
    fill check pauses (prescriptions/fill_checks.py: a long gap without sessions, a missed
    follow-up, an open hold) is created and waits in `on_hold` with its reasons.
    """
    _refuse_unless_fillable(prescription, quantity=quantity, cleared=cleared, kind=kind)
    ship_to = verified_ship_to(prescription.patient)
    if ship_to is None:  # the gate checked it; the snapshot below needs it all the same
        raise AddressNotVerified(
            reasons=[{"code": "address_not_verified", "message": AddressNotVerified.default_message}]
        )
    now = timezone.now()
    order = _save_next_order(prescription, quantity=quantity, ship_to=ship_to, now=now)
    OrderEvent.objects.create(
        order=order,
        from_status="",
        to_status=OrderStatus.CREATED,
        actor=actor,
        source=EventSource.USER if actor else EventSource.SYSTEM,
        occurred_at=now,
        note=note[:255],
    )
    audit_log(request, AuditAction.CREATE, order, actor=actor, detail=f"fill {order.sequence}")

    reasons = fill_checks.hold_reasons(prescription=prescription, on=practice_date())
    if reasons:
        _hold(order, reasons)
        return order
    _enqueue_hand_off(order)
    return order


def _refuse_unless_fillable(
    prescription: Prescription, *, quantity: int, cleared: GateReport | None, kind: str
) -> None:
    """Signed, and cleared by the fill gate (the caller's passing report for this very fill, or the
    gate run here)."""
    if prescription.status != PrescriptionStatus.SIGNED or prescription.signed_at is None:
        raise PrescriptionNotSigned()
    if cleared is None or not cleared.clears(rx=prescription, quantity=quantity):
        report = fill_gate(rx=prescription, quantity=quantity, kind=kind)
        if not report.passed:
            raise FillRefused(reasons=report.reasons)


def _save_next_order(prescription: Prescription, *, quantity: int, ship_to, now: datetime) -> DeliveryOrder:
    """The prescription's next fill, created, with the verified address copied as it is today."""
    sequence = (prescription.orders.aggregate(m=Max("sequence"))["m"] or 0) + 1
    order = DeliveryOrder(
        prescription=prescription,
        patient=prescription.patient,
        pharmacy=prescription.pharmacy,
        sequence=sequence,
        quantity=quantity,
        status=OrderStatus.CREATED,
        status_changed_at=now,
        ship_to_name=ship_to.name,
        ship_to_line1=ship_to.line1,
        ship_to_line2=ship_to.line2,
        ship_to_city=ship_to.city,
        ship_to_state=ship_to.state,
        ship_to_zip=ship_to.zip_code,
        ship_to_county_fips=ship_to.county_fips,
        created_at=now,
    )
    order.full_clean(exclude=["prescription", "patient", "pharmacy"])
    order.save()
    return order


def _enqueue_hand_off(order: DeliveryOrder, *, release: OrderEvent | None = None) -> None:
    # The hand-off is an outbox effect written in this transaction: performed after commit, or
    # re-driven by the outbox sweep if that message is lost (docs/notifications.md#side-effects).
    # An order released from a hold is handed off again: its key names the release's event, so
    # the first hand-off's row (done) does not swallow it.
    key = f"pharmacy-hand-off:{order.pk}" + (f":release-{release.pk}" if release is not None else "")
    effect_enqueue(
        handler="prescriptions.services.orders.delivery_order_hand_off", args={"order_id": order.pk}, dedupe_key=key
    )


def _enqueue_start_tracking(order: DeliveryOrder) -> None:
    # Carrier tracking starts once per order (an outbox effect, like the hand-off).
    effect_enqueue(
        handler="prescriptions.services.tracking.shipment_start_tracking",
        args={"order_id": order.pk},
        dedupe_key=f"start-tracking:{order.pk}",
    )


# The reason of an order put on hold by staff by hand: the beat never releases it.
STAFF_HOLD = "staff_hold"


def _hold(order: DeliveryOrder, reasons: list[str]) -> None:
    """Move a created order (locked or just made) to on_hold with its reason codes (no PHI)."""
    order.hold_reasons = reasons
    _apply_transition(
        order, to_status=OrderStatus.ON_HOLD, actor=None, source=EventSource.SYSTEM, note="held: " + ",".join(reasons)
    )


def delivery_order_release_holds() -> int:
    """Beat: orders on hold whose reasons have all cleared go back to `created` and to the
    hand-off (which checks again); orders still held get their current reasons. Returns how many
    were released. Safe to run twice: each order is moved under its row lock."""
    released = 0
    for order_id in DeliveryOrder.objects.filter(status=OrderStatus.ON_HOLD).values_list("pk", flat=True):
        with transaction.atomic():
            order = (
                DeliveryOrder.objects.select_for_update()
                .select_related("prescription")
                .filter(pk=order_id, status=OrderStatus.ON_HOLD)
                .first()
            )
            if order is None or STAFF_HOLD in order.hold_reasons:
                continue
            reasons = fill_checks.hold_reasons(prescription=order.prescription, on=practice_date())
            if reasons:
                if reasons != order.hold_reasons:
                    DeliveryOrder.objects.filter(pk=order.pk).update(hold_reasons=reasons)
                continue
            order.hold_reasons = []
            event = _apply_transition(
                order, to_status=OrderStatus.CREATED, actor=None, source=EventSource.SYSTEM, note="hold cleared"
            )
            _enqueue_hand_off(order, release=event)
            released += 1
    return released


def _apply_transition(
    order: DeliveryOrder,
    *,
    to_status: str,
    actor: User | None,
    source: str,
    note: str = "",
    occurred_at: datetime | None = None,
) -> OrderEvent:
    """Move a locked order one step (the caller checked the table) and record the event."""
    now = timezone.now()
    from_status = order.status
    order.status = to_status
    order.status_changed_at = now
    if to_status == OrderStatus.SHIPPED and order.shipped_at is None:
        order.shipped_at = now
    if to_status == OrderStatus.DELIVERED:
        order.delivered_at = occurred_at or now
    if from_status == OrderStatus.ON_HOLD and to_status != OrderStatus.ON_HOLD:
        order.hold_reasons = []
    order.save()
    event = OrderEvent.objects.create(
        order=order,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        source=source,
        occurred_at=occurred_at or now,
        note=note[:255],
    )
    kind = NOTICE_ON_STATUS.get(to_status)
    if kind is not None:
        # Written to the outbox in this transaction: a broker down at commit loses nothing.
        # (Imported here: a start-up cycle, prescriptions.services.tracking imports this module.)
        from prescriptions.services.tracking import order_notice_send

        order_notice_send(order_id=order.pk, kind=kind)
    return event


@transaction.atomic
def delivery_order_transition(
    *,
    actor: User | None,
    order_id: UUID,
    to_status: str,
    note: str = "",
    carrier: str = "",
    tracking_number: str = "",
    source: str = EventSource.USER,
    request=None,
) -> DeliveryOrder:
    """Move an order along the state machine (`state_machine.TRANSITIONS`), else 409
    `illegal_transition`. Marking it shipped needs the carrier and tracking number, and starts
    carrier tracking after commit."""
    order = DeliveryOrder.objects.select_for_update().filter(public_id=order_id).first()
    if order is None:
        raise NotFound()
    if not can_transition(order.status, to_status):
        raise IllegalTransition(f"An order cannot go from {order.status} to {to_status}.")
    if to_status == OrderStatus.SHIPPED:
        carrier = (carrier or order.carrier).strip()
        tracking_number = (tracking_number or order.tracking_number).strip()
        if not (carrier and tracking_number):
            raise TrackingRequired()
        order.carrier, order.tracking_number = carrier, tracking_number
    if to_status == OrderStatus.ON_HOLD:  # paused by staff: only staff release it
        order.hold_reasons = [STAFF_HOLD]
    event = _apply_transition(order, to_status=to_status, actor=actor, source=source, note=note)
    audit_log(request, AuditAction.UPDATE, order, actor=actor, detail=f"status {to_status}")
    if to_status == OrderStatus.SHIPPED and not order.tracker_id:
        _enqueue_start_tracking(order)
    if to_status == OrderStatus.CREATED:  # released from on_hold by staff: the hand-off checks again
        _enqueue_hand_off(order, release=event)
    return order


def delivery_order_hand_off(*, order_id: int) -> bool:
    """Send a created order to its pharmacy. Returns True if this call sent it.

    Run by the notifications outbox (effect `pharmacy-hand-off:<order id>`), whose row is the
    claim: one worker at a time, re-run by the sweep if a worker dies. The transmission runs
    outside any transaction; then `created -> sent_to_pharmacy` is recorded by compare-and-swap,
    so a run after that finds nothing to send. A failed send leaves the order created and raises
    for the outbox to retry; a crash between the send and the mark sends again (at least once:
    the order's public id is in the transmission for the pharmacy to recognise a repeat).
    Orders of a patient whose shipments are paused wait in `created`.
    """
    order = DeliveryOrder.objects.select_related("patient").filter(pk=order_id).first()
    if order is None or order.status != OrderStatus.CREATED:
        return False
    if standing_refusal(order.patient) is not None:
        logger.info("hand-off held: shipments paused order_id=%s", order_id)
        return False
    with transaction.atomic():
        # The fill checks again at hand-off: a hold may have appeared since the order was made.
        locked = (
            DeliveryOrder.objects.select_for_update()
            .select_related("prescription")
            .filter(pk=order_id, status=OrderStatus.CREATED)
            .first()
        )
        if locked is None:
            return False
        reasons = fill_checks.hold_reasons(prescription=locked.prescription, on=practice_date())
        if reasons:
            _hold(locked, reasons)
            logger.info("hand-off held by fill checks order_id=%s", order_id)
            return False
    order = DeliveryOrder.objects.select_related("prescription__product", "pharmacy").get(pk=order_id)
    reference = pharmacy_gateway().send_order(order)
    with transaction.atomic():
        now = timezone.now()
        claimed = DeliveryOrder.objects.filter(pk=order_id, status=OrderStatus.CREATED).update(
            status=OrderStatus.SENT_TO_PHARMACY, status_changed_at=now
        )
        if not claimed:
            logger.warning("hand-off sent but the order moved meanwhile order_id=%s", order_id)
            return False
        OrderEvent.objects.create(
            order=order,
            from_status=OrderStatus.CREATED,
            to_status=OrderStatus.SENT_TO_PHARMACY,
            source=EventSource.PHARMACY_GATEWAY,
            occurred_at=now,
            note=f"handed off ({reference.split(':')[0]})",
        )
        audit_log(None, AuditAction.EXPORT, order, actor=None, detail="pharmacy hand-off")
    return True
