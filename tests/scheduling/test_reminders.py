"""Reminders: planned at booking, sent once under a double scan, in the patient's zone, no PHI."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from accounts import notifications
from scheduling import tasks
from scheduling.models import AgendaDigest, Reminder, ReminderStatus
from scheduling.services.agenda import send_physician_agendas
from scheduling.services.reminders import reminder_send, reminder_text, reminders_plan
from tests.scheduling.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
START = datetime(2026, 6, 3, 19, 0, tzinfo=UTC)  # 3:00 PM EDT, 2:00 PM CDT
BOOKED_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


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
    assert sent.get(channel="sms").provider_id.startswith("locmem-")
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


def test_a_failed_send_goes_back_to_pending_then_fails_after_the_bound(appointment, monkeypatch, settings):
    settings.SCHEDULING_REMINDER_MAX_ATTEMPTS = 2

    def broken(**kw):
        raise ConnectionError("sms down")

    monkeypatch.setattr(notifications, "send_sms", broken)
    reminder = Reminder.objects.get(channel="sms", kind="24h")
    now = START - timedelta(hours=23)
    assert reminder_send(reminder_id=reminder.pk, now=now) is False
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (ReminderStatus.PENDING, 1)
    assert reminder_send(reminder_id=reminder.pk, now=now) is False
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


# --- physician agenda -----------------------------------------------------------------


def test_physician_agenda_is_sent_once_a_day_with_counts_and_times_only(world, physician, patient):
    world.physician(physician)
    world.patient(patient)
    AppointmentFactory(patient=patient, physician=physician, starts_at=START)
    AppointmentFactory(physician=physician, starts_at=START + timedelta(hours=1))
    morning = datetime(2026, 6, 3, 10, 30, tzinfo=UTC)  # 6:30 AM EDT
    with time_machine.travel(morning, tick=False):
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
