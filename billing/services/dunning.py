"""Dunning notices: tell the patient a membership payment failed, without any health information.

Stripe retries the card on its own schedule and sends one `invoice.payment_failed` per failed
attempt; the patient hears once per attempt (`Invoice.notified_attempt`, claimed with a
compare-and-swap), by email and, when the patients app has a phone for them, by SMS.
"""

from __future__ import annotations

import logging

from accounts.notifications import send_email, send_sms
from billing.models import Invoice

logger = logging.getLogger(__name__)

PAYMENT_FAILED = "payment_failed"
ACTION_REQUIRED = "action_required"

SUBJECT = "Your membership payment"
MESSAGES = {
    PAYMENT_FAILED: "Your payment for your membership didn't go through. Open the app to update your card.",
    ACTION_REQUIRED: "Your bank needs you to confirm your membership payment. Open the app to finish.",
}


def _patient_phone(patient) -> str | None:
    # PatientProfile belongs to the patients app (above billing): read it only if it is there.
    profile = getattr(patient, "patient_profile", None)
    phone = getattr(profile, "phone", None) if profile is not None else None
    return str(phone) if phone else None


def dunning_notify(*, invoice: Invoice, kind: str) -> bool:
    """Notify the patient of a failed (or bank-held) payment attempt once. True if sent now."""
    attempt = max(invoice.attempt_count, 1)
    claimed = Invoice.objects.filter(pk=invoice.pk, notified_attempt__lt=attempt).update(notified_attempt=attempt)
    if not claimed:
        return False
    patient = invoice.patient
    body = MESSAGES[kind]
    send_email(to=patient.email, subject=SUBJECT, body=body)
    phone = _patient_phone(patient)
    if phone:
        try:
            send_sms(to=phone, body=body)
        except Exception:  # the email went; a failed SMS must not re-send it
            logger.exception("dunning sms failed invoice=%s", invoice.pk)
    logger.info("dunning notice sent invoice=%s attempt=%s kind=%s", invoice.pk, attempt, kind)
    return True
