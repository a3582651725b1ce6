"""Outcome-measure policy, read from settings (config/settings/clinical.py, outcomes block).

The defaults are the published definitions (docs/outcomes.md); the medical director changes them
from the environment, never in code.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class OutcomesPolicy:
    window_days: int  # one "month" of headache medicine: 28 days
    min_logged_days: int  # fewer logged days in a window: insufficient_data
    chronic_headache_days: int  # ICHD-3 1.3: 15+
    chronic_migraine_days: int  # ICHD-3 1.3: 8+
    pattern_windows: int  # "more than 3 months": the last 3 windows
    overuse_specific_days: int  # ICHD-3 8.2: triptan/ergot/opioid/combination on 10+ days
    overuse_simple_days: int  # ICHD-3 8.2: simple analgesics on 15+ days
    diary_edit_days: int  # an entry can be written up to this many days after its date
    summary_windows: int  # windows in the `months` series


def outcomes_policy() -> OutcomesPolicy:
    return OutcomesPolicy(
        window_days=settings.OUTCOMES_WINDOW_DAYS,
        min_logged_days=settings.OUTCOMES_MIN_LOGGED_DAYS,
        chronic_headache_days=settings.OUTCOMES_CHRONIC_HEADACHE_DAYS,
        chronic_migraine_days=settings.OUTCOMES_CHRONIC_MIGRAINE_DAYS,
        pattern_windows=settings.OUTCOMES_PATTERN_WINDOWS,
        overuse_specific_days=settings.OUTCOMES_OVERUSE_SPECIFIC_DAYS,
        overuse_simple_days=settings.OUTCOMES_OVERUSE_SIMPLE_DAYS,
        diary_edit_days=settings.OUTCOMES_DIARY_EDIT_DAYS,
        summary_windows=settings.OUTCOMES_SUMMARY_WINDOWS,
    )


# The reminder's text (no PHI: what to do, never why; no "headache", no condition) is
# notifications.kinds `diary_reminder`.
