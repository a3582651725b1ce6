"""Slot generation: pure functions, no database.

The rules (README "Scheduling"):
- Working hours are wall-clock blocks in the physician's zone: weekly blocks for the weekday,
  plus "extra hours" exceptions, minus "time off" exceptions (a time-off row without times
  removes the whole day).
- Slots start on a wall-clock grid in the physician's zone: every `grid_minutes` minutes past
  local midnight (default 15). A slot fits when [start, start + duration) lies inside working
  hours, measured in real elapsed time (UTC), so a visit never straddles a DST jump unnoticed.
- Wall times that do not exist (the spring-forward gap) are skipped; wall times that occur
  twice (the fall-back hour) give two slots, one per instant.
- Busy intervals are existing active appointments extended by their buffer; a candidate is
  refused when [start, end + its own buffer) overlaps one.
- Slots before `not_before` (now + the minimum lead time) are dropped, and only dates allowed by
  `allowed_dates` (the licence windows, judged on the slot's date in the patient's zone) remain.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class WeeklyBlock:
    weekday: int  # Monday = 0
    start: time
    end: time


@dataclass(frozen=True)
class DateException:
    date: date
    kind: str  # "time_off" | "extra_hours"
    start: time | None = None
    end: time | None = None


@dataclass(frozen=True)
class Interval:
    start: datetime  # aware, UTC
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # aware, UTC
    ends_at: datetime


def wall_to_instants(day: date, at: time, tz: ZoneInfo) -> list[datetime]:
    """The UTC instants at which the wall clock in `tz` shows `day at`: none in a DST gap, two in
    the repeated hour, one otherwise."""
    instants = []
    for fold in (0, 1):
        local = datetime.combine(day, at, tzinfo=tz).replace(fold=fold)
        utc = local.astimezone(UTC)
        # A time in the gap does not survive the round trip back to the wall clock.
        back = utc.astimezone(tz)
        if back.replace(tzinfo=None) == datetime.combine(day, at) and utc not in instants:
            instants.append(utc)
    return instants


def _fixed_offset(day: date, tz: ZoneInfo) -> timedelta | None:
    """The zone's UTC offset when it is the same all day long (no DST change on `day`), else None.
    On such a day every wall time is exactly one instant: wall time minus the offset."""
    midnight = datetime.combine(day, time(0), tzinfo=tz)
    offset = midnight.utcoffset()
    noon = datetime.combine(day, time(12), tzinfo=tz).utcoffset()
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).utcoffset()
    return offset if offset == noon == next_midnight else None


def _boundary(day: date, at: time, tz: ZoneInfo, *, end: bool) -> datetime:
    """A block's edge as an instant: the earlier occurrence for a start, the later for an end;
    an edge inside a DST gap moves to the first valid instant after it."""
    if at == time(0) and end:
        day, at = day + timedelta(days=1), time(0)
    instants = wall_to_instants(day, at, tz)
    if instants:
        return instants[-1] if end else instants[0]
    # In the gap: the instant the clocks jump at (fold=0 offset is the pre-transition one).
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def wall_interval(day: date, start: time, end: time, tz: ZoneInfo) -> Interval:
    """A block of wall-clock hours on one local date, as an instant interval."""
    return Interval(_boundary(day, start, tz, end=False), _boundary(day, end, tz, end=True))


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for iv in sorted(intervals, key=lambda i: i.start):
        if merged and iv.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Interval(last.start, max(last.end, iv.end))
        else:
            merged.append(iv)
    return merged


def _subtract(intervals: list[Interval], cut: Interval) -> list[Interval]:
    out = []
    for iv in intervals:
        if not iv.overlaps(cut):
            out.append(iv)
            continue
        if iv.start < cut.start:
            out.append(Interval(iv.start, cut.start))
        if cut.end < iv.end:
            out.append(Interval(cut.end, iv.end))
    return out


def working_intervals(
    *, day: date, tz: ZoneInfo, weekly: Sequence[WeeklyBlock], exceptions: Sequence[DateException]
) -> list[Interval]:
    """The physician's working hours on one local date, as merged UTC intervals."""
    todays = [e for e in exceptions if e.date == day]
    if any(e.kind == "time_off" and e.start is None for e in todays):
        return []
    blocks = [(b.start, b.end) for b in weekly if b.weekday == day.weekday()]
    blocks += [(e.start, e.end) for e in todays if e.kind == "extra_hours" and e.start is not None]
    intervals = _merge(
        Interval(_boundary(day, s, tz, end=False), _boundary(day, e, tz, end=True)) for s, e in blocks if e is not None
    )
    for e in todays:
        if e.kind == "time_off" and e.start is not None and e.end is not None:
            cut = Interval(_boundary(day, e.start, tz, end=False), _boundary(day, e.end, tz, end=True))
            intervals = _subtract(intervals, cut)
    return [iv for iv in intervals if iv.end > iv.start]


def grid_times(grid_minutes: int) -> list[time]:
    return [time(m // 60, m % 60) for m in range(0, 24 * 60, grid_minutes)]


def is_on_grid(instant: datetime, *, tz: ZoneInfo, grid_minutes: int) -> bool:
    local = instant.astimezone(tz)
    return local.second == 0 and local.microsecond == 0 and (local.hour * 60 + local.minute) % grid_minutes == 0


def generate_slots(
    *,
    tz: ZoneInfo,
    weekly: Sequence[WeeklyBlock],
    exceptions: Sequence[DateException],
    start: date,
    end: date,
    duration: timedelta,
    buffer: timedelta,
    grid_minutes: int,
    busy: Sequence[Interval] = (),
    not_before: datetime | None = None,
    allowed_dates: Callable[[date], bool] | None = None,
    viewer_tz: ZoneInfo | None = None,
    memo: dict | None = None,
) -> list[Slot]:
    """Free slots whose start falls on a date in [start, end] as seen in `viewer_tz` (the
    patient's zone; defaults to the physician's). Sorted by start.

    `memo`: a dict shared by the calls of one search with the same viewer zone, so the patient's
    date of an instant is worked out once for all physicians instead of once per physician."""
    viewer_tz = viewer_tz or tz
    memo = {} if memo is None else memo
    allowed_days: dict[date, bool] = {}
    busy_starts, busy_max_end = _busy_index(busy)
    times = grid_times(grid_minutes)
    slots: list[Slot] = []
    seen: set[datetime] = set()
    # A physician's local date can straddle two of the viewer's dates: look one day either side.
    step = timedelta(minutes=grid_minutes)
    day = start - timedelta(days=1)
    while day <= end + timedelta(days=1):
        intervals = working_intervals(day=day, tz=tz, weekly=weekly, exceptions=exceptions)
        if intervals:
            for s in _candidates(day, tz, intervals, times, step, duration):
                if s in seen or (not_before is not None and s < not_before):
                    continue
                viewer_day = memo.get(s)
                if viewer_day is None:
                    viewer_day = memo[s] = s.astimezone(viewer_tz).date()
                allowed = allowed_days.get(viewer_day)
                if allowed is None:
                    allowed = allowed_days[viewer_day] = start <= viewer_day <= end and (
                        allowed_dates is None or allowed_dates(viewer_day)
                    )
                if not allowed:
                    continue
                e = s + duration
                before = bisect_left(busy_starts, e + buffer)  # busy intervals starting before [s, e + buffer) ends
                if before and busy_max_end[before - 1] > s:
                    continue
                seen.add(s)
                slots.append(Slot(s, e))
        day += timedelta(days=1)
    slots.sort(key=lambda sl: sl.starts_at)
    return slots


def _busy_index(busy: Sequence[Interval]) -> tuple[list[datetime], list[datetime]]:
    """Busy intervals' starts, sorted, with the running maximum of their ends: "does any busy
    interval overlap [a, b)?" is then one binary search instead of a scan of them all."""
    busy_sorted = sorted(busy, key=lambda i: i.start)
    busy_starts = [b.start for b in busy_sorted]
    busy_max_end: list[datetime] = []
    for b in busy_sorted:
        busy_max_end.append(max(busy_max_end[-1], b.end) if busy_max_end else b.end)
    return busy_starts, busy_max_end


def _candidates(
    day: date, tz: ZoneInfo, intervals: list[Interval], times: list[time], step: timedelta, duration: timedelta
) -> list[datetime]:
    """The instants on the day's wall-clock grid at which a visit of `duration` fits inside the
    working intervals (sorted, merged, of this day)."""
    fixed = _fixed_offset(day, tz)
    if fixed is not None:
        # No DST change today: the grid is local midnight + k steps, one instant each; walk each
        # interval from its first grid point instead of testing every grid time of the day.
        midnight = (datetime.combine(day, time(0)) - fixed).replace(tzinfo=UTC)
        out = []
        for iv in intervals:
            s = midnight + -((midnight - iv.start) // step) * step  # first grid point >= iv.start
            last = iv.end - duration
            while s <= last:
                out.append(s)
                s += step
        return out
    # A DST day: wall times in the gap have no instant, those in the repeated hour have two.
    # Only grid times near the working hours can fit (a DST shift moves a wall time by at most
    # an hour; two hours of margin keep this a superset, the exact test follows).
    lo = min(iv.start for iv in intervals).astimezone(tz).replace(tzinfo=None) - timedelta(hours=2)
    hi = max(iv.end for iv in intervals).astimezone(tz).replace(tzinfo=None) + timedelta(hours=2)
    out = []
    for at in times:
        if lo <= datetime.combine(day, at) <= hi:
            for s in wall_to_instants(day, at, tz):
                if any(iv.start <= s and s + duration <= iv.end for iv in intervals):
                    out.append(s)
    return out


def date_ranges_predicate(ranges: Sequence[tuple[date, date]]) -> Callable[[date], bool]:
    """`consult_windows` ranges (inclusive) -> a date predicate."""
    return lambda d: any(a <= d <= b for a, b in ranges)
