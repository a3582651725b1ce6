"""The patient's Stripe customer: created once, whatever the number of taps or workers."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts.models import User
from billing.gateway import StripeBillingGateway
from billing.models import StripeCustomer


def customer_ensure(*, patient: User, gateway: StripeBillingGateway) -> StripeCustomer:
    """The patient's StripeCustomer, creating it at Stripe first if needed.

    The Stripe call runs outside any transaction (no slow I/O while holding locks). Two racing
    requests send the same idempotency key (`customer-<public_id>`), so Stripe creates one
    customer; the loser of the local insert reads the winner's row.
    """
    existing = StripeCustomer.objects.filter(patient=patient).first()
    if existing is not None:
        return existing
    data = gateway.customer_create(patient_public_id=str(patient.public_id), email=patient.email)
    try:
        with transaction.atomic():
            customer = StripeCustomer(patient=patient, stripe_customer_id=data["id"])
            customer.full_clean(validate_unique=False)
            customer.save()
            return customer
    except IntegrityError:
        return StripeCustomer.objects.get(patient=patient)
