"""Visit reminders: rows planned at booking, scanned by beat, each sent once.

A scan claims a chunk of due rows in one transaction (SELECT ... FOR UPDATE SKIP LOCKED, then
pending -> sending in one UPDATE), so overlapping scans (or a re-delivered task) never claim the
same row, and a chunk costs one commit. Each row is then sent and marked sent on its own, so a
crash re-sends at most the row in flight. A scan that claimed a full chunk enqueues the next scan
before sending, so a burst is drained by every worker process, not 500 rows a minute.
A failed send puts the row back to pending until SCHEDULING_REMINDER_MAX_ATTEMPTS, then failed.
A row left in "sending" by a crashed worker (the row in flight and the rest of its chunk) goes
back to pending after 10 minutes: at-least-once after a crash is preferred to a silently lost
reminder.

Bodies say when, in the patient's own time zone (docs/service-area.md#time-zones), and nothing else: no
physician name, no reason for the visit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts import notifications
from notifications.preferences import (
    channel_allowed,
    channels_refused,
    preference_for,
    release_after_quiet_hours,
)
from scheduling import contracts
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    Reminder,
    ReminderChannel,
    ReminderStatus,
    VisitLocation,
    VisitLocationKind,
)

logger = logging.getLogger(__name__)

STALE_SENDING = timedelta(minutes=10)


def _kinds() -> list[tuple[str, timedelta]]:
    return [(f"{h}h", timedelta(hours=h)) for h in settings.SCHEDULING_REMINDER_OFFSETS_HOURS]


def reminders_plan(*, appointment: Appointment, now: datetime | None = None, new: bool = False) -> list[Reminder]:
    """Create or re-plan the appointment's reminders (email always, SMS when the patient has a
    phone). Offsets already passed are not planned; rows no longer wanted are cancelled.
    `new`: the appointment was just created, so it has no rows yet (one INSERT for all)."""
    now = now or timezone.now()
    patient = appointment.patient
    _, phone, tz = contracts.patient_contact(patient)
    # The patient's choices for reminders, and their quiet hours: a reminder that falls inside
    # them waits until they end, unless the visit starts first (docs/notifications.md#quiet-hours).
    # A STOP from the number is checked when sending (reminders_send_claimed).
    pref = preference_for(patient) or False
    channels = [
        c
        for c in [ReminderChannel.EMAIL] + ([ReminderChannel.SMS] if phone else [])
        if channel_allowed(user=patient, group="reminders", channel=c.value, pref=pref, check_stop=False)
    ]
    wanted = {}
    for kind, offset in _kinds():
        due = release_after_quiet_hours(
            user=patient, at=appointment.starts_at - offset, deliver_by=appointment.starts_at, pref=pref, zone=tz
        )
        if due > now:
            for channel in channels:
                wanted[(channel.value, kind)] = due
    if new:
        return Reminder.objects.bulk_create(
            Reminder(appointment=appointment, channel=channel, kind=kind, due_at=due)
            for (channel, kind), due in wanted.items()
        )
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


def reminder_text(*, starts_at: datetime, tz: ZoneInfo, now: datetime, location: VisitLocation | None = None) -> str:
    """The reminder's whole body. A video visit: the time in the patient's zone, nothing else.
    An in-person visit: the time in the location's zone and the office's address (a practice
    address is not PHI; a home visit says "at your home"). docs/in-person-visits.md#reminders."""
    if location is not None:
        tz = contracts.zone(location.time_zone)
    local = starts_at.astimezone(tz)
    today = now.astimezone(tz).date()
    if local.date() == today:
        when = "today"
    elif local.date() == today + timedelta(days=1):
        when = "tomorrow"
    else:
        when = f"on {local.strftime('%a, %b')} {local.day}"
    clock = local.strftime("%I:%M %p").lstrip("0")
    if location is None:
        return f"Reminder: you have a video visit {when} at {clock} {local.tzname()}. Open the app for details."
    if location.kind == VisitLocationKind.HOME_VISIT:
        place = "at your home"
    else:
        place = f"at {location.address_text}"
    return f"Reminder: your in-person visit is {when} at {clock} {local.tzname()} {place}."


def _stale_back_to_pending(now: datetime) -> None:
    Reminder.objects.filter(status=ReminderStatus.SENDING, claimed_at__lt=now - STALE_SENDING).update(
        status=ReminderStatus.PENDING
    )


def reminders_claim(*, now: datetime | None = None, limit: int | None = None, token: str = "") -> list[Reminder]:
    """Claim up to `limit` due pending rows (oldest first) in one transaction: lock them,
    skipping rows another scan holds (`SKIP LOCKED`), and mark them sending (claimed_at, one more
    attempt) with one UPDATE, so a chunk costs one commit. Rows come back with their appointment
    and patient loaded; the query count does not depend on `limit`.

    Rows stuck in sending for STALE_SENDING (a worker died with them) go back to pending first.
    `token` names the claimant (the scan task's id) on the rows it claims.
    On SQLite select_for_update is a no-op (its writes are serialized by the database lock)."""
    now = now or timezone.now()
    limit = limit or settings.SCHEDULING_REMINDER_CHUNK
    _stale_back_to_pending(now)
    with transaction.atomic():
        rows = list(
            Reminder.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("appointment__patient", "appointment__location")
            .filter(status=ReminderStatus.PENDING, due_at__lte=now)
            .order_by("due_at", "id")[:limit]
        )
        if rows:
            Reminder.objects.filter(pk__in=[r.pk for r in rows]).update(
                status=ReminderStatus.SENDING, claimed_at=now, claimed_by=token, attempts=F("attempts") + 1
            )
    for row in rows:
        row.status, row.claimed_at, row.claimed_by, row.attempts = ReminderStatus.SENDING, now, token, row.attempts + 1
    return rows


def reminders_take_back(*, token: str) -> int:
    """Rows still in sending under `token`: a scan with this id claimed them and its worker died
    before sending them (the broker delivers the same task again, with the same id, once the
    worker is gone). Back to pending, to be claimed again now rather than after STALE_SENDING.
    The row that was in flight may have reached the provider: it is sent again (at least once,
    as after any crash)."""
    if not token:
        return 0
    return Reminder.objects.filter(status=ReminderStatus.SENDING, claimed_by=token).update(
        status=ReminderStatus.PENDING
    )


def _mark(reminder_id: int, **fields) -> int:
    """Record a claimed (sending) row's outcome in its own commit: one statement per row.

    On PostgreSQL that commit does not wait for its WAL flush (`set_config('synchronous_commit',
    'off', true)` in the same statement, so for this one transaction only). Under write load the
    flush was 75% of a row's cost (4-5 ms of 5-6 ms). The mark is visible to every session at
    once, so a worker crash loses nothing; only a crash of the database server itself can lose
    the marks of its last moments (up to 3 x wal_writer_delay, 0.6 s by default, and never past
    the next synchronous commit, such as any claim). Those rows stay claimed and are sent again
    after the stale recovery: at least once, as after any crash. Claims stay synchronous, so no
    server crash can let two scans hold the same row."""
    rows = Reminder.objects.filter(pk=reminder_id, status=ReminderStatus.SENDING)
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return rows.update(**fields)  # inside a caller's transaction: leave its durability alone
    quote, meta = connection.ops.quote_name, Reminder._meta
    table = quote(meta.db_table)
    assignments = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in fields)
    values = [meta.get_field(name).get_db_prep_save(value, connection) for name, value in fields.items()]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM (SELECT set_config('synchronous_commit', 'off', true)) AS c "
            f"WHERE {table}.id = %s AND {table}.status = %s",
            [*values, reminder_id, ReminderStatus.SENDING.value],
        )
        return cursor.rowcount


def _deliver(reminder: Reminder, contact: tuple[str, str, ZoneInfo], now: datetime) -> bool:
    """Send one claimed (sending) row and record the outcome on that row alone, in its own
    commit: a crash between two rows re-sends nothing that was already marked sent."""
    email, phone, tz = contact
    appointment = reminder.appointment
    body = reminder_text(starts_at=appointment.starts_at, tz=tz, now=now, location=appointment.location)
    subject = "Your upcoming video visit" if appointment.location is None else "Your upcoming in-person visit"
    try:
        if reminder.channel == ReminderChannel.SMS:
            provider_id = notifications.send_sms(to=phone, body=body)
        else:
            notifications.send_email(to=email, subject=subject, body=body)
            provider_id = ""
    except Exception:
        failed = reminder.attempts >= settings.SCHEDULING_REMINDER_MAX_ATTEMPTS
        _mark(reminder.pk, status=ReminderStatus.FAILED if failed else ReminderStatus.PENDING)
        logger.warning("reminder send failed id=%s attempt=%s", reminder.pk, reminder.attempts, exc_info=True)
        return False
    _mark(reminder.pk, status=ReminderStatus.SENT, sent_at=timezone.now(), provider_id=provider_id or "")
    logger.info("reminder sent id=%s channel=%s", reminder.pk, reminder.channel)
    return True


def _unsendable(reminder: Reminder, contact: tuple[str, str, ZoneInfo], now: datetime, refused=frozenset()) -> bool:
    """The visit is no longer booked or already started, an SMS row has no phone, or the patient
    has since switched the channel off (or answered STOP)."""
    appointment = reminder.appointment
    if appointment.status != AppointmentStatus.BOOKED or appointment.starts_at <= now:
        return True
    if (appointment.patient_id, reminder.channel) in refused:
        return True
    return reminder.channel == ReminderChannel.SMS and not contact[1]


def reminders_send_claimed(*, reminders: list[Reminder], now: datetime | None = None) -> int:
    """Send rows this caller claimed (reminders_claim). Rows that can no longer be sent are
    cancelled together; the rest are sent and marked one by one. If sending stops on an
    exception, the rows not reached go back to pending (a SIGKILL leaves them to the stale
    recovery instead). Returns how many were sent."""
    now = now or timezone.now()
    if not reminders:
        return 0
    contacts = contracts.patient_contacts([r.appointment.patient for r in reminders])
    refused = channels_refused(users_phones={pk: c[1] for pk, c in contacts.items()}, group="reminders")
    cancel = [r.pk for r in reminders if _unsendable(r, contacts[r.appointment.patient_id], now, refused)]
    if cancel:
        Reminder.objects.filter(pk__in=cancel, status=ReminderStatus.SENDING).update(status=ReminderStatus.CANCELLED)
    todo = [r for r in reminders if r.pk not in set(cancel)]
    sent = 0
    for i, reminder in enumerate(todo):
        try:
            sent += _deliver(reminder, contacts[reminder.appointment.patient_id], now)
        except BaseException:
            with contextlib.suppress(Exception):
                Reminder.objects.filter(pk__in=[r.pk for r in todo[i + 1 :]], status=ReminderStatus.SENDING).update(
                    status=ReminderStatus.PENDING, attempts=F("attempts") - 1
                )
            raise
    return sent


def reminder_send(*, reminder_id: int, now: datetime | None = None) -> bool:
    """Send one due reminder if this caller wins the claim (a compare-and-swap on the row).
    Returns True when it was sent."""
    now = now or timezone.now()
    claimed = Reminder.objects.filter(pk=reminder_id, status=ReminderStatus.PENDING, due_at__lte=now).update(
        status=ReminderStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if claimed != 1:
        return False
    reminder = Reminder.objects.select_related("appointment__patient", "appointment__location").get(pk=reminder_id)
    return reminders_send_claimed(reminders=[reminder], now=now) == 1


def send_due_reminders(
    *,
    now: datetime | None = None,
    chunk: int | None = None,
    on_full_chunk: Callable[[], object] | None = None,
    token: str = "",
) -> int:
    """One scan: claim a chunk of due rows, and when the chunk came back full (more may be
    due) call `on_full_chunk` (the task enqueues another scan) before sending this chunk, so a
    burst is drained by every worker process at once. A short chunk ends the chain.
    `token` (the task's id) is written on the claimed rows; a scan delivered again after its
    worker died first takes back the rows it had claimed and not sent."""
    chunk = chunk or settings.SCHEDULING_REMINDER_CHUNK
    reminders_take_back(token=token)
    claimed = reminders_claim(now=now, limit=chunk, token=token)
    if len(claimed) >= chunk and on_full_chunk is not None:
        on_full_chunk()
    return reminders_send_claimed(reminders=claimed, now=now)
