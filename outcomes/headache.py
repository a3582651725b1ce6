"""The arithmetic of headache outcomes. Pure: no database, no settings (the policy is passed in).

Definitions and their sources are in docs/outcomes.md:
- a **migraine day** (docs/outcomes.md#migraine-day): a headache day with aura, or with 2+ of the
  four pain features and 1+ of the two associated features, or treated with a triptan or ergot;
- a **window** is 28 local dates ending on (and including) its `end`; days not logged are
  *missing*, never headache-free; per-28-day rates divide by the days logged;
- **responder** at 50 % / 75 %: the window's rate fell by at least that much from the baseline's
  (migraine days, or headache days when the baseline had no migraine day);
- **chronic migraine pattern** (ICHD-3 1.3) and **medication-overuse risk** (ICHD-3 8.2) hold when
  every one of the last `pattern_windows` windows meets the day counts (on the days logged: a
  missing day never adds a headache or a medication day).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from outcomes.policy import OutcomesPolicy

PAIN_FEATURES = ("unilateral", "pulsating", "moderate_or_severe", "worse_with_activity")
ASSOCIATED_FEATURES = ("nausea_or_vomiting", "light_and_sound_sensitivity")
FEATURES = PAIN_FEATURES + ASSOCIATED_FEATURES

MEDICATION_CLASSES = ("triptan", "ergot", "opioid", "simple_analgesic", "combination_analgesic", "gepant", "other")
MIGRAINE_SPECIFIC = frozenset({"triptan", "ergot"})
# ICHD-3 8.2.2-8.2.5 and 8.2.6: 10+ days a month of these (alone or together).
OVERUSE_SPECIFIC = frozenset({"triptan", "ergot", "opioid", "combination_analgesic"})
# ICHD-3 8.2.3: 15+ days a month of simple analgesics.
OVERUSE_SIMPLE = frozenset({"simple_analgesic"})

# The IHS trial guidelines' responder rates (the API names its fields after them: responder_50,
# responder_75), so they are definitions, not practice policy.
RESPONDER_LEVELS = (50, 75)

RESPONDER = "responder"
NON_RESPONDER = "non_responder"
INSUFFICIENT_DATA = "insufficient_data"
NO_BASELINE = "no_baseline"
VERDICTS = (RESPONDER, NON_RESPONDER, INSUFFICIENT_DATA, NO_BASELINE)


@dataclass(frozen=True)
class Day:
    """One logged diary day, as the arithmetic needs it."""

    headache: bool
    features: frozenset[str] = frozenset()
    aura: bool = False
    medication_classes: frozenset[str] = frozenset()

    @property
    def migraine(self) -> bool:
        if not self.headache:
            return False
        if self.aura or self.medication_classes & MIGRAINE_SPECIFIC:
            return True
        pain = sum(1 for f in PAIN_FEATURES if f in self.features)
        associated = sum(1 for f in ASSOCIATED_FEATURES if f in self.features)
        return pain >= 2 and associated >= 1


@dataclass(frozen=True)
class Window:
    start: date
    end: date
    days: int
    days_logged: int
    headache_days: int
    migraine_days: int
    acute_medication_days: int
    medication_days_by_class: dict[str, int] = field(default_factory=dict)
    overuse_specific_days: int = 0
    overuse_simple_days: int = 0
    sufficient: bool = False

    @property
    def days_missing(self) -> int:
        return self.days - self.days_logged

    def per_28(self, count: int) -> float | None:
        """`count` as a rate per 28 logged days (None when nothing was logged)."""
        if not self.days_logged:
            return None
        return round(count * 28 / self.days_logged, 2)

    @property
    def headache_days_per_28(self) -> float | None:
        return self.per_28(self.headache_days)

    @property
    def migraine_days_per_28(self) -> float | None:
        return self.per_28(self.migraine_days)


def window_bounds(end: date, days: int) -> tuple[date, date]:
    return end - timedelta(days=days - 1), end


def summarize_window(diary: Mapping[date, Day], *, end: date, policy: OutcomesPolicy) -> Window:
    start, end = window_bounds(end, policy.window_days)
    logged = [diary[d] for d in _dates(start, end) if d in diary]
    by_class = {c: 0 for c in MEDICATION_CLASSES}
    for day in logged:
        for c in day.medication_classes:
            by_class[c] += 1
    return Window(
        start=start,
        end=end,
        days=policy.window_days,
        days_logged=len(logged),
        headache_days=sum(1 for d in logged if d.headache),
        migraine_days=sum(1 for d in logged if d.migraine),
        acute_medication_days=sum(1 for d in logged if d.medication_classes),
        medication_days_by_class=by_class,
        overuse_specific_days=sum(1 for d in logged if d.medication_classes & OVERUSE_SPECIFIC),
        overuse_simple_days=sum(1 for d in logged if d.medication_classes & OVERUSE_SIMPLE),
        sufficient=len(logged) >= policy.min_logged_days,
    )


def baseline_window_end(treatment_start: date) -> date:
    """The baseline is the 28 days *before* treatment starts: it ends the day before."""
    return treatment_start - timedelta(days=1)


def change_pct(current: float | None, baseline: float | None) -> float | None:
    """Percent change of a per-28-day rate (negative is better); None when not computable."""
    if current is None or baseline is None or baseline == 0:
        return None
    return round((current - baseline) * 100 / baseline, 1)


@dataclass(frozen=True)
class Verdict:
    status: str  # one of VERDICTS
    basis: str | None  # "migraine_days" or "headache_days"
    reduction_pct: float | None


def responder(current: Window, baseline: Window | None, *, level: int) -> Verdict:
    """At least a `level` % fall in monthly migraine days (headache days when the baseline had no
    migraine day) from baseline. Either window under the logged-day minimum: insufficient_data."""
    if baseline is None:
        return Verdict(NO_BASELINE, None, None)
    if not (current.sufficient and baseline.sufficient):
        return Verdict(INSUFFICIENT_DATA, None, None)
    basis = "migraine_days" if baseline.migraine_days > 0 else "headache_days"
    before = getattr(baseline, f"{basis}_per_28")
    after = getattr(current, f"{basis}_per_28")
    if not before:
        # No headache at all in the baseline: nothing to fall from.
        return Verdict(NON_RESPONDER, basis, None)
    reduction = round((before - after) * 100 / before, 1)
    return Verdict(RESPONDER if reduction >= level else NON_RESPONDER, basis, reduction)


def chronic_migraine_pattern(windows: Iterable[Window], *, policy: OutcomesPolicy) -> bool:
    """ICHD-3 1.3 on the diary: 15+ headache days with 8+ migraine days in each window."""
    windows = list(windows)
    return len(windows) >= policy.pattern_windows and all(
        w.headache_days >= policy.chronic_headache_days and w.migraine_days >= policy.chronic_migraine_days
        for w in windows
    )


def medication_overuse_risk(windows: Iterable[Window], *, policy: OutcomesPolicy) -> bool:
    """ICHD-3 8.2: triptan/ergot/opioid/combination on 10+ days, or simple analgesics on 15+ days,
    in each window."""
    windows = list(windows)
    return len(windows) >= policy.pattern_windows and all(
        w.overuse_specific_days >= policy.overuse_specific_days or w.overuse_simple_days >= policy.overuse_simple_days
        for w in windows
    )


def trailing_windows(diary: Mapping[date, Day], *, end: date, count: int, policy: OutcomesPolicy) -> list[Window]:
    """`count` consecutive windows ending on `end`, oldest first."""
    ends = [end - timedelta(days=policy.window_days * i) for i in range(count)]
    return [summarize_window(diary, end=e, policy=policy) for e in reversed(ends)]


def weekly_counts(local_dates: Iterable[date], *, start: date, end: date) -> list[tuple[date, date, int]]:
    """Events per 7-day block from `start` (the last block is cut at `end`): [(from, to, n)]."""
    blocks = []
    cursor = start
    while cursor <= end:
        block_end = min(cursor + timedelta(days=6), end)
        blocks.append([cursor, block_end, 0])
        cursor = block_end + timedelta(days=1)
    for d in local_dates:
        for block in blocks:
            if block[0] <= d <= block[1]:
                block[2] += 1
                break
    return [(a, b, n) for a, b, n in blocks]


def _dates(start: date, end: date):
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)
