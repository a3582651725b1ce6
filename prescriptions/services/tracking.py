"""Shipment tracking: carrier updates (webhook or poll) applied to delivery orders, and notices.

One function applies every carrier update, `shipment_apply_update`, under a row lock on the
order, so the webhook and the poll racing serialise and leave one consistent state:
- a duplicate (same event id) is recorded once and changes nothing;
- an update older than (or as old as) the last one applied is stale and changes nothing;
- a status that would move the order backwards (delivered -> in_transit) is ignored: the state
  machine only moves forwards.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from notifications.services import Recipient, notify
from prescriptions.carriers import TrackerUpdate, carrier_tracker, normalise
from prescriptions.models import (
    CarrierEvent,
    DeliveryOrder,
    EventSource,
    NoticeKind,
    OrderNotice,
)
from prescriptions.services.orders import _apply_transition
from prescriptions.services.patient_facts import profile_of
from prescriptions.state_machine import IN_CARRIER_HANDS, can_transition

logger = logging.getLogger(__name__)


def shipment_apply_update(*, update: TrackerUpdate, event_id: str, source: str, order_id: int | None = None) -> str:
    """Apply one carrier update; returns the outcome: applied, no_change, stale, duplicate,
    not_allowed or unknown_tracker. Safe to call any number of times with the same event."""
    with transaction.atomic():
        lookup = Q(pk=order_id) if order_id is not None else Q(tracker_id=update.tracker_id)
        if order_id is None and not update.tracker_id:
            return "unknown_tracker"
        order = DeliveryOrder.objects.select_for_update().filter(lookup).first()
        if order is None:
            logger.info("carrier update for unknown tracker event=%s", event_id)
            return "unknown_tracker"
        if CarrierEvent.objects.filter(event_id=event_id).exists():
            return "duplicate"
        event = CarrierEvent(
            event_id=event_id,
            order=order,
            source=source,
            carrier_status=update.status[:32],
            carrier_updated_at=update.updated_at,
        )
        updated_at = update.updated_at or timezone.now()
        if order.last_carrier_update is not None and updated_at <= order.last_carrier_update:
            event.outcome = "stale"
        else:
            order.last_carrier_update = updated_at
            order.carrier_status = update.status[:32]
            target = normalise(update.status)
            if target is None or target == order.status:
                event.outcome = "no_change"
                order.save(update_fields=["last_carrier_update", "carrier_status"])
            elif not can_transition(order.status, target):
                event.outcome = "not_allowed"
                order.save(update_fields=["last_carrier_update", "carrier_status"])
            else:
                _apply_transition(
                    order,
                    to_status=target,
                    actor=None,
                    source=source,
                    note=f"carrier status {update.status}"[:255],
                    occurred_at=updated_at,
                )
                event.applied = True
                event.outcome = "applied"
        try:
            with transaction.atomic():
                event.save()
        except IntegrityError:
            # The same event id was recorded concurrently (the order lock makes this rare): the
            # other one wins and this one must change nothing.
            transaction.set_rollback(True)
            return "duplicate"
    return event.outcome


def shipment_start_tracking(*, order_id: int) -> str | None:
    """Create the carrier tracker of a shipped order (once), then apply its first status."""
    order = DeliveryOrder.objects.filter(pk=order_id).first()
    if order is None or order.tracker_id or not order.tracking_number:
        return None
    update = carrier_tracker().create(tracking_code=order.tracking_number, carrier=order.carrier)  # no PHI sent
    claimed = DeliveryOrder.objects.filter(pk=order_id, tracker_id="").update(tracker_id=update.tracker_id)
    if claimed and update.updated_at:
        shipment_apply_update(
            update=update,
            event_id=f"create:{update.tracker_id}:{update.updated_at.isoformat()}",
            source=EventSource.POLL,
            order_id=order_id,
        )
    return update.tracker_id


def shipment_poll(*, order_id: int) -> str:
    """The fallback when webhooks are silent: retrieve the tracker (outside any transaction)
    and apply it like any update."""
    order = DeliveryOrder.objects.filter(pk=order_id).first()
    if order is None or not order.tracker_id or order.status not in IN_CARRIER_HANDS:
        return "skipped"
    update = carrier_tracker().retrieve(tracker_id=order.tracker_id)
    stamp = update.updated_at.isoformat() if update.updated_at else "none"
    return shipment_apply_update(
        update=update, event_id=f"poll:{order.tracker_id}:{stamp}", source=EventSource.POLL, order_id=order_id
    )


def _silent_since(hours: int, now: datetime) -> Q:
    cut = now - timedelta(hours=hours)
    return Q(status__in=IN_CARRIER_HANDS) & (
        Q(last_carrier_update__lt=cut) | Q(last_carrier_update__isnull=True, shipped_at__lt=cut)
    )


def stale_shipment_ids(*, now: datetime | None = None) -> list[int]:
    """Shipments with no carrier update for SHIPMENT_POLL_AFTER_HOURS: poll them."""
    now = now or timezone.now()
    qs = DeliveryOrder.objects.filter(_silent_since(settings.SHIPMENT_POLL_AFTER_HOURS, now)).exclude(tracker_id="")
    return list(qs.values_list("pk", flat=True))


def silent_shipment_ids(*, now: datetime | None = None) -> list[int]:
    """Shipments silent for SHIPMENT_SILENT_ALERT_HOURS that staff were not yet alerted about."""
    now = now or timezone.now()
    qs = DeliveryOrder.objects.filter(_silent_since(settings.SHIPMENT_SILENT_ALERT_HOURS, now)).exclude(
        notices__kind=NoticeKind.STAFF_SILENT
    )
    return list(qs.values_list("pk", flat=True))


# The texts are the notifications app's kinds (no drug, patient or address in any of them).
_PATIENT_KIND = {
    NoticeKind.PATIENT_SHIPPED: "order_shipped",
    NoticeKind.PATIENT_OUT_FOR_DELIVERY: "order_out_for_delivery",
    NoticeKind.PATIENT_DELIVERED: "order_delivered",
}
_STAFF_TEXT = {
    NoticeKind.STAFF_EXCEPTION: "Delivery exception",
    NoticeKind.STAFF_RETURNED: "Shipment returned",
    NoticeKind.STAFF_SILENT: "No carrier update",
}


def order_notice_send(*, order_id: int, kind: str) -> bool:
    """Write one notice about an order to the notifications outbox, once (unique row per order
    and kind, and the outbox's dedupe key): in the caller's transaction when there is one (a
    status change), sent after commit or by the outbox sweep. True if written now."""
    with transaction.atomic():
        order = DeliveryOrder.objects.select_related("patient").filter(pk=order_id).first()
        if order is None:
            return False
        try:
            with transaction.atomic():
                OrderNotice.objects.create(order=order, kind=kind)
        except IntegrityError:
            return False
        key = f"order-notice:{order.pk}:{kind}"
        if kind in _PATIENT_KIND:
            _notify_patient(order.patient, _PATIENT_KIND[kind], key)
        else:
            what = _STAFF_TEXT[kind]
            context = {"what": what, "what_lower": what.lower(), "order": order.public_id, "status": order.status}
            for address in settings.CARE_TEAM_ALERT_EMAILS:
                notify(kind="order_attention", recipient=address, context=context, dedupe_key=key)
    logger.info("order notice queued order_id=%s kind=%s", order_id, kind)
    return True


def _notify_patient(patient: User, kind: str, key: str) -> None:
    profile = profile_of(patient)
    phone = str(getattr(profile, "phone", "") or "")
    notify(kind=kind, recipient=Recipient.of(patient, phone=phone), dedupe_key=key)
