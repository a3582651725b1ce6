"""Thin Celery tasks: ids in, a service call, safe to run twice (compare-and-swap or unique rows)."""

from __future__ import annotations

import logging

from celery import shared_task

from prescriptions.carriers import CarrierError
from prescriptions.models import NoticeKind
from prescriptions.services import orders, tracking

logger = logging.getLogger(__name__)

_RETRY = {"autoretry_for": (CarrierError, OSError), "retry_backoff": True, "retry_backoff_max": 600, "max_retries": 5}


@shared_task(**_RETRY)
def hand_off_order(order_id: int) -> bool:
    return orders.delivery_order_hand_off(order_id=order_id)


@shared_task(**_RETRY)
def start_tracking(order_id: int) -> str | None:
    return tracking.shipment_start_tracking(order_id=order_id)


@shared_task(**_RETRY)
def poll_shipment(order_id: int) -> str:
    return tracking.shipment_poll(order_id=order_id)


@shared_task(**_RETRY)
def send_order_notice(order_id: int, kind: str) -> bool:
    return tracking.order_notice_send(order_id=order_id, kind=kind)


@shared_task
def poll_stale_shipments() -> int:
    """Beat: poll the trackers of shipments with no carrier update for SHIPMENT_POLL_AFTER_HOURS."""
    ids = tracking.stale_shipment_ids()
    for order_id in ids:
        poll_shipment.delay(order_id)
    return len(ids)


@shared_task
def alert_silent_shipments() -> int:
    """Beat: alert staff, once per shipment, about shipments silent for SHIPMENT_SILENT_ALERT_HOURS."""
    ids = tracking.silent_shipment_ids()
    for order_id in ids:
        send_order_notice.delay(order_id, NoticeKind.STAFF_SILENT)
    return len(ids)


# E-prescribing tasks live in their own module; imported here so the worker registers them.
from prescriptions.erx.tasks import (  # noqa: E402, F401
    poll_silent,
    poll_submission,
    process_event,
    recheck_awaiting,
    send_cancel,
    send_proposal,
    sweep,
)


@shared_task
def release_held_orders() -> int:
    """Beat: orders on hold whose fill-check reasons have cleared go back to the hand-off."""
    return orders.delivery_order_release_holds()
