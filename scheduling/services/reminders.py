"""Visit reminders: rows planned at booking, scanned by beat, each sent once.

Sending claims a row with a compare-and-swap (pending -> sending) and goes on only when it
changed one row, so two scans (or a re-delivered task) never send the same reminder twice.
A failed send puts the row back to pending until SCHEDULING_REMINDER_MAX_ATTEMPTS, then failed.
A row left in "sending" by a crashed worker goes back to pending after 10 minutes: at-least-once
after a crash is preferred to a silently lost reminder.

Bodies say when, in the patient's own time zone (DOMAIN.md 2), and nothing else: no
physician name, no reason for the visit.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from accounts import notifications
from scheduling import contracts
from scheduling.models import Appointment, AppointmentStatus, Reminder, ReminderChannel, ReminderStatus

logger = logging.getLogger(__name__)

STALE_SENDING = timedelta(minutes=10)


def _kinds() -> list[tuple[str, timedelta]]:
    return [(f"{h}h", timedelta(hours=h)) for h in settings.SCHEDULING_REMINDER_OFFSETS_HOURS]


def reminders_plan(*, appointment: Appointment, now: datetime | None = None) -> list[Reminder]:
    """Create or re-plan the appointment's reminders (email always, SMS when the patient has a
    phone). Offsets already passed are not planned; rows no longer wanted are cancelled."""
    now = now or timezone.now()
    _, phone, _ = contracts.patient_contact(appointment.patient)
    channels = [ReminderChannel.EMAIL] + ([ReminderChannel.SMS] if phone else [])
    wanted = {}
    for kind, offset in _kinds():
        due = appointment.starts_at - offset
        if due > now:
            for channel in channels:
                wanted[(channel.value, kind)] = due
    existing = {(r.channel, r.kind): r for r in Reminder.objects.filter(appointment=appointment)}
    planned = []
    for (channel, kind), due in wanted.items():
        row = existing.pop((channel, kind), None)
        if row is None:
            row = Reminder(appointment=appointment, channel=channel, kind=kind)
        row.due_at, row.status, row.attempts, row.sent_at, row.provider_id = due, ReminderStatus.PENDING, 0, None, ""
        row.save()
        planned.append(row)
    stale = [r.pk for r in existing.values() if r.status == ReminderStatus.PENDING]
    Reminder.objects.filter(pk__in=stale).update(status=ReminderStatus.CANCELLED)
    return planned


def reminders_cancel(*, appointment: Appointment) -> int:
    return Reminder.objects.filter(appointment=appointment, status=ReminderStatus.PENDING).update(
        status=ReminderStatus.CANCELLED
    )


def reminder_text(*, starts_at: datetime, tz: ZoneInfo, now: datetime) -> str:
    local = starts_at.astimezone(tz)
    today = now.astimezone(tz).date()
    if local.date() == today:
        when = "today"
    elif local.date() == today + timedelta(days=1):
        when = "tomorrow"
    else:
        when = f"on {local.strftime('%a, %b')} {local.day}"
    clock = local.strftime("%I:%M %p").lstrip("0")
    return f"Reminder: you have a video visit {when} at {clock} {local.tzname()}. Open the app for details."


def due_reminder_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    Reminder.objects.filter(status=ReminderStatus.SENDING, claimed_at__lt=now - STALE_SENDING).update(
        status=ReminderStatus.PENDING
    )
    return list(
        Reminder.objects.filter(status=ReminderStatus.PENDING, due_at__lte=now)
        .order_by("due_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def reminder_send(*, reminder_id: int, now: datetime | None = None) -> bool:
    """Send one due reminder if this caller wins the claim. Returns True when it was sent."""
    now = now or timezone.now()
    claimed = Reminder.objects.filter(pk=reminder_id, status=ReminderStatus.PENDING, due_at__lte=now).update(
        status=ReminderStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if claimed != 1:
        return False
    reminder = Reminder.objects.select_related("appointment__patient").get(pk=reminder_id)
    appointment = reminder.appointment
    if appointment.status != AppointmentStatus.BOOKED or appointment.starts_at <= now:
        Reminder.objects.filter(pk=reminder_id, status=ReminderStatus.SENDING).update(status=ReminderStatus.CANCELLED)
        return False
    email, phone, tz = contracts.patient_contact(appointment.patient)
    body = reminder_text(starts_at=appointment.starts_at, tz=tz, now=now)
    try:
        if reminder.channel == ReminderChannel.SMS:
            if not phone:
                Reminder.objects.filter(pk=reminder_id).update(status=ReminderStatus.CANCELLED)
                return False
            provider_id = notifications.send_sms(to=phone, body=body)
        else:
            notifications.send_email(to=email, subject="Your upcoming video visit", body=body)
            provider_id = ""
    except Exception:
        failed = reminder.attempts >= settings.SCHEDULING_REMINDER_MAX_ATTEMPTS
        Reminder.objects.filter(pk=reminder_id, status=ReminderStatus.SENDING).update(
            status=ReminderStatus.FAILED if failed else ReminderStatus.PENDING
        )
        logger.warning("reminder send failed id=%s attempt=%s", reminder_id, reminder.attempts, exc_info=True)
        return False
    Reminder.objects.filter(pk=reminder_id, status=ReminderStatus.SENDING).update(
        status=ReminderStatus.SENT, sent_at=timezone.now(), provider_id=provider_id or ""
    )
    logger.info("reminder sent id=%s channel=%s", reminder_id, reminder.channel)
    return True


def send_due_reminders(*, now: datetime | None = None) -> int:
    sent = 0
    for reminder_id in due_reminder_ids(now=now):
        sent += reminder_send(reminder_id=reminder_id, now=now)
    return sent
