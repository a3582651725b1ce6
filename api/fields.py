"""Every datetime an API client sends must say which instant it means (docs/api-conventions.md#datetimes).

DRF reads a datetime without a UTC offset ("2027-01-04T10:00") in the server's zone, silently: a
visit booked at 10:00 by a phone in Florida would land wherever the server thinks 10:00 is. Every
DateTimeField input in every serializer (declared, or made by a ModelSerializer from a model
field) therefore refuses a naive value with the code `timezone_required`. The rule is installed
once, on DRF's DateTimeField itself (`install()`, from ApiConfig.ready), so no serializer can
forget it; the answers (to_representation) are unchanged and always carry the offset.
"""

from __future__ import annotations

import datetime as dt
import functools

from django.conf import settings
from django.core.signals import setting_changed
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import fields
from rest_framework.exceptions import ValidationError

TIMEZONE_REQUIRED = "timezone_required"
TIMEZONE_REQUIRED_MESSAGE = (
    "Give the date and time with its UTC offset, for example 2027-01-04T10:00:00-05:00 or 2027-01-04T15:00:00Z."
)


def is_naive_input(value) -> bool:
    """True for a datetime (or an ISO 8601 text of one) that carries no UTC offset."""
    if isinstance(value, dt.datetime):
        return value.tzinfo is None or value.utcoffset() is None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            return False  # not a valid datetime: DRF's own `invalid` answers it
        return parsed is not None and parsed.tzinfo is None
    return False


_original_to_internal_value = fields.DateTimeField.to_internal_value


def _aware_to_internal_value(self, value):
    if is_naive_input(value):
        message = self.error_messages.get(TIMEZONE_REQUIRED, TIMEZONE_REQUIRED_MESSAGE)
        raise ValidationError(message, code=TIMEZONE_REQUIRED)
    return _original_to_internal_value(self, value)


def install() -> None:
    """Make DRF's DateTimeField (and so every subclass and ModelSerializer mapping) refuse naive input."""
    if fields.DateTimeField.to_internal_value is _aware_to_internal_value:
        return
    fields.DateTimeField.default_error_messages = {
        **fields.DateTimeField.default_error_messages,
        TIMEZONE_REQUIRED: TIMEZONE_REQUIRED_MESSAGE,
    }
    fields.DateTimeField.to_internal_value = _aware_to_internal_value


def iso_datetime(value: dt.datetime | str | None) -> str | None:
    """`serializers.DateTimeField().to_representation(value)` without its per-call cost (the
    current zone is read through an asgiref Local on every call): ISO 8601 in the default zone
    (settings.TIME_ZONE), UTC written as "Z", a naive value read as in that zone, None as None.

    The same text as DRF's wherever no `timezone.activate()` / `timezone.override()` is in force:
    nothing in the API sets one (the staff console's HTML views do, and render with DRF or the
    templates, not with this). tests/api/test_iso_datetime.py compares the two."""
    if not value:
        return None
    if isinstance(value, str):
        return value
    zone = _output_zone()
    if zone is None:  # USE_TZ off: naive text, an aware value in UTC
        if value.utcoffset() is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()
    if value.utcoffset() is None:
        value = timezone.make_aware(value, zone)
    else:
        value = value.astimezone(zone)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@functools.cache
def _output_zone() -> dt.tzinfo | None:
    """The zone DRF's DateTimeField writes in outside timezone.override() (None: USE_TZ is off),
    kept until a test changes the settings (each settings read goes through LazySettings)."""
    return timezone.get_default_timezone() if settings.USE_TZ else None


def _forget_zone(*, setting: str, **kwargs) -> None:
    if setting in ("USE_TZ", "TIME_ZONE"):
        _output_zone.cache_clear()


setting_changed.connect(_forget_zone)
