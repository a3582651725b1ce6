"""Reminders: planned at booking, sent once under a double scan, in the patient's zone, no PHI."""

import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts import notifications
from notifications.models import Delivery
from scheduling import contracts, tasks
from scheduling.models import AgendaDigest, Reminder, ReminderStatus
from scheduling.services.agenda import send_physician_agendas
from scheduling.services.reminders import (
    reminder_send,
    reminder_text,
    reminders_claim,
    reminders_plan,
    reminders_send_claimed,
)
from tests.scheduling.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
START = datetime(2026, 6, 3, 19, 0, tzinfo=UTC)  # 3:00 PM EDT, 2:00 PM CDT
BOOKED_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _contacts_from_world(monkeypatch):
    """The bulk contact contract answered from `world`'s per-patient fake (conftest), one by one."""
    monkeypatch.setattr(
        contracts, "patient_contacts", lambda patients: {p.pk: contracts.patient_contact(p) for p in patients}
    )


@pytest.fixture
def appointment(world, patient, physician):
    world.physician(physician)
    world.patient(patient, tz="America/New_York")
    appt = AppointmentFactory(patient=patient, physician=physician, starts_at=START)
    reminders_plan(appointment=appt, now=BOOKED_AT)
    return appt


def test_reminder_rows_are_planned_per_channel_and_offset(appointment):
    rows = {(r.channel, r.kind): r.due_at for r in Reminder.objects.all()}
    assert rows == {
        ("email", "24h"): START - timedelta(hours=24),
        ("sms", "24h"): START - timedelta(hours=24),
        ("email", "1h"): START - timedelta(hours=1),
        ("sms", "1h"): START - timedelta(hours=1),
    }


def test_double_scan_sends_each_reminder_once(appointment, patient):
    with time_machine.travel(START - timedelta(hours=23), tick=False):
        assert tasks.send_due_reminders() == 2
        assert tasks.send_due_reminders() == 0
    assert len(notifications.sms_outbox) == 1 and len(mail.outbox) == 1
    body = notifications.sms_outbox[0].body
    assert body == "Reminder: you have a video visit tomorrow at 3:00 PM EDT. Open the app for details."
    assert mail.outbox[0].body == body and mail.outbox[0].to == [patient.email]
    assert patient.last_name not in body and patient.first_name not in body
    sent = Reminder.objects.filter(status=ReminderStatus.SENT)
    assert sent.count() == 2 and all(r.sent_at for r in sent)
    # Each row went through the outbox: one Delivery per row, the provider's id on it.
    key = f"visit-reminder:{sent[0].appointment_id}:24h:{int(START.timestamp())}"
    deliveries = Delivery.objects.filter(dedupe_key=key)
    assert sorted(deliveries.values_list("kind", "channel", "status")) == [
        ("visit_reminder", "email", "sent"),
        ("visit_reminder", "sms", "sent"),
    ]
    assert deliveries.get(channel="sms").provider_id.startswith("locmem-")
    with time_machine.travel(START - timedelta(minutes=30), tick=False):
        assert tasks.send_due_reminders() == 2
    assert "today at 3:00 PM EDT" in notifications.sms_outbox[-1].body


def test_concurrent_claims_send_once(appointment):
    reminder = Reminder.objects.get(channel="sms", kind="24h")
    results = [reminder_send(reminder_id=reminder.pk, now=START - timedelta(hours=23)) for _ in range(3)]
    assert results == [True, False, False]
    assert len(notifications.sms_outbox) == 1


def test_reminder_names_the_time_in_the_patients_zone():
    now = START - timedelta(hours=23)
    assert (
        reminder_text(starts_at=START, tz=ZoneInfo("America/Chicago"), now=now)
        == "Reminder: you have a video visit tomorrow at 2:00 PM CDT. Open the app for details."
    )
    winter = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)
    assert "3:00 PM EST" in reminder_text(starts_at=winter, tz=ZoneInfo("America/New_York"), now=winter)


def test_a_failed_send_is_retried_by_the_outbox(appointment, monkeypatch, settings):
    """The provider down: the reminder is handed over once (sent), its SMS delivery waits for the
    outbox's retry with backoff, and goes out on that retry, once."""
    from notifications.tasks import outbox_sweep

    def broken(**kw):
        raise ConnectionError("sms down")

    monkeypatch.setattr(notifications, "send_sms", broken)
    reminder = Reminder.objects.get(channel="sms", kind="24h")
    now = START - timedelta(hours=23)
    assert reminder_send(reminder_id=reminder.pk, now=now) is False
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (ReminderStatus.SENT, 1)
    sms = Delivery.objects.get(channel="sms")
    assert (sms.status, sms.attempts, sms.last_error) == ("pending", 1, "ConnectionError")
    assert reminder_send(reminder_id=reminder.pk, now=now) is False  # already handed over
    monkeypatch.undo()
    with time_machine.travel(sms.next_attempt_at + timedelta(seconds=1), tick=False):
        outbox_sweep()
    assert len(notifications.sms_outbox) == 1
    assert Delivery.objects.get(channel="sms").status == "sent"


def test_a_failed_outbox_write_goes_back_to_pending_then_fails_after_the_bound(appointment, monkeypatch, settings):
    from scheduling.services import reminders

    settings.SCHEDULING_REMINDER_MAX_ATTEMPTS = 2

    def broken(*args, **kw):
        raise ConnectionError("database hiccup")

    monkeypatch.setattr(reminders, "notify_many", broken)
    reminder = Reminder.objects.get(channel="sms", kind="24h")
    now = START - timedelta(hours=23)
    with pytest.raises(ConnectionError):
        reminder_send(reminder_id=reminder.pk, now=now)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (ReminderStatus.PENDING, 1)
    with pytest.raises(ConnectionError):
        reminder_send(reminder_id=reminder.pk, now=now)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (ReminderStatus.FAILED, 2)


def test_reminder_for_a_cancelled_visit_is_not_sent(appointment):
    appointment.status = "cancelled"
    appointment.save()
    with time_machine.travel(START - timedelta(hours=23), tick=False):
        assert tasks.send_due_reminders() == 0
    assert not notifications.sms_outbox
    assert set(Reminder.objects.filter(kind="24h").values_list("status", flat=True)) == {"cancelled"}


def test_stale_sending_rows_are_picked_up_again(appointment):
    now = START - timedelta(hours=23)
    Reminder.objects.filter(kind="24h").update(status=ReminderStatus.SENDING, claimed_at=now - timedelta(minutes=30))
    with time_machine.travel(now, tick=False):
        assert tasks.send_due_reminders() == 2


def test_no_sms_row_without_a_phone(world, patient, physician):
    world.physician(physician)
    world.patient(patient, phone="")
    appt = AppointmentFactory(patient=patient, physician=physician, starts_at=START)
    reminders_plan(appointment=appt, now=BOOKED_AT)
    assert set(Reminder.objects.values_list("channel", flat=True)) == {"email"}


def test_offsets_already_passed_are_not_planned(world, patient, physician):
    world.physician(physician)
    world.patient(patient)
    appt = AppointmentFactory(patient=patient, physician=physician, starts_at=START)
    reminders_plan(appointment=appt, now=START - timedelta(hours=5))
    assert set(Reminder.objects.values_list("kind", flat=True)) == {"1h"}


@pytest.mark.django_db(transaction=True)
def test_scans_in_parallel_threads_send_once(on_postgres, world, patient, physician):
    from django.db import connection

    world.physician(physician)
    world.patient(patient)
    appt = AppointmentFactory(patient=patient, physician=physician, starts_at=START)
    reminders_plan(appointment=appt, now=BOOKED_AT)
    now = START - timedelta(hours=23)
    barrier = threading.Barrier(4)
    counts = []

    def scan():
        try:
            barrier.wait()
            from scheduling.services.reminders import send_due_reminders

            counts.append(send_due_reminders(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 2
    assert len(notifications.sms_outbox) == 1


# --- chunked claims and the scan chain ---------------------------------------------------------


def due_burst(world, physician, n: int) -> datetime:
    """n visits of n patients, each with an email and an SMS reminder due at the returned time."""
    from tests.factories import PatientUserFactory

    world.physician(physician)
    for i in range(n):
        patient = world.patient(PatientUserFactory(), phone=f"+1305555{2000 + i:04d}")
        appt = AppointmentFactory(patient=patient, physician=physician, starts_at=START + timedelta(hours=i))
        reminders_plan(appointment=appt, now=BOOKED_AT)
    return START + timedelta(hours=n - 1) - timedelta(hours=24)  # every 24h row due, no 1h row


def test_a_chunk_is_claimed_in_one_update_whatever_its_size(world, physician):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now = due_burst(world, physician, 5)
    with CaptureQueriesContext(connection) as small:
        two = reminders_claim(now=now, limit=2)
    with CaptureQueriesContext(connection) as large:
        eight = reminders_claim(now=now, limit=8)
    assert (len(two), len(eight)) == (2, 8)
    assert len(small.captured_queries) == len(large.captured_queries)
    claims = [q["sql"] for q in large.captured_queries if q["sql"].startswith("UPDATE") and "attempts" in q["sql"]]
    assert len(claims) == 1
    rows = Reminder.objects.filter(pk__in=[r.pk for r in two + eight])
    assert {(r.status, r.attempts, r.claimed_at) for r in rows} == {(ReminderStatus.SENDING, 1, now)}
    assert Reminder.objects.filter(kind="24h", status=ReminderStatus.PENDING).count() == 0
    # Oldest first: the first claim took the earliest due rows.
    assert max(r.due_at for r in two) <= min(r.due_at for r in eight)


def test_sending_a_chunk_costs_one_update_per_row_and_no_query_per_row_to_load(world, physician):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now = due_burst(world, physician, 5)
    two, eight = reminders_claim(now=now, limit=2), reminders_claim(now=now, limit=8)
    with CaptureQueriesContext(connection) as small:
        assert reminders_send_claimed(reminders=two, now=now) == 2
    with CaptureQueriesContext(connection) as large:
        assert reminders_send_claimed(reminders=eight, now=now) == 8
    assert len(large.captured_queries) - len(small.captured_queries) == 6
    assert Reminder.objects.filter(status=ReminderStatus.SENT).count() == 10
    assert len(notifications.sms_outbox) == 5 and len(mail.outbox) == 5


def test_a_full_chunk_enqueues_one_more_scan_before_sending_and_a_short_one_does_not(
    world, physician, monkeypatch, settings
):
    settings.SCHEDULING_REMINDER_CHUNK = 3
    now = due_burst(world, physician, 2)  # 4 due rows
    enqueued = []
    monkeypatch.setattr(
        tasks.send_due_reminders, "delay", lambda: enqueued.append(Reminder.objects.filter(status="sent").count())
    )
    with time_machine.travel(now, tick=False):
        assert tasks.send_due_reminders() == 3
        assert enqueued == [0], "the full chunk enqueued one scan, before it sent anything"
        assert tasks.send_due_reminders() == 1
        assert enqueued == [0], "a short chunk ends the chain"
        assert tasks.send_due_reminders() == 0
    assert enqueued == [0]


def test_one_scan_drains_a_burst_through_the_chain(world, physician, settings):
    settings.SCHEDULING_REMINDER_CHUNK = 3
    now = due_burst(world, physician, 4)  # 8 due rows: chunks of 3, 3, 2 (tests run tasks eagerly)
    with time_machine.travel(now, tick=False):
        tasks.send_due_reminders()
    assert Reminder.objects.filter(kind="24h", status=ReminderStatus.SENT).count() == 8
    assert len(notifications.sms_outbox) == 4


def test_a_scan_stopped_by_an_exception_leaves_the_rows_not_reached_to_the_outbox(world, physician, monkeypatch):
    """Stopped mid-chunk (a deploy's SIGTERM) while sending: the whole chunk was handed to the
    outbox in one commit; the delivery in flight stays claimed (the stale window), the ones not
    reached go back to pending for the sweep, none is lost and none sent twice."""

    class Shutdown(BaseException):
        pass

    now = due_burst(world, physician, 3)
    calls = []

    def send_email(**kw):
        calls.append(kw)
        if len(calls) == 2:
            raise Shutdown

    monkeypatch.setattr(notifications, "send_email", send_email)
    claimed = reminders_claim(now=now, limit=6)
    with pytest.raises(Shutdown):
        reminders_send_claimed(reminders=claimed, now=now, token="scan-1")
    assert set(Reminder.objects.filter(kind="24h").values_list("status", flat=True)) == {ReminderStatus.SENT}
    rows = list(Delivery.objects.order_by("pk").values_list("channel", "status"))
    assert rows == [
        ("email", "sent"),
        ("sms", "sent"),
        ("email", "sending"),  # in flight: the redelivered scan or the stale window
        ("sms", "pending"),
        ("email", "pending"),
        ("sms", "pending"),
    ]
    from notifications.tasks import outbox_sweep
    from scheduling.services.reminders import send_due_reminders

    monkeypatch.undo()
    assert send_due_reminders(now=now, token="scan-1") == 1  # the same scan delivered again: its row in flight
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
        outbox_sweep()  # the rows handed back
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    assert len(notifications.sms_outbox) == 3 and len(calls) + len(mail.outbox) == 4  # row 3 twice: in flight


def test_patient_contacts_reads_every_patient_in_one_query(monkeypatch, django_assert_num_queries):
    from tests.factories import PatientUserFactory
    from tests.patients.factories import PatientProfileFactory

    monkeypatch.undo()  # the real contract, not the fake above
    profiles = [
        PatientProfileFactory(phone="+13055550111", time_zone="America/Chicago"),
        PatientProfileFactory(phone="", time_zone="America/New_York"),
    ]
    bare = PatientUserFactory()
    users = [p.user for p in profiles] + [bare]
    with django_assert_num_queries(1):
        contacts = contracts.patient_contacts(users)
    assert contacts[users[0].pk] == (users[0].email, "+13055550111", ZoneInfo("America/Chicago"))
    assert contacts[users[1].pk] == (users[1].email, "", ZoneInfo("America/New_York"))
    assert contacts[bare.pk][:2] == (bare.email, "")
    assert contacts == {u.pk: contracts.patient_contact(u) for u in users}


@pytest.mark.django_db(transaction=True)
def test_overlapping_chunked_scans_never_send_a_row_twice(on_postgres, world, physician):
    from django.db import connection

    now = due_burst(world, physician, 10)  # 20 due rows
    barrier = threading.Barrier(4)
    claimed, sent, errors = [], [], []

    def scan():
        try:
            barrier.wait()
            while rows := reminders_claim(now=now, limit=3):
                claimed.extend(r.pk for r in rows)
                sent.append(reminders_send_claimed(reminders=rows, now=now))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(claimed) == len(set(claimed)) == 20
    assert sum(sent) == 20
    assert len(notifications.sms_outbox) == 10 and len(mail.outbox) == 10
    assert len({m.to for m in notifications.sms_outbox}) == 10


@pytest.mark.django_db(transaction=True)
def test_marks_on_postgres_are_one_statement_each_and_leave_the_session_synchronous(
    on_postgres, world, physician, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now = due_burst(world, physician, 3)  # 6 due rows
    rows = reminders_claim(now=now, limit=6)

    def flaky_email(**kw):
        if kw["to"] == rows[2].appointment.patient.email:
            raise ConnectionError("mail down")

    monkeypatch.setattr(notifications, "send_email", flaky_email)
    with CaptureQueriesContext(connection) as marks:
        assert reminders_send_claimed(reminders=rows, now=now, token="scan-1") == 5
    updates = [q["sql"] for q in marks.captured_queries if "synchronous_commit" in q["sql"]]
    assert len(updates) == 6 and all(sql.startswith("UPDATE") for sql in updates)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on", "the marks' setting is transaction-local"
    assert {r.status for r in Reminder.objects.filter(pk__in=[r.pk for r in rows])} == {ReminderStatus.SENT}
    deliveries = {d.address: d for d in Delivery.objects.all()}
    failed = deliveries.pop(rows[2].appointment.patient.email)
    assert (failed.status, failed.attempts, failed.sent_at) == ("pending", 1, None)
    assert {d.status for d in deliveries.values()} == {"sent"} and all(d.sent_at for d in deliveries.values())
    assert {d.provider_id.startswith("locmem-") for d in deliveries.values() if d.channel == "sms"} == {True}
    # A mark changes only a row still claimed by the marker.
    from notifications import outbox

    sent = next(iter(deliveries.values()))
    assert outbox._mark(Delivery, sent.pk, "scan-1", flush=False, status="pending") == 0
    assert Delivery.objects.get(pk=sent.pk).status == "sent"


# --- physician agenda -----------------------------------------------------------------


def test_physician_agenda_is_sent_once_a_day_with_counts_and_times_only(
    world, physician, patient, django_capture_on_commit_callbacks
):
    world.physician(physician)
    world.patient(patient)
    AppointmentFactory(patient=patient, physician=physician, starts_at=START)
    AppointmentFactory(physician=physician, starts_at=START + timedelta(hours=1))
    morning = datetime(2026, 6, 3, 10, 30, tzinfo=UTC)  # 6:30 AM EDT
    with time_machine.travel(morning, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert send_physician_agendas() == 1
        assert send_physician_agendas() == 0
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert body == "You have 2 video visits today (EDT): 3:00 PM, 4:00 PM. Open the app for details."
    assert patient.last_name not in body
    assert AgendaDigest.objects.get().visit_count == 2


def test_no_agenda_before_the_local_hour(world, physician):
    world.physician(physician)
    with time_machine.travel(datetime(2026, 6, 3, 9, 0, tzinfo=UTC), tick=False):  # 5:00 AM EDT
        assert send_physician_agendas() == 0
    assert not AgendaDigest.objects.exists()


def test_a_new_visits_reminders_are_planned_in_one_insert(world, patient, physician, django_assert_num_queries):
    """Booking plans the reminders of a visit it just created: no rows to re-plan, so one query
    for the patient's contact, one for their notification preferences and push devices, and one
    INSERT for every row."""
    from tests.scheduling.factories import AppointmentFactory

    world.physician(physician)
    world.patient(patient)
    appointment = AppointmentFactory(patient=patient, physician=physician, starts_at=timezone.now() + timedelta(days=3))
    # The contact comes from the faked contract; the preferences and whether a push device exists.
    with django_assert_num_queries(2):
        planned = reminders_plan(appointment=appointment, new=True)
    assert sorted((r.channel, r.kind) for r in planned) == [
        ("email", "1h"),
        ("email", "24h"),
        ("sms", "1h"),
        ("sms", "24h"),
    ]
    assert Reminder.objects.filter(appointment=appointment, status=ReminderStatus.PENDING).count() == 4


def test_a_scan_delivered_again_takes_back_its_own_unsent_rows_at_once(world, physician):
    """A worker died mid-chunk (SIGKILL: no exception handler ran): its rows stay in sending under
    its task id. The broker delivers that task again (same id): it takes back its own rows and
    sends them now, not after STALE_SENDING; another scan's claim is left alone."""
    from scheduling.services.reminders import send_due_reminders

    now = due_burst(world, physician, 3)  # 6 due rows
    dead = reminders_claim(now=now, limit=3, token="task-dead")
    reminders_send_claimed(reminders=dead[:1], now=now)  # one went out before the kill
    live = reminders_claim(now=now, limit=2, token="task-live")  # another scan, still working
    assert Reminder.objects.filter(status=ReminderStatus.SENDING, claimed_by="task-dead").count() == 2

    assert send_due_reminders(now=now, token="task-dead") == 3  # its 2 rows + the last due one
    assert Reminder.objects.filter(status=ReminderStatus.SENDING).count() == 2
    assert set(Reminder.objects.filter(status=ReminderStatus.SENDING).values_list("claimed_by", flat=True)) == {
        "task-live"
    }
    assert reminders_send_claimed(reminders=live, now=now) == 2
    assert Reminder.objects.filter(kind="24h", status=ReminderStatus.SENT).count() == 6
    assert len(notifications.sms_outbox) + len(mail.outbox) == 6  # each row sent once


def test_a_scan_without_a_task_id_takes_back_nothing(world, physician):
    now = due_burst(world, physician, 1)
    reminders_claim(now=now, limit=2)  # no token: e.g. called outside a worker
    from scheduling.services.reminders import reminders_take_back

    assert reminders_take_back(token="") == 0
    assert Reminder.objects.filter(status=ReminderStatus.SENDING).count() == 2


# --- through the notification outbox: quiet hours, choices, push, duplicates ----------------------

NY = ZoneInfo("America/New_York")


def _visit(world, patient, physician, starts_at, planned_at):
    world.physician(physician)
    world.patient(patient, tz="America/New_York")
    appt = AppointmentFactory(patient=patient, physician=physician, starts_at=starts_at)
    reminders_plan(appointment=appt, now=planned_at)
    return appt


def test_a_reminder_due_inside_quiet_hours_waits_for_their_end_across_the_fall_back(world, patient, physician):
    """The patient chose quiet hours (22:00-07:00) after the visit was booked: the reminder due at
    01:30 on the night clocks fall back is written to the outbox but held until 07:00 EST (12:00
    UTC, not 11:00), which neither a duplicated scan nor an early sweep may send; then it goes once."""
    from notifications.models import NotificationPreference
    from notifications.tasks import outbox_sweep

    appt = _visit(world, patient, physician, datetime(2026, 11, 1, 9, 0, tzinfo=NY), datetime(2026, 10, 20, tzinfo=UTC))
    NotificationPreference.objects.create(user=patient, quiet_start=time(22), quiet_end=time(7))
    night = datetime(2026, 11, 1, 1, 30, tzinfo=NY)  # EDT, the first 01:30 of that night
    Reminder.objects.filter(appointment=appt, kind="24h").update(due_at=night)
    with time_machine.travel(night, tick=False):
        tasks.send_due_reminders()
        tasks.send_due_reminders()  # a duplicated scan
    held = Delivery.objects.filter(kind="visit_reminder")
    assert held.count() == 2 and set(held.values_list("status", flat=True)) == {"pending"}
    assert {d.not_before for d in held} == {datetime(2026, 11, 1, 12, 0, tzinfo=UTC)}  # 07:00 EST
    assert set(Reminder.objects.filter(kind="24h").values_list("status", flat=True)) == {ReminderStatus.SENT}
    with time_machine.travel(datetime(2026, 11, 1, 6, 59, tzinfo=NY), tick=False):
        outbox_sweep()
        tasks.send_due_reminders()
    assert notifications.sms_outbox == [] and mail.outbox == []
    with time_machine.travel(datetime(2026, 11, 1, 7, 0, 1, tzinfo=NY), tick=False):
        outbox_sweep()
        outbox_sweep()
    assert len(notifications.sms_outbox) == 1 and len(mail.outbox) == 1
    assert "today at 9:00 AM EST" in notifications.sms_outbox[0].body


def test_a_reminder_for_a_visit_before_quiet_hours_end_goes_at_once(world, patient, physician):
    from notifications.models import NotificationPreference

    visit = datetime(2026, 11, 1, 6, 30, tzinfo=NY)  # starts before the quiet hours end (07:00 EST)
    appt = _visit(world, patient, physician, visit, datetime(2026, 10, 20, tzinfo=UTC))
    NotificationPreference.objects.create(user=patient, quiet_start=time(22), quiet_end=time(7))
    Reminder.objects.filter(appointment=appt, kind="24h").delete()  # sent the day before
    due = Reminder.objects.get(appointment=appt, kind="1h", channel="sms").due_at
    assert due == datetime(2026, 11, 1, 5, 30, tzinfo=NY)
    with time_machine.travel(due, tick=False):
        assert tasks.send_due_reminders() == 2
    assert {d.not_before for d in Delivery.objects.filter(dedupe_key__contains=":1h:")} == {None}
    assert len(notifications.sms_outbox) == 1 and "today at 6:30 AM EST" in notifications.sms_outbox[0].body


def test_reminders_follow_the_reminders_choices_for_push_and_sms(world, patient, physician):
    """A device registered: email, SMS and push are planned and each goes once (push to the
    device, the same text). Push and SMS switched off for reminders: not planned for a new visit,
    and cancelled when due for a visit planned before the change."""
    from notifications import push
    from notifications.models import Device, NotificationPreference

    push.push_outbox.clear()
    Device.objects.create(user=patient, platform="ios", token="tok-1")
    planned_at = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    first = _visit(world, patient, physician, START, planned_at)
    assert sorted(Reminder.objects.filter(appointment=first, kind="24h").values_list("channel", flat=True)) == [
        "email",
        "push",
        "sms",
    ]
    with time_machine.travel(START - timedelta(hours=23), tick=False):
        assert tasks.send_due_reminders() == 3
        assert tasks.send_due_reminders() == 0
    assert len(push.push_outbox) == 1 and push.push_outbox[0].body == notifications.sms_outbox[0].body
    NotificationPreference.objects.create(user=patient, channels={"reminders": {"push": False, "sms": False}})
    second = AppointmentFactory(patient=patient, physician=physician, starts_at=START + timedelta(days=2))
    reminders_plan(appointment=second, now=planned_at)
    assert set(Reminder.objects.filter(appointment=second).values_list("channel", flat=True)) == {"email"}
    with time_machine.travel(START - timedelta(minutes=30), tick=False):  # first's 1h rows, planned before
        assert tasks.send_due_reminders() == 1
    cancelled = Reminder.objects.filter(appointment=first, kind="1h", status=ReminderStatus.CANCELLED)
    assert sorted(cancelled.values_list("channel", flat=True)) == ["push", "sms"]
    assert len(push.push_outbox) == 1 and len(notifications.sms_outbox) == 1 and len(mail.outbox) == 2
    push.push_outbox.clear()


def test_a_duplicated_send_of_the_same_rows_writes_and_sends_each_once(appointment):
    """The same claimed rows handed over twice (a scan whose claim was judged dead while it was
    still running): the dedupe key writes no second delivery and nothing is sent twice."""
    now = START - timedelta(hours=23)
    rows = reminders_claim(now=now, limit=10)
    assert reminders_send_claimed(reminders=rows, now=now, token="a") == 2
    Reminder.objects.filter(pk__in=[r.pk for r in rows]).update(status=ReminderStatus.SENDING)
    assert reminders_send_claimed(reminders=rows, now=now, token="b") == 0
    assert Delivery.objects.count() == 2
    assert len(notifications.sms_outbox) == 1 and len(mail.outbox) == 1
