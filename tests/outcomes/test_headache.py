"""The summary's arithmetic on hand-built diaries (pure functions, no database)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from outcomes import headache as hx
from outcomes.policy import OutcomesPolicy

POLICY = OutcomesPolicy(
    window_days=28,
    min_logged_days=21,
    chronic_headache_days=15,
    chronic_migraine_days=8,
    pattern_windows=3,
    overuse_specific_days=10,
    overuse_simple_days=15,
    diary_edit_days=7,
    summary_windows=6,
)
END = date(2026, 11, 28)

PLAIN = hx.Day(headache=True, features=frozenset({"unilateral"}))
MIGRAINE = hx.Day(headache=True, features=frozenset({"unilateral", "pulsating", "nausea_or_vomiting"}))
FREE = hx.Day(headache=False)


def days_back(end: date, n: int):
    return [end - timedelta(days=i) for i in range(n)]


def diary_of(pattern: dict[date, hx.Day]) -> dict[date, hx.Day]:
    return dict(pattern)


# --- the migraine day ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (hx.Day(headache=True, features=frozenset({"unilateral", "pulsating", "light_and_sound_sensitivity"})), True),
        (hx.Day(headache=True, features=frozenset({"unilateral", "pulsating"})), False),  # no associated feature
        (hx.Day(headache=True, features=frozenset({"unilateral", "nausea_or_vomiting"})), False),  # one pain feature
        (hx.Day(headache=True, aura=True), True),
        (hx.Day(headache=True, medication_classes=frozenset({"triptan"})), True),
        (hx.Day(headache=True, medication_classes=frozenset({"ergot"})), True),
        (hx.Day(headache=True, medication_classes=frozenset({"gepant", "simple_analgesic"})), False),
        (hx.Day(headache=False, aura=True, medication_classes=frozenset({"triptan"})), False),  # not a headache day
    ],
)
def test_migraine_day_definition(day, expected):
    assert day.migraine is expected


# --- a window -----------------------------------------------------------------------------------
def test_window_is_28_local_dates_ending_on_end_inclusive():
    diary = {
        END: PLAIN,
        END - timedelta(days=27): MIGRAINE,
        END - timedelta(days=28): PLAIN,
        END + timedelta(days=1): PLAIN,
    }
    w = hx.summarize_window(diary, end=END, policy=POLICY)
    assert (w.start, w.end) == (date(2026, 11, 1), END)
    assert w.days_logged == 2
    assert (w.headache_days, w.migraine_days) == (2, 1)


def test_missing_days_are_missing_not_headache_free():
    # 21 days logged, 7 headache days: the 7 unlogged days are neither headache nor headache-free.
    diary = {d: (PLAIN if i < 7 else FREE) for i, d in enumerate(days_back(END, 21))}
    w = hx.summarize_window(diary, end=END, policy=POLICY)
    assert (w.days_logged, w.days_missing, w.headache_days) == (21, 7, 7)
    assert w.headache_days_per_28 == pytest.approx(9.33)  # 7 / 21 * 28, not 7
    assert w.sufficient


def test_twenty_logged_days_is_insufficient():
    diary = {d: FREE for d in days_back(END, 20)}
    assert not hx.summarize_window(diary, end=END, policy=POLICY).sufficient


def test_medication_days_per_class_count_days_not_doses():
    triptan_and_simple = hx.Day(headache=True, medication_classes=frozenset({"triptan", "simple_analgesic"}))
    diary = {
        END: triptan_and_simple,
        END - timedelta(days=1): hx.Day(headache=True, medication_classes=frozenset({"triptan"})),
    }
    w = hx.summarize_window(diary, end=END, policy=POLICY)
    assert w.acute_medication_days == 2
    assert w.medication_days_by_class["triptan"] == 2
    assert w.medication_days_by_class["simple_analgesic"] == 1
    assert w.medication_days_by_class["opioid"] == 0


# --- baseline and responders --------------------------------------------------------------------
def _window(headache_days: int, migraine_days: int, logged: int = 28, end: date = END) -> hx.Window:
    diary = {}
    for i, d in enumerate(days_back(end, logged)):
        diary[d] = MIGRAINE if i < migraine_days else PLAIN if i < headache_days else FREE
    return hx.summarize_window(diary, end=end, policy=POLICY)


def test_baseline_is_the_28_days_before_treatment_start():
    assert hx.baseline_window_end(date(2026, 9, 1)) == date(2026, 8, 31)
    start, end = hx.window_bounds(hx.baseline_window_end(date(2026, 9, 1)), 28)
    assert (start, end) == (date(2026, 8, 4), date(2026, 8, 31))


@pytest.mark.parametrize(
    ("baseline_mmd", "current_mmd", "r50", "r75"),
    [
        (12, 6, hx.RESPONDER, hx.NON_RESPONDER),  # exactly 50 %
        (12, 7, hx.NON_RESPONDER, hx.NON_RESPONDER),
        (12, 3, hx.RESPONDER, hx.RESPONDER),  # exactly 75 %
        (12, 12, hx.NON_RESPONDER, hx.NON_RESPONDER),
    ],
)
def test_responder_levels_on_migraine_days(baseline_mmd, current_mmd, r50, r75):
    baseline = _window(baseline_mmd + 2, baseline_mmd, end=END - timedelta(days=60))
    current = _window(current_mmd + 2, current_mmd)
    assert hx.responder(current, baseline, level=50).status == r50
    assert hx.responder(current, baseline, level=75).status == r75
    assert hx.responder(current, baseline, level=50).basis == "migraine_days"


def test_responder_uses_headache_days_when_the_baseline_had_no_migraine_day():
    baseline = _window(10, 0, end=END - timedelta(days=60))
    current = _window(4, 0)
    verdict = hx.responder(current, baseline, level=50)
    assert (verdict.status, verdict.basis, verdict.reduction_pct) == (hx.RESPONDER, "headache_days", 60.0)


def test_responder_compares_rates_per_logged_day():
    # Baseline 8 migraine days in 28 logged; now 3 in 21 logged = 4 per 28: exactly 50 %.
    baseline = _window(8, 8, end=END - timedelta(days=60))
    current = _window(3, 3, logged=21)
    assert current.migraine_days_per_28 == 4.0
    assert hx.responder(current, baseline, level=50).status == hx.RESPONDER


def test_insufficient_data_instead_of_a_verdict():
    baseline = _window(12, 10, end=END - timedelta(days=60))
    current = _window(0, 0, logged=20)
    assert hx.responder(current, baseline, level=50).status == hx.INSUFFICIENT_DATA
    thin_baseline = _window(12, 10, logged=15, end=END - timedelta(days=60))
    assert hx.responder(_window(2, 1), thin_baseline, level=50).status == hx.INSUFFICIENT_DATA
    assert hx.responder(_window(2, 1), None, level=50).status == hx.NO_BASELINE


def test_change_from_baseline_pct():
    assert hx.change_pct(6.0, 12.0) == -50.0
    assert hx.change_pct(14.0, 10.0) == 40.0
    assert hx.change_pct(3.0, 0) is None
    assert hx.change_pct(None, 10.0) is None


# --- ICHD-3 patterns over the last three windows ---------------------------------------------------
def _three_windows(per_window: list[tuple[int, int, frozenset[str]]]) -> list[hx.Window]:
    """Each window: (headache days, of which migraine days, medication classes on each headache day)."""
    diary = {}
    for k, (h, m, meds) in enumerate(reversed(per_window)):
        window_end = END - timedelta(days=28 * k)
        for i, d in enumerate(days_back(window_end, 28)):
            if i < m:
                diary[d] = hx.Day(headache=True, aura=True, medication_classes=meds)
            elif i < h:
                diary[d] = hx.Day(headache=True, medication_classes=meds)
            else:
                diary[d] = FREE
    return hx.trailing_windows(diary, end=END, count=3, policy=POLICY)


def test_chronic_migraine_pattern_needs_every_one_of_the_last_three_windows():
    none = frozenset()
    assert hx.chronic_migraine_pattern(_three_windows([(15, 8, none)] * 3), policy=POLICY)
    assert not hx.chronic_migraine_pattern(
        _three_windows([(15, 8, none), (14, 8, none), (20, 10, none)]), policy=POLICY
    )
    assert not hx.chronic_migraine_pattern(_three_windows([(15, 7, none)] * 3), policy=POLICY)
    assert not hx.chronic_migraine_pattern(_three_windows([(15, 8, none)] * 3)[1:], policy=POLICY)


def test_medication_overuse_risk_thresholds_per_class_group():
    triptan, simple, gepant = frozenset({"triptan"}), frozenset({"simple_analgesic"}), frozenset({"gepant"})
    assert hx.medication_overuse_risk(_three_windows([(10, 0, triptan)] * 3), policy=POLICY)
    assert not hx.medication_overuse_risk(
        _three_windows([(10, 0, triptan), (9, 0, triptan), (10, 0, triptan)]), policy=POLICY
    )
    assert hx.medication_overuse_risk(_three_windows([(15, 0, simple)] * 3), policy=POLICY)
    assert not hx.medication_overuse_risk(_three_windows([(14, 0, simple)] * 3), policy=POLICY)
    assert not hx.medication_overuse_risk(_three_windows([(20, 0, gepant)] * 3), policy=POLICY)


def test_opioid_and_combination_days_add_up_toward_ten():
    windows = _three_windows([(10, 0, frozenset())] * 3)
    assert not hx.medication_overuse_risk(windows, policy=POLICY)
    diary = {}
    for k in range(3):
        for i, d in enumerate(days_back(END - timedelta(days=28 * k), 10)):
            diary[d] = hx.Day(
                headache=True, medication_classes=frozenset({"opioid" if i % 2 else "combination_analgesic"})
            )
    windows = hx.trailing_windows(diary, end=END, count=3, policy=POLICY)
    assert [w.overuse_specific_days for w in windows] == [10, 10, 10]
    assert hx.medication_overuse_risk(windows, policy=POLICY)


def test_trailing_windows_are_consecutive_oldest_first():
    windows = hx.trailing_windows({}, end=END, count=3, policy=POLICY)
    assert [(w.start, w.end) for w in windows] == [
        (date(2026, 9, 6), date(2026, 10, 3)),
        (date(2026, 10, 4), date(2026, 10, 31)),
        (date(2026, 11, 1), date(2026, 11, 28)),
    ]


def test_weekly_counts_in_seven_day_blocks():
    weeks = hx.weekly_counts(
        [date(2026, 11, 1), date(2026, 11, 7), date(2026, 11, 8), date(2026, 10, 31)], start=date(2026, 11, 1), end=END
    )
    assert [(a.day, n) for a, _, n in weeks] == [(1, 2), (8, 1), (15, 0), (22, 0)]
