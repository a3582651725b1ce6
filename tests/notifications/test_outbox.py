"""The transactional outbox: written with the change, claimed once, sent outside transactions,
retried with backoff, swept when the fast path was lost (docs/notifications.md)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounts import notifications as backends
from notifications import outbox
from notifications.errors import PermanentFailure
from notifications.kinds import KINDS, UnknownKind, render
from notifications.models import Delivery, OutboxEffect
from notifications.services import Recipient, effect_enqueue, notifications_cancel, notify
from notifications.tasks import outbox_sweep, send_deliveries

pytestmark = pytest.mark.django_db

PHONE = "+13055550100"
EFFECT_CALLS: list[dict] = []


def record_effect(**kwargs):
    """An effect handler for these tests."""
    EFFECT_CALLS.append(kwargs)
    if kwargs.get("fail"):
        raise ConnectionError("vendor down")
    return "ok"


@pytest.fixture(autouse=True)
def _clear_effects():
    EFFECT_CALLS.clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the block as a committed transaction would: after-commit sends happen at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def shipped(patient, key="order-notice:1:shipped", phone=PHONE):
    return notify(kind="order_shipped", recipient=Recipient.of(patient, phone=phone), dedupe_key=key)


def later(delivery, seconds=1):
    return delivery.next_attempt_at + timedelta(seconds=seconds)


# --- notify ------------------------------------------------------------------------------------


def test_notify_writes_one_row_per_channel_and_sends_only_after_commit(patient, committed):
    with committed() as callbacks:
        ids = shipped(patient)
        rows = Delivery.objects.filter(pk__in=ids)
        assert sorted(rows.values_list("channel", flat=True)) == ["email", "sms"]
        assert set(rows.values_list("status", flat=True)) == {"pending"}
        assert mail.outbox == [] and backends.sms_outbox == []  # nothing leaves before the commit
    assert len(callbacks) == 1  # one message for the whole notify call
    assert [m.to for m in mail.outbox] == [[patient.email]]
    assert [s.to for s in backends.sms_outbox] == [PHONE]
    body = "Your order has shipped. Open the app to track it."
    assert mail.outbox[0].body == body and backends.sms_outbox[0].body == body
    sms = Delivery.objects.get(channel="sms")
    assert (sms.status, sms.attempts, sms.provider_id, sms.recipient_id) == ("sent", 1, "locmem-1", patient.pk)
    assert sms.sent_at is not None and sms.claimed_by


def test_the_same_event_notified_twice_is_sent_once(patient, committed):
    with committed():
        first = shipped(patient)
    with committed():
        second = shipped(patient)
    assert second == []  # nothing pending: already sent
    assert Delivery.objects.count() == 2 and len(first) == 2
    assert len(mail.outbox) == 1 and len(backends.sms_outbox) == 1


def test_a_rolled_back_change_leaves_no_message(patient, committed):
    with committed():
        with pytest.raises(RuntimeError), transaction.atomic():
            shipped(patient)
            raise RuntimeError("the change failed")
    assert not Delivery.objects.exists()
    assert mail.outbox == [] and backends.sms_outbox == []


def test_sms_needs_a_phone_and_channels_can_be_narrowed(patient, committed):
    with committed():
        assert len(shipped(patient, key="a", phone="")) == 1
        notify(kind="order_shipped", recipient=Recipient.of(patient, phone=PHONE), dedupe_key="b", channels=("sms",))
        notify(kind="safety_alert", recipient="oncall@practice.example", dedupe_key="c")
    assert list(Delivery.objects.order_by("pk").values_list("dedupe_key", "channel")) == [
        ("a", "email"),
        ("b", "sms"),
        ("c", "email"),
    ]


def test_a_cancelled_notice_is_not_sent(patient):
    shipped(patient)  # the test transaction never commits: nothing is sent yet
    assert notifications_cancel(dedupe_key="order-notice:1:shipped") == 2
    outbox.sweep(token="t", now=timezone.now() + timedelta(hours=1))
    assert set(Delivery.objects.values_list("status", flat=True)) == {"cancelled"}
    assert mail.outbox == []


def test_every_kind_renders_without_health_information():
    context = {
        "what": "Delivery exception",
        "what_lower": "delivery exception",
        "order": "0d9c1a4e-uuid",
        "status": "exception",
        "count": 2,
        "days": 60,
        "lines": "- DEA registration (FL) #3 of physician #7 expires on 2026-08-01: /admin/...",
        "noun": "visits",
        "zone": "EDT",
        "times": "3:00 PM, 4:00 PM",
        "switch_on": "2027-01-01",
        "when": "tomorrow",
        "clock": "3:00 PM",
        "place": "at 200 Biscayne Blvd, Miami, FL 33131",  # the office's (docs/in-person-visits.md#reminders)
    }
    words = ("ketamine", "depress", "suicid", "phq", "blood pressure", "dose", "troche", "prescription", "mg")
    for kind in KINDS:
        subject, body = render(kind, context)
        text = f"{subject} {body}".lower()
        assert not any(word in text for word in words), kind
        if kind == "in_person_visit_reminder":  # the approved text names the place instead
            continue
        assert "app" in text or "dashboard" in text or "board" in text or "renew" in text, kind
    with pytest.raises(UnknownKind):
        render("no_such_kind", {})
    with pytest.raises(KeyError):
        render("order_attention", {})  # a missing context value fails in the caller's transaction


# --- claim, send, mark -----------------------------------------------------------------------------


def test_a_row_is_claimed_once_and_a_redelivered_task_takes_back_its_own(patient):
    (email_id, _) = shipped(patient)
    assert outbox.claim_one(Delivery, email_id, token="task-1") is True
    assert outbox.claim_one(Delivery, email_id, token="task-2") is False  # another worker: no
    assert outbox.claim_one(Delivery, email_id, token="task-1") is True  # the same task again: its own
    assert Delivery.objects.get(pk=email_id).attempts == 2
    assert outbox.perform(Delivery, [email_id], token="task-2") == 0
    assert mail.outbox == []
    assert outbox.perform(Delivery, [email_id], token="task-1") == 1
    assert outbox.perform(Delivery, [email_id], token="task-1") == 0  # sent: never again
    assert len(mail.outbox) == 1


def test_a_mark_lands_only_while_the_row_is_still_claimed_by_the_marker(patient):
    (email_id, _) = shipped(patient)
    outbox.claim_one(Delivery, email_id, token="slow")
    outbox.release_stale(Delivery, now=timezone.now() + timedelta(hours=1))  # judged dead
    outbox.claim_one(Delivery, email_id, token="sweep", now=timezone.now() + timedelta(hours=1))
    assert outbox.perform_claimed(Delivery, email_id, token="slow") is False  # no longer its row
    assert Delivery.objects.get(pk=email_id).claimed_by == "sweep"


def test_a_failed_send_backs_off_and_fails_for_good_after_the_last_attempt(patient, monkeypatch, settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 30

    def down(**kwargs):
        raise ConnectionError("smtp down")

    monkeypatch.setattr(backends, "send_email", down)
    (email_id,) = notify(kind="order_shipped", recipient=patient, dedupe_key="k")  # email only: no phone
    start = timezone.now()
    assert outbox.perform(Delivery, [email_id], token="t1") == 0
    row = Delivery.objects.get(pk=email_id)
    assert (row.status, row.attempts, row.last_error, row.claimed_by) == ("pending", 1, "ConnectionError", "")
    assert timedelta(seconds=29) < row.next_attempt_at - start < timedelta(seconds=32)
    assert outbox.sweep(token="early", now=row.next_attempt_at - timedelta(seconds=1))["Delivery"] == 0  # not due
    outbox.sweep(token="s2", now=later(row))
    row = Delivery.objects.get(pk=email_id)
    assert (row.status, row.attempts) == ("pending", 2)
    assert row.next_attempt_at - later(Delivery(next_attempt_at=start)) > timedelta(seconds=59)  # doubled
    outbox.sweep(token="s3", now=later(row))
    row = Delivery.objects.get(pk=email_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 3, "ConnectionError")
    outbox.sweep(token="s4", now=later(row, 86400))
    assert Delivery.objects.get(pk=email_id).attempts == 3  # failed rows are left for staff


def test_a_permanent_failure_is_not_retried(patient, monkeypatch):
    def refused(**kwargs):
        raise PermanentFailure("address refused")

    monkeypatch.setattr(backends, "send_email", refused)
    (email_id, _) = shipped(patient)
    outbox.perform(Delivery, [email_id], token="t")
    row = Delivery.objects.get(pk=email_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "PermanentFailure")


def test_http_client_errors_are_permanent_and_server_errors_are_not():
    class Rejected(Exception):
        status = 400

    class Busy(Exception):
        status = 503

    class Throttled(Exception):
        status = 429

    assert outbox._is_permanent(Rejected()) and not outbox._is_permanent(Busy())
    assert not outbox._is_permanent(Throttled()) and not outbox._is_permanent(ConnectionError())


# --- the sweep (the slow path) -----------------------------------------------------------------


def test_broker_down_at_commit_the_change_stands_and_the_sweep_sends(patient, committed, monkeypatch, caplog):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(send_deliveries, "apply_async", broker_down)
    with committed():
        ids = shipped(patient)  # the caller's commit does not fail
    assert "the sweep will send them" in caplog.text
    assert mail.outbox == [] and set(Delivery.objects.values_list("status", flat=True)) == {"pending"}
    row = Delivery.objects.get(pk=ids[0])
    assert outbox.sweep(token="too-soon", now=row.next_attempt_at - timedelta(seconds=1))["Delivery"] == 0
    assert outbox.sweep(token="beat", now=row.next_attempt_at)["Delivery"] == 2
    assert len(mail.outbox) == 1 and len(backends.sms_outbox) == 1
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_rows_of_a_dead_worker_are_sent_after_the_stale_window(patient, settings):
    settings.NOTIFICATIONS_STALE_SENDING_SECONDS = 300
    ids = shipped(patient)
    for pk in ids:
        outbox.claim_one(Delivery, pk, token="killed-worker")
    now = timezone.now()
    assert outbox.sweep(token="beat-1", now=now + timedelta(seconds=200))["Delivery"] == 0
    assert mail.outbox == []
    assert outbox.sweep(token="beat-2", now=now + timedelta(seconds=301))["Delivery"] == 2
    assert len(mail.outbox) == 1 and len(backends.sms_outbox) == 1


def test_a_redelivered_sweep_takes_back_its_rows_at_once(patient):
    ids = shipped(patient)
    row = Delivery.objects.get(pk=ids[0])
    assert outbox.claim_due(Delivery, token="sweep-1", limit=10, now=row.next_attempt_at) == sorted(ids)
    # Its worker died before sending; the broker delivers the same sweep (same id) again.
    assert outbox.sweep(token="sweep-1", now=row.next_attempt_at)["Delivery"] == 2
    assert len(mail.outbox) == 1 and len(backends.sms_outbox) == 1


def test_a_full_chunk_enqueues_another_sweep(patient, settings, monkeypatch):
    settings.NOTIFICATIONS_SWEEP_CHUNK = 2
    settings.NOTIFICATIONS_SWEEP_AFTER_SECONDS = 0
    for i in range(3):
        notify(kind="safety_alert", recipient=f"team{i}@practice.example", dedupe_key=f"k{i}")
    queued = []
    monkeypatch.setattr(outbox_sweep, "delay", lambda: queued.append(1))
    assert outbox_sweep.apply().get() == {"Delivery": 2, "OutboxEffect": 0}
    assert queued == [1]
    assert outbox_sweep.apply().get() == {"Delivery": 1, "OutboxEffect": 0}
    assert queued == [1] and len(mail.outbox) == 3


# --- side effects -----------------------------------------------------------------------------


def test_an_effect_runs_once_after_commit_with_its_arguments(committed):
    with committed():
        pk = effect_enqueue(handler=f"{__name__}.record_effect", args={"order_id": 7}, dedupe_key="effect:7")
        assert EFFECT_CALLS == []
    with committed():
        again = effect_enqueue(handler=f"{__name__}.record_effect", args={"order_id": 7}, dedupe_key="effect:7")
    assert again is None and EFFECT_CALLS == [{"order_id": 7}]
    effect = OutboxEffect.objects.get(pk=pk)
    assert (effect.status, effect.result, effect.attempts) == ("sent", "ok", 1)


def test_an_unknown_handler_fails_in_the_callers_transaction():
    with pytest.raises(ImportError):
        effect_enqueue(handler="prescriptions.services.orders.no_such_function", dedupe_key="x")
    assert not OutboxEffect.objects.exists()


def test_a_failing_effect_is_retried_by_the_sweep(committed):
    with committed():
        pk = effect_enqueue(handler=f"{__name__}.record_effect", args={"fail": True}, dedupe_key="effect:f")
    effect = OutboxEffect.objects.get(pk=pk)
    assert (effect.status, effect.attempts, effect.last_error) == ("pending", 1, "ConnectionError")
    OutboxEffect.objects.filter(pk=pk).update(args={"fail": False})
    assert outbox.sweep(token="beat", now=later(effect))["OutboxEffect"] == 1
    assert OutboxEffect.objects.get(pk=pk).status == "sent" and len(EFFECT_CALLS) == 2


# --- PostgreSQL: overlapping sweeps never hold the same row --------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_claim_disjoint_rows(on_postgres, settings, monkeypatch):
    settings.NOTIFICATIONS_SWEEP_AFTER_SECONDS = 0
    monkeypatch.setattr(send_deliveries, "apply_async", lambda *a, **k: None)  # leave them to the sweeps
    for i in range(40):
        notify(kind="safety_alert", recipient=f"team{i}@practice.example", dedupe_key=f"race-{i}")
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def sweep(name):
        try:
            barrier.wait()
            claimed[name] = outbox.claim_due(Delivery, token=name, limit=15)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [pk for ids in claimed.values() for pk in ids]
    assert len(every) == len(set(every)) == 40
    assert Delivery.objects.filter(status="sending").count() == 40
