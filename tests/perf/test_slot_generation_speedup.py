"""The availability speed-up in scheduling.slots.generate_slots (docs/performance.md: a binary search over the
busy intervals, grid times far from the working hours skipped) gives exactly the slots of the
straightforward version it replaced, across DST changes, exceptions and random bookings."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling.slots import (
    DateException,
    Interval,
    Slot,
    WeeklyBlock,
    generate_slots,
    grid_times,
    wall_to_instants,
    working_intervals,
)


def reference_generate_slots(
    *, tz, weekly, exceptions, start, end, duration, buffer, grid_minutes, busy=(), not_before=None, viewer_tz=None
):
    """The version before the speed-up, kept verbatim as the oracle."""
    viewer_tz = viewer_tz or tz
    busy_sorted = sorted(busy, key=lambda i: i.start)
    slots, seen = [], set()
    day = start - timedelta(days=1)
    while day <= end + timedelta(days=1):
        intervals = working_intervals(day=day, tz=tz, weekly=weekly, exceptions=exceptions)
        if intervals:
            for at in grid_times(grid_minutes):
                for s in wall_to_instants(day, at, tz):
                    e = s + duration
                    if s in seen or not any(iv.start <= s and e <= iv.end for iv in intervals):
                        continue
                    if not_before is not None and s < not_before:
                        continue
                    viewer_day = s.astimezone(viewer_tz).date()
                    if not (start <= viewer_day <= end):
                        continue
                    held = Interval(s, e + buffer)
                    if any(b.overlaps(held) for b in busy_sorted if b.start < held.end):
                        continue
                    seen.add(s)
                    slots.append(Slot(s, e))
        day += timedelta(days=1)
    slots.sort(key=lambda sl: sl.starts_at)
    return slots


ZONES = [ZoneInfo("America/New_York"), ZoneInfo("America/Chicago"), ZoneInfo("UTC")]
# Windows around both 2026 DST changes in the US, and an ordinary fortnight.
STARTS = [date(2026, 3, 2), date(2026, 10, 26), date(2026, 6, 1)]


@pytest.mark.parametrize("seed", range(40))
def test_generate_slots_matches_the_reference(seed):
    rng = random.Random(seed)
    tz, viewer_tz = rng.choice(ZONES), rng.choice(ZONES)
    start = rng.choice(STARTS) + timedelta(days=rng.randint(0, 4))
    end = start + timedelta(days=rng.randint(0, 13))
    weekly = []
    for weekday in range(7):
        for _ in range(rng.randint(0, 2)):
            a = rng.randint(0, 22 * 4) * 15
            b = min(24 * 60 - 15, a + rng.randint(1, 10 * 4) * 15)
            if b > a:
                weekly.append(WeeklyBlock(weekday, time(a // 60, a % 60), time(b // 60, b % 60)))
    if rng.random() < 0.3:
        weekly.append(WeeklyBlock(rng.randint(0, 6), time(22), time(0)))  # until midnight
    exceptions = []
    for _ in range(rng.randint(0, 4)):
        day = start + timedelta(days=rng.randint(-1, 14))
        if rng.random() < 0.4:
            exceptions.append(DateException(day, "time_off"))
        else:
            a = rng.randint(0, 20) * 60
            kind = rng.choice(["time_off", "extra_hours"])
            exceptions.append(DateException(day, kind, time(a // 60, a % 60), time(a // 60 + 2, a % 60)))
    base = datetime.combine(start - timedelta(days=2), time(0), tzinfo=ZoneInfo("UTC"))
    busy = []
    for _ in range(rng.randint(0, 120)):
        s = base + timedelta(minutes=rng.randint(0, 18 * 24 * 4) * 15)
        busy.append(Interval(s, s + timedelta(minutes=rng.choice([20, 30, 45, 90, 300]))))
    kwargs = dict(
        tz=tz,
        weekly=weekly,
        exceptions=exceptions,
        start=start,
        end=end,
        duration=timedelta(minutes=rng.choice([20, 30, 60])),
        buffer=timedelta(minutes=rng.choice([0, 10])),
        grid_minutes=rng.choice([15, 30]),
        busy=busy,
        not_before=base + timedelta(days=rng.randint(0, 5)),
        viewer_tz=viewer_tz,
    )
    assert generate_slots(**kwargs) == reference_generate_slots(**kwargs)
