"""Visit reminders: rows planned at booking, scanned by beat, each handed once to the
notification outbox (docs/notifications.md#visit-reminders).

A scan claims a chunk of due rows in one transaction (SELECT ... FOR UPDATE SKIP LOCKED, then
pending -> sending in one UPDATE), so overlapping scans (or a re-delivered task) never claim the
same row, and a chunk costs one commit. The chunk is then written to the outbox in one
transaction (`notifications.services.notify_many`: one Delivery row per reminder row, under the
key `visit-reminder:<visit>:<offset>:<start>`, with the patient's preferences, SMS consent and
quiet hours applied as for any notice) together with the rows' `sent` mark, and the scan sends
those deliveries itself after that commit (`deliveries_send`): no second task per chunk. A
worker killed after the commit leaves its deliveries claimed under its task id: the redelivered
scan sends them at once (`deliveries_resume`), else the outbox sweep does after its stale window. Provider
failures are retried by the outbox (backoff, NOTIFICATIONS_MAX_ATTEMPTS). A scan that claimed a
full chunk enqueues the next scan before sending, so a burst is drained by every worker process.
A row left in "sending" by a crashed worker before its outbox write goes back to pending after
10 minutes.

Bodies say when, in the patient's own time zone (docs/service-area.md#time-zones), and nothing else: no
physician name, no reason for the visit (notifications.kinds `visit_reminder`,
`in_person_visit_reminder`: the office's address, docs/in-person-visits.md#reminders).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from api.prepared import insert_new
from notifications.kinds import render
from notifications.models import NotificationPreference
from notifications.preferences import (
    channel_allowed,
    channels_refused,
    preference_and_device,
    release_after_quiet_hours,
)
from notifications.services import Notice, Recipient, deliveries_resume, deliveries_send, notify_many
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


def reminders_plan(
    *,
    appointment: Appointment,
    now: datetime | None = None,
    new: bool = False,
    preference: tuple[NotificationPreference | None, bool] | None = None,
) -> list[Reminder]:
    """Create or re-plan the appointment's reminders (email, SMS when the patient has a phone,
    push when they have a device registered), each as their "reminders" choices allow. Offsets
    already passed are not planned; rows no longer wanted are cancelled.
    `new`: the appointment was just created, so it has no rows yet (one INSERT for all).
    `preference`: the patient's (preference row, has a device), when the caller read them already."""
    now = now or timezone.now()
    patient = appointment.patient
    _, phone, tz = contracts.patient_contact(patient)
    # The patient's choices for reminders, and their quiet hours: a reminder that falls inside
    # them waits until they end, unless the visit starts first (docs/notifications.md#quiet-hours).
    # A STOP from the number is checked when sending (reminders_send_claimed).
    pref, device = preference if preference is not None else preference_and_device(patient)
    pref = pref or False
    candidates = [ReminderChannel.EMAIL] + ([ReminderChannel.SMS] if phone else [])
    if device:
        candidates.append(ReminderChannel.PUSH)
    channels = [
        c
        for c in candidates
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
    if new:  # bulk_create's rows, the INSERT's text built once (api/prepared.py)
        return insert_new(
            [
                Reminder(appointment=appointment, channel=channel, kind=kind, due_at=due)
                for (channel, kind), due in wanted.items()
            ]
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


def reminder_notice(
    *, starts_at: datetime, tz: ZoneInfo, now: datetime, location: VisitLocation | None = None
) -> tuple[str, dict]:
    """The reminder's kind and context. A video visit: the time in the patient's zone, nothing
    else. An in-person visit: the time in the location's zone and the office's address (a practice
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
    context = {"when": when, "clock": local.strftime("%I:%M %p").lstrip("0"), "zone": local.tzname()}
    if location is None:
        return "visit_reminder", context
    if location.kind == VisitLocationKind.HOME_VISIT:
        place = "at your home"
    else:
        place = f"at {location.address_text}"
    return "in_person_visit_reminder", {**context, "place": place}


def reminder_text(*, starts_at: datetime, tz: ZoneInfo, now: datetime, location: VisitLocation | None = None) -> str:
    """The reminder's whole body (see `reminder_notice`)."""
    kind, context = reminder_notice(starts_at=starts_at, tz=tz, now=now, location=location)
    return render(kind, context)[1]


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


def reminder_dedupe_key(reminder: Reminder) -> str:
    """One outbox event per visit, offset and start time: a re-planned (moved) visit is a new
    event, a row scanned twice is the same one."""
    appointment = reminder.appointment
    return f"visit-reminder:{appointment.pk}:{reminder.kind}:{int(appointment.starts_at.timestamp())}"


def _notice(reminder: Reminder, contact: tuple[str, str, ZoneInfo], now: datetime) -> Notice:
    email, phone, tz = contact
    appointment = reminder.appointment
    kind, context = reminder_notice(starts_at=appointment.starts_at, tz=tz, now=now, location=appointment.location)
    return Notice(
        kind=kind,
        recipient=Recipient(user=appointment.patient, email=email, phone=phone),
        dedupe_key=reminder_dedupe_key(reminder),
        context=context,
        channels=(reminder.channel,),
        # Quiet hours that began since planning hold it, unless the visit starts first.
        deliver_by=appointment.starts_at,
        zone=tz,
    )


def _unsendable(reminder: Reminder, contact: tuple[str, str, ZoneInfo], now: datetime, refused=frozenset()) -> bool:
    """The visit is no longer booked or already started, an SMS row has no phone, or the patient
    has since switched the channel off (or answered STOP)."""
    appointment = reminder.appointment
    if appointment.status != AppointmentStatus.BOOKED or appointment.starts_at <= now:
        return True
    if (appointment.patient_id, reminder.channel) in refused:
        return True
    return reminder.channel == ReminderChannel.SMS and not contact[1]


def reminders_send_claimed(*, reminders: list[Reminder], now: datetime | None = None, token: str = "") -> int:
    """Hand rows this caller claimed (reminders_claim) to the outbox and send them. Rows that can
    no longer be sent are cancelled together; the rest are written to the outbox and marked
    `sent` in one transaction, then their deliveries are sent here, each marked on its own.
    If the write fails, the rows go back to pending (failed after SCHEDULING_REMINDER_MAX_ATTEMPTS);
    if sending stops, the outbox has the rows. Returns how many deliveries were sent."""
    now = now or timezone.now()
    if not reminders:
        return 0
    contacts = contracts.patient_contacts([r.appointment.patient for r in reminders])
    refused = channels_refused(users_phones={pk: c[1] for pk, c in contacts.items()}, group="reminders")
    cancel = [r.pk for r in reminders if _unsendable(r, contacts[r.appointment.patient_id], now, refused)]
    if cancel:
        Reminder.objects.filter(pk__in=cancel, status=ReminderStatus.SENDING).update(status=ReminderStatus.CANCELLED)
    todo = [r for r in reminders if r.pk not in set(cancel)]
    if not todo:
        return 0
    token = token or f"local-{uuid.uuid4().hex}"
    try:
        with transaction.atomic():
            notices = [_notice(r, contacts[r.appointment.patient_id], now) for r in todo]
            ids = notify_many(notices, publish=False, claim_for=token)
            Reminder.objects.filter(pk__in=[r.pk for r in todo], status=ReminderStatus.SENDING).update(
                status=ReminderStatus.SENT, sent_at=timezone.now()
            )
    except BaseException:
        with contextlib.suppress(Exception):
            pks = [r.pk for r in todo]
            spent = Reminder.objects.filter(
                pk__in=pks, status=ReminderStatus.SENDING, attempts__gte=settings.SCHEDULING_REMINDER_MAX_ATTEMPTS
            )
            spent.update(status=ReminderStatus.FAILED)
            Reminder.objects.filter(pk__in=pks, status=ReminderStatus.SENDING).update(status=ReminderStatus.PENDING)
        logger.warning("reminder chunk not written to the outbox rows=%d", len(todo), exc_info=True)
        raise
    logger.info("reminders queued rows=%d deliveries=%d", len(todo), len(ids))
    return deliveries_send(ids, token=token)


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
    return reminders_send_claimed(reminders=[reminder], now=now) >= 1


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
    # Delivered again after its worker died: first send what its chunk had handed to the outbox
    # and not sent, then take back the rows it had claimed and not handed over.
    resumed = deliveries_resume(token=token)
    reminders_take_back(token=token)
    claimed = reminders_claim(now=now, limit=chunk, token=token)
    if len(claimed) >= chunk and on_full_chunk is not None:
        on_full_chunk()
    return resumed + reminders_send_claimed(reminders=claimed, now=now, token=token)
