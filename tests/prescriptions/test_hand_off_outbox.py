"""The pharmacy hand-off is an outbox effect (docs/notifications.md#side-effects): written with
the signature, performed after commit, re-driven by the sweep when the broker lost it."""

import pytest
from django.core import mail
from kombu.exceptions import OperationalError

from notifications import outbox
from notifications.models import OutboxEffect
from prescriptions.models import DeliveryOrder, OrderStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    from notifications.tasks import run_effects

    def refuse(*args, **kwargs):
        raise OperationalError("Connection refused.")

    monkeypatch.setattr(run_effects, "apply_async", refuse)


def test_the_signature_writes_one_hand_off_effect_and_it_runs_once(signed, pharmacy):
    order = DeliveryOrder.objects.get(prescription=signed)
    effect = OutboxEffect.objects.get()
    assert (effect.handler, effect.args) == (
        "prescriptions.services.orders.delivery_order_hand_off",
        {"order_id": order.pk},
    )
    assert (effect.dedupe_key, effect.status, effect.result) == (f"pharmacy-hand-off:{order.pk}", "sent", "True")
    assert order.status == OrderStatus.SENT_TO_PHARMACY
    # The first fill's transmission is the e-prescription itself (EPCS): no email to the pharmacy.
    assert [m for m in mail.outbox if m.to == [pharmacy.email]] == []


def test_a_hand_off_lost_by_the_broker_is_sent_by_the_sweep(broker_down, signed, pharmacy):
    order = DeliveryOrder.objects.get(prescription=signed)
    assert order.status == OrderStatus.CREATED  # signed and committed; nothing transmitted yet
    assert [m for m in mail.outbox if m.to == [pharmacy.email]] == []
    effect = OutboxEffect.objects.get()
    assert outbox.sweep(token="beat", now=effect.next_attempt_at)["OutboxEffect"] == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.SENT_TO_PHARMACY
    assert [m for m in mail.outbox if m.to == [pharmacy.email]] == []  # the e-prescription was the transmission
    assert outbox.sweep(token="beat-2", now=effect.next_attempt_at)["OutboxEffect"] == 0


def test_a_failed_transmission_leaves_the_order_created_and_the_effect_retrying(
    broker_down, signed, pharmacy, monkeypatch
):
    from prescriptions import pharmacy_gateway

    def smtp_down(self, order):
        raise OSError("smtp down")

    monkeypatch.setattr(pharmacy_gateway.EmailPharmacyGateway, "send_order", smtp_down)
    effect = OutboxEffect.objects.get()
    outbox.sweep(token="beat", now=effect.next_attempt_at)
    effect.refresh_from_db()
    assert (effect.status, effect.attempts, effect.last_error) == ("pending", 1, "OSError")
    assert DeliveryOrder.objects.get(prescription=signed).status == OrderStatus.CREATED
    monkeypatch.undo()
    outbox.sweep(token="beat-2", now=effect.next_attempt_at)
    assert DeliveryOrder.objects.get(prescription=signed).status == OrderStatus.SENT_TO_PHARMACY
