"""A person's notification choices: channels per group, quiet hours, SMS consent (docs/notifications.md#preferences).

The patient's own time zone and phone live in `patients`, above this app: they are reached
through NOTIFICATIONS_CONTACT_LOOKUP (the dotted path of `lookup(*, user) -> (phone, zone name)`)
and NOTIFICATIONS_PHONE_OWNERS (`owners(*, phone) -> [user ids]`), the same extension-point
pattern as the fill checks, so this app imports nothing above it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.module_loading import import_string

from api.clock import practice_zone
from notifications.errors import SmsStopped
from notifications.models import Device, NotificationPreference, SmsOptOut


def preference_for(user) -> NotificationPreference | None:
    if user is None or user.pk is None:
        return None
    return NotificationPreference.objects.filter(user=user).first()


def with_preference_and_device(users):
    """`users` (a User queryset) also reading each one's preference row and whether they have a
    push device, so a caller that reads the user anyway (booking's lock) needs no query of its
    own: `preference_and_device_of(row)` then answers. Under `select_for_update` give
    `of=("self",)`: the preference is an outer join, which PostgreSQL cannot lock."""
    return users.select_related("notification_preference").annotate(
        has_device=Exists(Device.objects.filter(user=OuterRef("pk")))
    )


def preference_and_device_of(row) -> tuple[NotificationPreference | None, bool]:
    """What `with_preference_and_device` read for one user row."""
    return getattr(row, "notification_preference", None), bool(row.has_device)


def preference_and_device(user) -> tuple[NotificationPreference | None, bool]:
    """The person's preference row (None for the defaults) and whether they have a push device
    registered, in one query (senders that plan their own rows: visit reminders)."""
    if user is None or user.pk is None:
        return None, False
    User = type(user)
    row = with_preference_and_device(User.objects.filter(pk=user.pk)).only("pk", "notification_preference").first()
    if row is None:
        return None, False
    return preference_and_device_of(row)


def contact_of(user) -> tuple[str, ZoneInfo]:
    """(phone or "", time zone) of a user: the patient's own, else no phone and the practice zone."""
    path = getattr(settings, "NOTIFICATIONS_CONTACT_LOOKUP", "")
    phone, zone_name = ("", "")
    if path and user is not None:
        phone, zone_name = import_string(path)(user=user)
    try:
        zone = ZoneInfo(zone_name) if zone_name else practice_zone()
    except (KeyError, ValueError):
        zone = practice_zone()
    return str(phone or ""), zone


def quiet_until(*, start: time | None, end: time | None, zone: ZoneInfo, at: datetime) -> datetime | None:
    """When quiet hours that hold `at` end (an aware instant), or None when `at` is outside them.

    Wall-clock times in `zone`: a window may span midnight (22:00-07:00). The end is built from
    the local date and the wall-clock time, so across a DST change it is still 07:00 local (an
    end in the skipped spring hour lands just after the gap)."""
    if start is None or end is None or start == end:
        return None
    local = at.astimezone(zone)
    now_t = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= now_t < end
        end_date = local.date()
    else:  # spans midnight
        inside = now_t >= start or now_t < end
        end_date = local.date() + timedelta(days=1) if now_t >= start else local.date()
    if not inside:
        return None
    # combine() with the zone, then a round trip through UTC settles a wall time in a DST gap.
    return datetime.combine(end_date, end, tzinfo=zone).astimezone(ZoneInfo("UTC")).astimezone(zone)


def sms_blocked(phone: str) -> bool:
    return bool(phone) and SmsOptOut.objects.filter(phone=phone).exists()


def _owners(phone: str) -> list[int]:
    path = getattr(settings, "NOTIFICATIONS_PHONE_OWNERS", "")
    return list(import_string(path)(phone=phone)) if path else []


STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
START_WORDS = {"START", "YES", "UNSTOP", "OPTIN"}


@transaction.atomic
def sms_keyword_apply(*, phone: str, body: str, now: datetime | None = None) -> str:
    """An inbound SMS: STOP words opt the number out, START words back in (CTIA's standard
    keywords; the body must be the keyword alone). Returns "stop", "start" or "" (anything else
    is ignored: patients are told to message through the app). Idempotent."""
    word = "".join((body or "").split()).upper()
    now = now or timezone.now()
    if word in STOP_WORDS:
        SmsOptOut.objects.get_or_create(phone=phone, defaults={"opted_out_at": now})
        consent = False
    elif word in START_WORDS:
        SmsOptOut.objects.filter(phone=phone).delete()
        consent = True
    else:
        return ""
    for user_id in _owners(phone):
        pref, _ = NotificationPreference.objects.get_or_create(user_id=user_id)
        if pref.sms_consent != consent:
            pref.sms_consent, pref.sms_consent_changed_at = consent, now
            pref.save(update_fields=["sms_consent", "sms_consent_changed_at", "updated_at"])
    return "stop" if not consent else "start"


@transaction.atomic
def preferences_update(*, user, data: dict, now: datetime | None = None) -> NotificationPreference:
    """Apply a partial update: `channels` merges per group and channel; quiet hours are set or
    cleared together; `sms_consent` true is refused while the number is stopped at the carrier."""
    now = now or timezone.now()
    pref, _ = NotificationPreference.objects.select_for_update().get_or_create(user=user)
    if "channels" in data:
        merged = {group: dict(choices) for group, choices in (pref.channels or {}).items()}
        for group, choices in data["channels"].items():
            merged.setdefault(group, {}).update(choices)
        pref.channels = merged
    if "quiet_hours_start" in data or "quiet_hours_end" in data:
        pref.quiet_start = data.get("quiet_hours_start", pref.quiet_start)
        pref.quiet_end = data.get("quiet_hours_end", pref.quiet_end)
    if "sms_consent" in data and data["sms_consent"] != pref.sms_consent:
        phone, _ = contact_of(user)
        if data["sms_consent"] and sms_blocked(phone):
            raise SmsStopped()
        pref.sms_consent, pref.sms_consent_changed_at = data["sms_consent"], now
    pref.save()
    return pref


# --- contracts for senders that keep their own rows (visit reminders) ------------------------------


def channel_allowed(*, user, group: str, channel: str, phone: str = "", pref=None, check_stop: bool = True) -> bool:
    """Whether `user` takes `group` notices on `channel` now: their choice for the group, and for
    SMS their consent and no STOP from the number (`check_stop=False`: the caller checks at send
    time). `pref`: the preference row when the caller has it (False for none)."""
    pref = preference_for(user) if pref is None else pref
    if pref and not pref.allows(group, channel):
        return False
    if channel == "sms":
        if pref and not pref.sms_consent:
            return False
        if check_stop and sms_blocked(phone):
            return False
    return True


def channels_refused(*, users_phones: dict[int, str], group: str) -> set[tuple[int, str]]:
    """(user id, channel) pairs refused right now, for many users in two queries: a channel
    switched off for the group, SMS without consent, or a number that answered STOP."""
    refused: set[tuple[int, str]] = set()
    for pref in NotificationPreference.objects.filter(user_id__in=list(users_phones)):
        for channel in ("email", "sms", "push"):
            if not pref.allows(group, channel):
                refused.add((pref.user_id, channel))
        if not pref.sms_consent:
            refused.add((pref.user_id, "sms"))
    stopped = set(
        SmsOptOut.objects.filter(phone__in=[p for p in users_phones.values() if p]).values_list("phone", flat=True)
    )
    refused.update((uid, "sms") for uid, phone in users_phones.items() if phone in stopped)
    return refused


def release_after_quiet_hours(
    *, user, at: datetime, deliver_by: datetime | None = None, pref=None, zone: ZoneInfo | None = None
) -> datetime:
    """When a notice planned for `at` may go: the end of the user's quiet hours when `at` falls
    inside them, unless `deliver_by` (the visit's start) comes first; otherwise `at`. A caller
    that holds the preference row (`pref`, False for none) and the zone saves the queries."""
    pref = preference_for(user) if pref is None else pref
    if not pref or pref.quiet_start is None:
        return at
    if zone is None:
        _, zone = contact_of(user)
    until = quiet_until(start=pref.quiet_start, end=pref.quiet_end, zone=zone, at=at)
    if until is None or (deliver_by is not None and deliver_by <= until):
        return at
    return until
