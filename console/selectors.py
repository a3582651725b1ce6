"""Reads behind the staff console pages. The delivery board reuses the API's board selector and
its overdue rules (prescriptions.selectors); this module only orders and labels the rows so
that what needs the staff comes first (docs/staff-console.md#delivery-board)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, Count, DateTimeField, F, IntegerField, Prefetch, QuerySet, Value, When

from prescriptions import selectors as rx_selectors
from prescriptions.models import DeliveryOrder, OrderEvent, OrderStatus
from prescriptions.state_machine import FINAL

# Attention ranks: the board lists exceptions, then silent shipments, then stuck orders, then the rest.
EXCEPTION, SILENT, STUCK, ON_TIME = 0, 1, 2, 3
ATTENTION_LABELS = {EXCEPTION: "exception", SILENT: "silent", STUCK: "stuck", ON_TIME: ""}

# What the board shows beyond the API's columns: the name the order is addressed to.
_CONSOLE_COLUMNS = (*rx_selectors._BOARD_COLUMNS, "ship_to_name")


def attention_rank(*, now: datetime):
    return Case(
        When(status=OrderStatus.EXCEPTION, then=Value(EXCEPTION)),
        When(rx_selectors.silent_q(now=now), then=Value(SILENT)),
        When(rx_selectors.stuck_q(now=now), then=Value(STUCK)),
        default=Value(ON_TIME),
        output_field=IntegerField(),
    )


def board_orders(
    *, now: datetime, status: str | None = None, state: str | None = None, overdue: bool | None = None
) -> QuerySet[DeliveryOrder]:
    """The staff board's orders (the API's selector and filters), with their timelines: those
    that need attention first, then the other live orders, each longest-waiting first; then the
    finished ones (delivered, returned, cancelled), latest first."""
    qs = rx_selectors.delivery_order_list_for_staff(status=status, state=state, overdue=overdue)
    timeline = Prefetch("events", queryset=OrderEvent.objects.select_related("actor").order_by("occurred_at", "id"))
    return (
        qs.only(*_CONSOLE_COLUMNS)
        .annotate(
            attention=attention_rank(now=now),
            finished=Case(When(status__in=FINAL, then=Value(1)), default=Value(0), output_field=IntegerField()),
            waiting_since=Case(
                When(status__in=FINAL, then=Value(None)), default=F("status_changed_at"), output_field=DateTimeField()
            ),
        )
        .prefetch_related(timeline)
        .order_by("attention", "finished", "waiting_since", "-status_changed_at", "-id")
    )


def board_counts(*, now: datetime) -> dict:
    """Orders per status (every status, zeros included), and how many need attention."""
    per_status = dict(DeliveryOrder.objects.values_list("status").annotate(n=Count("id")).order_by())
    attention = dict(
        DeliveryOrder.objects.annotate(attention=attention_rank(now=now))
        .values_list("attention")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "statuses": [(value, label, per_status.get(value, 0)) for value, label in OrderStatus.choices],
        "exception": attention.get(EXCEPTION, 0),
        "silent": attention.get(SILENT, 0),
        "stuck": attention.get(STUCK, 0),
        "overdue": DeliveryOrder.objects.filter(rx_selectors.overdue_q(now=now)).count(),
    }


def stuck_limit(status: str) -> timedelta | None:
    hours = settings.DELIVERY_STUCK_AFTER_HOURS.get(status)
    return timedelta(hours=int(hours)) if hours is not None else None


def duration_label(delta: timedelta) -> str:
    """3 d 4 h, 5 h 12 min, 7 min."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"
