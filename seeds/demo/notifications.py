"""Demo outbox rows: the alert of the demo's open safety flag and the notices of orders in the
carrier's hands, written through the same services the app uses (notify, dedupe keys), so
`/admin/notifications/delivery/` shows them and the demo worker sends them to the console
backends. Safe to run again: the dedupe keys and notice rows make a second run write nothing."""

from __future__ import annotations

from notifications.models import Delivery
from patients.models import SafetyFlag
from patients.services.safety import safety_flag_alert
from prescriptions.models import DeliveryOrder, OrderStatus
from prescriptions.services.orders import NOTICE_ON_STATUS
from prescriptions.services.tracking import order_notice_send

_CARRIER = (OrderStatus.SHIPPED, OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERED, OrderStatus.EXCEPTION)


def run(stdout) -> None:
    before = Delivery.objects.count()
    for flag in SafetyFlag.objects.filter(status="open").select_related("patient__patient_profile__assigned_physician"):
        safety_flag_alert(flag=flag)
    for order in DeliveryOrder.objects.filter(status__in=_CARRIER).order_by("pk")[:6]:
        order_notice_send(order_id=order.pk, kind=NOTICE_ON_STATUS[order.status])
    stdout.write(f"  outbox: {Delivery.objects.count() - before} new deliveries")
