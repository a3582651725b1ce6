"""Slot generation (pure): grid, exceptions, buffers, DST both ways, viewer time zones."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduling.slots import (
    DateException,
    Interval,
    WeeklyBlock,
    generate_slots,
    is_on_grid,
    wall_to_instants,
    working_intervals,
)

NY = ZoneInfo("America/New_York")
CHI = ZoneInfo("America/Chicago")
MIN = timedelta(minutes=1)


def every_day(start: time, end: time) -> list[WeeklyBlock]:
    return [WeeklyBlock(weekday=d, start=start, end=end) for d in range(7)]


def slots(**kw):
    defaults = dict(
        tz=NY,
        weekly=every_day(time(9), time(10)),
        exceptions=[],
        duration=20 * MIN,
        buffer=10 * MIN,
        grid_minutes=15,
    )
    defaults.update(kw)
    return generate_slots(**defaults)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_slots_start_on_the_wall_clock_grid_and_fit_inside_the_block():
    result = slots(start=date(2026, 6, 1), end=date(2026, 6, 1))
    local = [s.starts_at.astimezone(NY).time() for s in result]
    # 9:45 + 20 min would end after 10:00.
    assert local == [time(9, 0), time(9, 15), time(9, 30)]
    assert all(s.ends_at - s.starts_at == 20 * MIN for s in result)


def test_spring_forward_keeps_wall_clock_hours_and_shifts_utc_offset():
    result = slots(start=date(2026, 3, 7), end=date(2026, 3, 8))
    by_day = {}
    for s in result:
        by_day.setdefault(s.starts_at.astimezone(NY).date(), []).append(s.starts_at)
    assert by_day[date(2026, 3, 7)][0] == utc(2026, 3, 7, 14, 0)  # EST, UTC-5
    assert by_day[date(2026, 3, 8)][0] == utc(2026, 3, 8, 13, 0)  # EDT, UTC-4
    assert len(by_day[date(2026, 3, 7)]) == len(by_day[date(2026, 3, 8)]) == 3


def test_fall_back_keeps_wall_clock_hours_and_shifts_utc_offset():
    result = slots(start=date(2026, 10, 31), end=date(2026, 11, 1))
    firsts = sorted({s.starts_at.astimezone(NY).date(): s.starts_at for s in reversed(result)}.items())
    assert firsts == [(date(2026, 10, 31), utc(2026, 10, 31, 13, 0)), (date(2026, 11, 1), utc(2026, 11, 1, 14, 0))]


def test_spring_forward_gap_times_are_skipped_and_block_measured_in_real_time():
    # 01:00-04:00 local on 8 March 2026 is only two real hours long (02:00-03:00 does not exist).
    result = slots(weekly=every_day(time(1), time(4)), start=date(2026, 3, 8), end=date(2026, 3, 8), buffer=0 * MIN)
    local = [s.starts_at.astimezone(NY).strftime("%H:%M") for s in result]
    assert not any(t.startswith("02:") for t in local)
    assert local[0] == "01:00" and local[-1] == "03:30"
    assert all((s.ends_at - s.starts_at) == 20 * MIN for s in result)
    assert result[-1].ends_at <= utc(2026, 3, 8, 8, 0)  # 04:00 EDT


def test_fall_back_repeated_hour_gives_two_distinct_instants():
    result = slots(weekly=every_day(time(1), time(2)), start=date(2026, 11, 1), end=date(2026, 11, 1), buffer=0 * MIN)
    starts = [s.starts_at for s in result]
    assert utc(2026, 11, 1, 5, 0) in starts  # 01:00 EDT
    assert utc(2026, 11, 1, 6, 0) in starts  # 01:00 EST, one real hour later
    assert len(starts) == len(set(starts))
    assert wall_to_instants(date(2026, 11, 1), time(1, 30), NY) == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)]
    assert wall_to_instants(date(2026, 3, 8), time(2, 30), NY) == []


def test_central_time_patient_sees_eastern_physician_hours_an_hour_earlier_on_their_dates():
    # Physician 08:00-09:00 Eastern: for a Chicago patient that is 07:00-08:00 on the same date.
    result = slots(weekly=every_day(time(8), time(9)), start=date(2026, 6, 2), end=date(2026, 6, 2), viewer_tz=CHI)
    assert [s.starts_at.astimezone(CHI).strftime("%H:%M") for s in result] == ["07:00", "07:15", "07:30"]


def test_viewer_dates_decide_the_window_edges():
    # 23:00-23:59 Eastern is 22:00-22:59 Central on the same date, but an Eastern 00:00-01:00
    # block on 3 June belongs to the Central patient's 2 June.
    result = slots(
        weekly=[WeeklyBlock(weekday=2, start=time(0), end=time(1))],  # Wednesday 3 June 2026
        start=date(2026, 6, 2),
        end=date(2026, 6, 2),
        viewer_tz=CHI,
    )
    assert [s.starts_at.astimezone(CHI).strftime("%m-%d %H:%M") for s in result] == [
        "06-02 23:00",
        "06-02 23:15",
        "06-02 23:30",
    ]


def test_time_off_whole_day_and_partial_and_extra_hours():
    day = date(2026, 6, 1)
    off = slots(start=day, end=day, exceptions=[DateException(day, "time_off")])
    assert off == []
    partial = slots(start=day, end=day, exceptions=[DateException(day, "time_off", time(9, 0), time(9, 30))])
    assert [s.starts_at.astimezone(NY).time() for s in partial] == [time(9, 30)]
    extra = slots(start=day, end=day, exceptions=[DateException(day, "extra_hours", time(14), time(14, 30))])
    assert time(14, 0) in [s.starts_at.astimezone(NY).time() for s in extra]


def test_busy_appointments_and_buffers_remove_neighbouring_slots():
    day = date(2026, 6, 1)
    booked = Interval(utc(2026, 6, 1, 13, 15), utc(2026, 6, 1, 13, 35) + 10 * MIN)  # 9:15-9:35 + buffer
    result = slots(start=day, end=day, weekly=every_day(time(9), time(11)), busy=[booked])
    local = [s.starts_at.astimezone(NY).strftime("%H:%M") for s in result]
    # 9:00 + 20 + 10 buffer runs into 9:15; 9:30 overlaps; 9:45 is the first free one.
    assert local[:2] == ["09:45", "10:00"]


def test_past_and_lead_time_and_allowed_dates_filter_slots():
    result = slots(
        start=date(2026, 6, 1),
        end=date(2026, 6, 3),
        not_before=utc(2026, 6, 1, 13, 20),
        allowed_dates=lambda d: d != date(2026, 6, 2),
    )
    days = sorted({s.starts_at.astimezone(NY).date() for s in result})
    assert days == [date(2026, 6, 1), date(2026, 6, 3)]
    assert min(s.starts_at for s in result) == utc(2026, 6, 1, 13, 30)


def test_working_intervals_merge_overlapping_blocks():
    day = date(2026, 6, 1)  # Monday
    weekly = [WeeklyBlock(0, time(9), time(12)), WeeklyBlock(0, time(11), time(13))]
    assert working_intervals(day=day, tz=NY, weekly=weekly, exceptions=[]) == [
        Interval(utc(2026, 6, 1, 13), utc(2026, 6, 1, 17))
    ]


def test_is_on_grid_uses_the_physicians_wall_clock():
    assert is_on_grid(utc(2026, 6, 1, 13, 15), tz=NY, grid_minutes=15)
    assert not is_on_grid(utc(2026, 6, 1, 13, 10), tz=NY, grid_minutes=15)
    assert not is_on_grid(utc(2026, 6, 1, 13, 15, 30), tz=NY, grid_minutes=15)
