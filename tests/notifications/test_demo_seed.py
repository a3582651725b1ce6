import pytest
from django.core.management import call_command

from notifications.models import Delivery

pytestmark = pytest.mark.django_db


def test_demo_seed_fills_the_outbox_once_without_phi(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    kinds = set(Delivery.objects.values_list("kind", flat=True))
    assert "safety_alert" in kinds and kinds & {"order_shipped", "order_delivered", "order_out_for_delivery"}
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    count = Delivery.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Delivery.objects.count() == count
    assert not any(
        "Pensacola" in body or "ketamine" in body.lower() for body in Delivery.objects.values_list("body", flat=True)
    )
