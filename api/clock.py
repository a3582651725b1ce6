"""The practice's calendar: legal and clinical dates that are not tied to one patient's zone.

A prescription's issue date, the prescribing policy in force, and a prescription's expiry are
taken in the practice's time zone (`PRACTICE_TIME_ZONE`, America/New_York), never in UTC: at
22:00 EDT on 31 December it is already 1 January in UTC, and a UTC date would apply the 2027
rules (or refuse a refill on its last valid day) four hours early. docs/prescribing-basis.md#dates.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def practice_zone() -> ZoneInfo:
    return ZoneInfo(settings.PRACTICE_TIME_ZONE)


def practice_date(instant: datetime | None = None) -> date:
    """The date in the practice's time zone at `instant` (now by default)."""
    return timezone.localtime(instant or timezone.now(), practice_zone()).date()
