"""Dunning notices: tell the patient a membership payment failed, without any health information.

Stripe retries the card on its own schedule and sends one `invoice.payment_failed` per failed
attempt; the patient hears once per attempt (`Invoice.notified_attempt`, claimed with a
compare-and-swap), by email and, when the patients app has a phone for them, by SMS, through the
notifications outbox (kinds `payment_failed`, `payment_action_required`).
"""

from __future__ import annotations

import logging

from django.db import transaction

from billing.models import Invoice
from notifications.services import Recipient, notify

logger = logging.getLogger(__name__)

PAYMENT_FAILED = "payment_failed"
ACTION_REQUIRED = "action_required"

_KINDS = {PAYMENT_FAILED: "payment_failed", ACTION_REQUIRED: "payment_action_required"}


def _patient_phone(patient) -> str | None:
    # PatientProfile belongs to the patients app (above billing): read it only if it is there.
    profile = getattr(patient, "patient_profile", None)
    phone = getattr(profile, "phone", None) if profile is not None else None
    return str(phone) if phone else None


@transaction.atomic
def dunning_notify(*, invoice: Invoice, kind: str) -> bool:
    """Notify the patient of a failed (or bank-held) payment attempt once. True if written now.

    The claim and the outbox rows commit together: the notice is sent after commit (or by the
    outbox sweep), email and SMS each on their own, so a failed SMS never re-sends the email."""
    attempt = max(invoice.attempt_count, 1)
    claimed = Invoice.objects.filter(pk=invoice.pk, notified_attempt__lt=attempt).update(notified_attempt=attempt)
    if not claimed:
        return False
    patient = invoice.patient
    notify(
        kind=_KINDS[kind],
        recipient=Recipient.of(patient, phone=_patient_phone(patient)),
        dedupe_key=f"dunning:{invoice.pk}:{attempt}",
    )
    logger.info("dunning notice queued invoice=%s attempt=%s kind=%s", invoice.pk, attempt, kind)
    return True
