"""Pharmacy hand-off behind one small adapter: `PharmacyGateway.send_order(order)`.

The default, EmailPharmacyGateway, emails the order to the pharmacy. Unlike every other message
this system sends, this one is a *prescription transmission to a pharmacy*: it must carry the
prescription's contents (patient, drug, strength, quantity, directions, prescriber, DEA number,
ship-to address) because the pharmacy fills from it. So the body is built here, sent only to the
pharmacy's address on file, and never logged (log lines carry the order id only). An API
integration with a pharmacy later is one more class with the same `send_order`.

Idempotency lives in the caller (`services.orders.delivery_order_hand_off`), run as a
notifications outbox effect: the effect row is the claim, the gateway is called outside any
transaction, and the order moves to sent_to_pharmacy by compare-and-swap after the send.
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage

from prescriptions.erx.handoff import send_controlled_order
from prescriptions.models import DeliveryOrder

logger = logging.getLogger(__name__)


class PharmacyGateway(Protocol):
    def send_order(self, order: DeliveryOrder) -> str:
        """Transmit the order; return the transmission's reference. Raise on transport errors."""


def order_document(order: DeliveryOrder) -> str:
    """The order as the pharmacy receives it (contains the prescription: never log this)."""
    rx = order.prescription
    snap = rx.snapshot
    lines = [
        f"Patient-specific compounded prescription order {order.public_id} (fill #{order.sequence})",
        "",
        f"Prescription: {rx.public_id}  signed {rx.signed_at:%Y-%m-%d %H:%M} UTC  expires {rx.expires_on}",
        f"Patient: {snap.get('patient_name', '')}  DOB {snap.get('patient_date_of_birth', '')}",
        f"Patient address: {snap.get('patient_address', '')}",
        f"Drug: {snap.get('drug', '')} - {snap.get('product_name', '')}",
        f"Strength: {snap.get('strength', '')}  dosage form: {snap.get('dosage_form', '')}",
        f"DEA schedule: {snap.get('dea_schedule', '')}",
        f"Quantity this fill: {order.quantity}  (prescribed per fill: {rx.quantity}, days' supply {rx.days_supply},"
        f" refills authorised {rx.refills})",
        f"Directions: {snap.get('directions', '')}",
        f"Prescriber: {snap.get('prescriber_name', '')}  NPI {snap.get('prescriber_npi', '')}"
        f"  DEA {snap.get('prescriber_dea_number', '')}",
        f"Prescriber address: {snap.get('prescriber_address', '')}",
        "",
        "Ship to:",
        order.ship_to_name,
        order.ship_to_line1,
        *([order.ship_to_line2] if order.ship_to_line2 else []),
        f"{order.ship_to_city}, {order.ship_to_state} {order.ship_to_zip}",
        "ADULT SIGNATURE REQUIRED (controlled substance).",
    ]
    if rx.product.heat_sensitive:
        lines.append("HEAT-SENSITIVE: ship with cold pack.")
    return "\n".join(lines)


class EmailPharmacyGateway:
    def send_order(self, order: DeliveryOrder) -> str:
        if order.prescription.product.dea_schedule:
            # A controlled substance reaches the pharmacy only as an EPCS e-prescription
            # (21 CFR 1311; F.S. 456.42): never by email. docs/e-prescribing.md#pharmacy-hand-off
            return send_controlled_order(order)
        message = EmailMessage(
            subject=f"Prescription order {order.public_id}",
            body=order_document(order),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[order.pharmacy.email],
        )
        message.send(fail_silently=False)
        logger.info("pharmacy hand-off sent order_id=%s channel=email", order.pk)
        return f"email:{order.public_id}"


_GATEWAYS = {"email": EmailPharmacyGateway}


def pharmacy_gateway() -> PharmacyGateway:
    try:
        return _GATEWAYS[settings.PHARMACY_GATEWAY]()
    except KeyError as exc:
        raise ImproperlyConfigured(f"Unknown PHARMACY_GATEWAY {settings.PHARMACY_GATEWAY!r}") from exc
