"""The physician's daily agenda email: how many visits today and at what times, nothing more."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role, User
from notifications.services import notify
from scheduling import contracts
from scheduling.models import AgendaDigest, Appointment, AppointmentStatus

logger = logging.getLogger(__name__)


def agenda_context(*, starts: list[datetime], tz) -> dict:
    """The agenda's facts for the `physician_agenda` kind: a count and times, no patient."""
    return {
        "count": len(starts),
        "noun": "visit" if len(starts) == 1 else "visits",
        "zone": starts[0].astimezone(tz).tzname() if starts else "",
        "times": ", ".join(s.astimezone(tz).strftime("%I:%M %p").lstrip("0") for s in starts),
    }


def send_physician_agendas(*, now: datetime | None = None) -> int:
    """Once per physician per local day, from SCHEDULING_AGENDA_LOCAL_HOUR on: the unique
    (physician, date) row is the claim, so a second run (or a second beat) sends nothing. The
    email goes through the notifications outbox (`sent_at`: when it was queued)."""
    now = now or timezone.now()
    physicians = list(User.objects.filter(role=Role.PHYSICIAN, is_active=True).values_list("id", "email"))
    infos = contracts.physician_infos([pid for pid, _ in physicians])
    sent = 0
    for pid, email in physicians:
        tz = infos[pid].time_zone
        local_now = now.astimezone(tz)
        if local_now.hour < settings.SCHEDULING_AGENDA_LOCAL_HOUR:
            continue
        day = local_now.date()
        lo = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
        hi = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        starts = list(
            Appointment.objects.filter(
                physician_id=pid, status=AppointmentStatus.BOOKED, starts_at__gte=lo, starts_at__lt=hi
            ).values_list("starts_at", flat=True)
        )
        if AgendaDigest.objects.filter(physician_id=pid, date=day).exists():
            continue
        with transaction.atomic():
            try:
                with transaction.atomic():
                    AgendaDigest.objects.create(
                        physician_id=pid, date=day, visit_count=len(starts), sent_at=timezone.now() if starts else None
                    )
            except IntegrityError:
                continue  # another run claimed it
            if not starts:
                continue
            # Written to the outbox with the claim: sent after commit, or by the outbox sweep.
            notify(
                kind="physician_agenda",
                recipient=email,
                context=agenda_context(starts=starts, tz=tz),
                dedupe_key=f"agenda:{pid}:{day.isoformat()}",
            )
        sent += 1
    logger.info("agendas sent=%d", sent)
    return sent
