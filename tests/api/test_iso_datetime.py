"""api.fields.iso_datetime writes what DRF's DateTimeField writes (the plain builders use it)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from rest_framework import serializers

from api.fields import iso_datetime

UTC = dt.UTC
ZONES = [UTC, ZoneInfo("America/New_York"), ZoneInfo("America/Phoenix"), ZoneInfo("Asia/Kolkata"), None]
INSTANTS = [
    dt.datetime(2027, 1, 4, 15, 0),
    dt.datetime(2027, 3, 14, 6, 59, 59, 999999),  # New York: the last instant before the spring change
    dt.datetime(2027, 3, 14, 7, 0),  # ... and the first after it
    dt.datetime(2027, 11, 7, 5, 30, 15),  # New York: the repeated hour in the fall
    dt.datetime(2027, 11, 7, 6, 30, 15, 120),
    dt.datetime(2027, 7, 1, 0, 0, 0, 1),
]


def _values():
    for instant in INSTANTS:
        for zone in ZONES:
            if zone is None:
                yield instant  # naive
            else:
                yield instant.replace(tzinfo=UTC).astimezone(zone)


@pytest.mark.parametrize("use_tz", [True, False])
@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_iso_datetime_is_drfs_text(use_tz, zone):
    with override_settings(USE_TZ=use_tz, TIME_ZONE=zone):
        field = serializers.DateTimeField()
        for value in [*_values(), None, "2027-01-04T10:00:00Z"]:
            assert iso_datetime(value) == field.to_representation(value), value


def test_utc_is_written_z():
    assert iso_datetime(dt.datetime(2027, 1, 4, 15, 0, tzinfo=UTC)) == "2027-01-04T15:00:00Z"
    assert iso_datetime(dt.datetime(2027, 1, 4, 10, 0, tzinfo=ZoneInfo("America/New_York"))) == "2027-01-04T15:00:00Z"
