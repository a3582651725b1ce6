"""Kill a real Celery worker (real Redis broker, PostgreSQL) in the middle of a reminder batch and
in the middle of shipment notices; after a restart nothing is lost and nothing is sent twice.

The kill lands while a message is in flight (the provider has started but not finished), the
worst moment a crash can pick short of the provider's own commit. acks_late +
reject_on_worker_lost put the task back on the queue; the rows' claims (a reminder scan claims a
chunk under SKIP LOCKED and marks each row sent on its own) and unique notice rows make the re-run
send only what was not sent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from config.celery import app
from config.queues import QUEUES

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY = 3  # seconds before a dead worker's task is handed out again (production: 1 hour)
CRASH_STATS = {"crashes": 0, "messages": 0}
REMINDER_CHUNK = 3  # rows per reminder scan in the worker: 10 rows make a chain of four scans

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def broker(on_postgres, tmp_path, settings):
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs a real Redis broker (REDIS_URL), run by .ci/run")
    previous = (app.conf.task_always_eager, dict(app.conf.broker_transport_options or {}), app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_transport_options = {"visibility_timeout": VISIBILITY}
    # A broker database of this xdist worker's own: on one Redis database, two of these tests
    # running at once on two workers took each other's tasks (ids of the other's test database),
    # and each waited in vain for its own.
    broker_url = _own_broker_url(os.environ["REDIS_URL"])
    _use_broker(broker_url)
    with app.connection_for_write() as conn:
        for queue in QUEUES:
            conn.default_channel.queue_purge(queue)
    log = tmp_path / "sms.log"
    log.touch()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY),
        "SMS_BACKEND": "tests.security.crash_sms.SlowFileSMSBackend",
        "CRASH_SMS_LOG": str(log),
        "SCHEDULING_REMINDER_CHUNK": str(REMINDER_CHUNK),
    }
    workers: list[subprocess.Popen] = []

    def start():
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=open(log.with_suffix(".worker"), "a"),
            stderr=subprocess.STDOUT,
        )
        workers.append(worker)
        return worker

    yield start, log
    for worker in workers:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    app.conf.task_always_eager, app.conf.broker_transport_options, url = previous
    _use_broker(url)


def _own_broker_url(url: str) -> str:
    """REDIS_URL with a database of this xdist worker's own (gw0: the next one, gw1: the one
    after), or REDIS_URL itself outside xdist."""
    from urllib.parse import urlsplit, urlunsplit

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(base + 1 + int(worker[2:])) % 16}"))


def _use_broker(url: str) -> None:
    """Point this process's Celery app at `url`: its pools of connections to another are dropped
    (not closed: a producer taken from them may still be in use, and is collected with them)."""
    if app.conf.broker_url == url:
        return
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


def lines(log: Path, prefix: str) -> list[str]:
    return [line.split(" ", 1)[1] for line in log.read_text().splitlines() if line.startswith(prefix + " ")]


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def hold_file(log: Path) -> Path:
    return log.with_name(log.name + ".hold")


def hold_message(log: Path, number: int) -> None:
    """Before the worker starts: the SMS backend keeps message `number` in flight (crash_sms.py)."""
    hold_file(log).write_text(str(number))


def kill_mid_message(worker, log: Path, after: int):
    """SIGKILL the worker while message number `after` is in flight (started, not done). The
    backend holds that message until the kill (hold_message), so however slow the machine, the
    signal lands mid-message, never after the send and before its commit."""
    assert hold_file(log).read_text() == str(after), "hold_message(log, after) before starting the worker"

    def in_flight() -> bool:
        text = log.read_text()  # one read: starts and dones of the same moment
        starts, dones = text.count("start "), text.count("done ")
        return starts == after and dones == after - 1

    wait_until(in_flight, 120, f"message {after} in flight")
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    hold_file(log).unlink()  # the redelivered message goes through
    CRASH_STATS["crashes"] += 1
    # Kombu hands an unacknowledged message out again when a worker starts polling, if it is
    # older than the visibility timeout (later scans are throttled to about every 100 s): let
    # the timeout pass before the restart, as it would in production after a crash.
    time.sleep(VISIBILITY + 1)


def patients_with_phones(n: int):
    from tests.patients.factories import PatientProfileFactory

    return [PatientProfileFactory(phone=f"+1305555{1000 + i:04d}").user for i in range(n)]


def test_reminder_batch_survives_a_worker_crash(broker):
    from scheduling.models import Reminder, ReminderStatus
    from scheduling.tasks import send_due_reminders
    from tests.scheduling.factories import AppointmentFactory

    start, log = broker
    n = 10
    now = timezone.now()
    for i, patient in enumerate(patients_with_phones(n)):
        appt = AppointmentFactory(
            patient=patient, starts_at=(now + timedelta(hours=3, minutes=30 * i)).replace(second=0, microsecond=0)
        )
        Reminder.objects.filter(appointment=appt).delete()
        Reminder.objects.create(appointment=appt, channel="sms", kind="1h", due_at=now - timedelta(minutes=1))
    CRASH_STATS["messages"] += n

    hold_message(log, 4)
    worker = start()
    send_due_reminders.delay()
    from notifications.models import Delivery

    # Scan 1 claims rows 1-3 (a full chunk: it enqueues scan 2), hands them to the outbox and
    # sends their deliveries; scan 2 claims rows 4-6, enqueues scan 3, hands them over and dies
    # while delivery 4 is in flight.
    kill_mid_message(worker, log, after=4)
    handed = Reminder.objects.filter(status=ReminderStatus.SENT)
    sent = Delivery.objects.filter(kind="visit_reminder", status="sent")
    in_flight = Delivery.objects.filter(kind="visit_reminder", status="sending")
    assert handed.count() == 2 * REMINDER_CHUNK and sent.count() == REMINDER_CHUNK
    assert in_flight.count() == REMINDER_CHUNK, "the delivery in flight and the rest of its chunk stay claimed"
    assert len(set(in_flight.values_list("claimed_by", flat=True)) - {""}) == 1, "the claim names its scan"

    # Restart: the queued scan 3 goes on with the chain (rows 7-10), and the unacknowledged scan
    # 2 is handed out again with its id: it sends the deliveries it held (4-6) now, without
    # waiting for the claims to go stale.
    start()
    wait_until(lambda: sent.count() == n, 60, "every reminder sent, the dead scan's rows by its redelivery")
    time.sleep(VISIBILITY + 1)  # a late redelivery would show up as a re-send now
    assert sent.count() == n and not in_flight.exists() and handed.count() == n
    delivered = lines(log, "done")
    assert len(delivered) == n, f"{len(delivered)} deliveries for {n} reminders"
    assert len(set(delivered)) == n, "a reminder was delivered twice"


def test_shipment_notices_survive_a_worker_crash(broker):
    from prescriptions.models import NoticeKind, OrderNotice, OrderStatus
    from prescriptions.tasks import send_order_notice
    from tests.prescriptions.factories import DeliveryOrderFactory, SignedPrescriptionFactory

    start, log = broker
    n = 8
    orders = [
        DeliveryOrderFactory(prescription=SignedPrescriptionFactory(patient=patient), status=OrderStatus.SHIPPED)
        for patient in patients_with_phones(n)
    ]
    CRASH_STATS["messages"] += n
    hold_message(log, 3)
    worker = start()
    for order in orders:
        send_order_notice.delay(order.pk, NoticeKind.PATIENT_SHIPPED)
    kill_mid_message(worker, log, after=3)

    start()
    wait_until(lambda: OrderNotice.objects.count() == n, 60, "every notice recorded")
    wait_until(lambda: len(lines(log, "done")) >= n, 30, "every notice delivered")
    time.sleep(VISIBILITY + 1)  # a late redelivery would show up as a second delivery now
    delivered = lines(log, "done")
    assert sorted(delivered) == sorted(set(delivered)), "a notice was delivered twice"
    assert len(delivered) == n


def _notify_each(patients, prefix: str):
    """One committed change per patient, each writing an SMS to the outbox (as a status change would)."""
    from django.db import transaction

    from notifications.services import Recipient, notify

    for i, patient in enumerate(patients):
        with transaction.atomic():
            notify(
                kind="order_shipped",
                recipient=Recipient.of(patient, phone=f"+1305555{1000 + i:04d}"),
                dedupe_key=f"{prefix}-{i}",
                channels=("sms",),
            )


def test_outbox_deliveries_survive_a_worker_crash(broker):
    """Fast path: each commit enqueues its send; the worker dies mid-send; the broker hands the
    task out again (same id), which takes back the row it held: every row sent, none twice."""
    from notifications.models import Delivery

    start, log = broker
    n = 8
    patients = patients_with_phones(n)
    CRASH_STATS["messages"] += n
    hold_message(log, 3)
    worker = start()
    _notify_each(patients, "crash-fast")
    kill_mid_message(worker, log, after=3)
    assert Delivery.objects.filter(status="sending").count() == 1, "the row in flight stays claimed"

    start()
    sent = Delivery.objects.filter(status="sent")
    wait_until(lambda: sent.count() == n, 60, "every delivery sent")
    time.sleep(VISIBILITY + 1)  # a late redelivery would show up as a second delivery now
    delivered = lines(log, "done")
    assert len(delivered) == n and len(set(delivered)) == n, f"{len(delivered)} deliveries for {n} rows"
    assert set(Delivery.objects.values_list("attempts", flat=True)) <= {1, 2}


def test_outbox_sweep_sends_what_a_dead_broker_lost_even_through_a_crash(broker, monkeypatch, settings):
    """Slow path: the broker refuses every enqueue at commit (the changes still commit, nothing is
    sent); when it is back, beat's sweep claims the rows, its worker is killed mid-batch, and the
    redelivered sweep takes back its rows and sends the rest: every row once."""
    from kombu.exceptions import OperationalError

    from notifications.models import Delivery
    from notifications.tasks import outbox_sweep, send_deliveries

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    start, log = broker
    n = 8
    settings.NOTIFICATIONS_SWEEP_AFTER_SECONDS = 0  # due at once for the sweep
    patients = patients_with_phones(n)
    CRASH_STATS["messages"] += n
    monkeypatch.setattr(send_deliveries, "apply_async", broker_down)
    _notify_each(patients, "crash-sweep")
    assert Delivery.objects.filter(status="pending").count() == n and lines(log, "start") == []

    hold_message(log, 3)
    worker = start()
    outbox_sweep.delay()  # beat's next tick, the broker being back
    kill_mid_message(worker, log, after=3)
    assert Delivery.objects.filter(status="sent").count() == 2

    start()
    sent = Delivery.objects.filter(status="sent")
    wait_until(lambda: sent.count() == n, 60, "every delivery sent by the redelivered sweep")
    time.sleep(VISIBILITY + 1)
    delivered = lines(log, "done")
    assert len(delivered) == n and len(set(delivered)) == n, f"{len(delivered)} deliveries for {n} rows"
