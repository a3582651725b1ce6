import pytest
from django.core.management import call_command

from prescriptions.models import DeliveryOrder, OrderStatus, Pharmacy, Prescription

pytestmark = pytest.mark.django_db


def test_demo_seed_has_orders_in_every_status_and_is_idempotent():
    call_command("seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    statuses = set(DeliveryOrder.objects.values_list("status", flat=True))
    assert statuses == set(OrderStatus.values)
    counts = (Prescription.objects.count(), DeliveryOrder.objects.count(), Pharmacy.objects.count())
    call_command("seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert (Prescription.objects.count(), DeliveryOrder.objects.count(), Pharmacy.objects.count()) == counts
    assert all(o.adult_signature_required for o in DeliveryOrder.objects.all())
