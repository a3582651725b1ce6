"""The medication catalogue, maintained by staff. A product is retired, never deleted."""

from __future__ import annotations

from uuid import UUID

from django.db import transaction

from accounts.models import User
from prescriptions.models import MedicationProduct
from prescriptions.selectors import product_get


@transaction.atomic
def product_create(*, actor: User, **fields) -> MedicationProduct:
    product = MedicationProduct(**fields)
    product.full_clean()
    product.save()
    return product


@transaction.atomic
def product_update(*, actor: User, product_id: UUID, **changes) -> MedicationProduct:
    """Edit or retire (`active=False`) a product. Signed prescriptions keep their own snapshot."""
    product = product_get(public_id=product_id)
    for field, value in changes.items():
        setattr(product, field, value)
    product.full_clean()
    product.save()
    return product
