"""The reply-time policy: one business day in the practice's time zone (docs/messaging.md#reply-time).

A message sent on a business day (Monday to Friday, not a practice holiday) is due at the same
wall-clock time on the next business day: Friday 15:00 is due Monday 15:00. A message sent on a
weekend or holiday starts its clock at the beginning of the next business day, so it is due at
the end of that day: Saturday 10:00 is due Monday 24:00 (Tuesday 00:00). Wall-clock times in the
practice zone (api/clock.py), so a DST change in between moves nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from api.clock import practice_zone


def holidays() -> set[date]:
    return {date.fromisoformat(d) for d in getattr(settings, "MESSAGING_HOLIDAYS", []) if d}


def is_business_day(day: date, off: set[date] | None = None) -> bool:
    off = holidays() if off is None else off
    return day.weekday() < 5 and day not in off


def next_business_day(day: date, off: set[date] | None = None) -> date:
    off = holidays() if off is None else off
    day += timedelta(days=1)
    while not is_business_day(day, off):
        day += timedelta(days=1)
    return day


def reply_due(sent_at: datetime) -> datetime:
    zone = practice_zone()
    off = holidays()
    local = sent_at.astimezone(zone)
    if is_business_day(local.date(), off):
        due = datetime.combine(next_business_day(local.date(), off), local.time().replace(tzinfo=None), tzinfo=zone)
    else:
        # The clock starts when the next business day begins; it is due when that day ends.
        start_day = next_business_day(local.date(), off)
        due = datetime.combine(start_day + timedelta(days=1), time(0), tzinfo=zone)
    # A round trip through UTC settles a wall time that falls in a DST gap.
    return due.astimezone(ZoneInfo("UTC"))
