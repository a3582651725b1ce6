"""The pharmacy hand-off of a controlled-substance fill, which is never an email of the
prescription (docs/e-prescribing.md#pharmacy-hand-off).

- Fill 1: the e-prescription itself, transmitted by the EPCS vendor, is the hand-off; nothing more
  is sent. The order moves to `sent_to_pharmacy` with the vendor's prescription id as reference.
- Refills: the transmitted e-prescription already authorises them (21 CFR 1306.22), so the pharmacy
  is told only which fill to dispense: order id, e-prescription reference, fill number, quantity.
  No patient name, address, drug or directions (the pharmacy holds the prescription).

- A prescription signed before e-prescribing went live (no e-prescription on file) is handled like
  a refill: the pharmacy already holds it, and gets only the dispense request, referencing our id.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage

from prescriptions.erx.models import ErxStatus, ErxSubmission
from prescriptions.models import DeliveryOrder

logger = logging.getLogger(__name__)


def send_controlled_order(order: DeliveryOrder) -> str:
    submission = (
        ErxSubmission.objects.filter(
            prescription_id=order.prescription_id,
            status__in=[ErxStatus.TRANSMITTED, ErxStatus.PHARMACY_RECEIVED],
        )
        .order_by("-attempt")
        .first()
    )
    if submission is not None:
        reference = f"erx:{submission.provider}:{submission.vendor_prescription_id}"
        rx_reference = f"{submission.idempotency_key} (e-prescription {submission.vendor_prescription_id})"
        if order.sequence == 1:
            logger.info("controlled hand-off order_id=%s channel=erx fill=1", order.pk)
            return reference
    else:
        reference = f"rx:{order.prescription.public_id}"
        rx_reference = f"{order.prescription.public_id} (on file at the pharmacy)"
    body = "\n".join(
        [
            f"Dispense request for order {order.public_id}",
            f"Prescription reference: {rx_reference}",
            f"Fill number: {order.sequence}",
            f"Quantity: {order.quantity}",
            "Ship to the address on the prescription. ADULT SIGNATURE REQUIRED (controlled substance).",
        ]
    )
    EmailMessage(
        subject=f"Dispense request {order.public_id}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.pharmacy.email],
    ).send(fail_silently=False)
    logger.info("controlled hand-off order_id=%s channel=dispense_request fill=%s", order.pk, order.sequence)
    return f"{reference}:fill{order.sequence}"
