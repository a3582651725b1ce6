"""The clinical policy of intake and monitoring: one accessor over the effective-dated
`ClinicalPolicy` rows the medical director edits (docs/policy.md), and the patient-facing safety
texts, so every endpoint shows the same words.

Reads are memoised per process for a short time (the policy is read on every pre-session check
and questionnaire); a change made in this process clears the memo at once, and other processes
see it within POLICY_MEMO_SECONDS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

from api.clock import practice_date
from patients.models.policy import ClinicalPolicy
from patients.scoring import PHQ9, PHQ9_SELF_HARM_ITEM, Score

POLICY_MEMO_SECONDS = 60
_memo: dict[date, tuple[float, ClinicalPolicy]] = {}


def clinical_policy(on: date | None = None) -> ClinicalPolicy:
    """The row in force on `on` (default: today in the practice's zone); the model's defaults if
    none is stored (the data migration stores the first row, so this serves an empty test DB)."""
    on = on or practice_date()
    hit = _memo.get(on)
    if hit and time.monotonic() - hit[0] < POLICY_MEMO_SECONDS:
        return hit[1]
    row = ClinicalPolicy.objects.filter(effective_from__lte=on).order_by("-effective_from").first()
    row = row or ClinicalPolicy(effective_from=date(2000, 1, 1))
    _memo[on] = (time.monotonic(), row)
    return row


def forget() -> None:
    """Clear the memo (a policy row was saved or deleted; tests between cases)."""
    _memo.clear()


@dataclass(frozen=True)
class BloodPressurePolicy:
    hold_systolic_above: int
    hold_diastolic_above: int
    emergency_systolic_at: int
    emergency_diastolic_at: int


def blood_pressure_policy(on: date | None = None) -> BloodPressurePolicy:
    row = clinical_policy(on)
    return BloodPressurePolicy(
        hold_systolic_above=row.bp_hold_systolic_above,
        hold_diastolic_above=row.bp_hold_diastolic_above,
        emergency_systolic_at=row.bp_emergency_systolic_at,
        emergency_diastolic_at=row.bp_emergency_diastolic_at,
    )


def minimum_age(on: date | None = None) -> int:
    return clinical_policy(on).minimum_age


def response_drop_fraction(on: date | None = None) -> float:
    return clinical_policy(on).response_drop_percent / 100


def remission_below(instrument: str, on: date | None = None) -> int | None:
    """The total under which a score counts as remission, or None when the policy defines none."""
    if instrument == PHQ9:
        return clinical_policy(on).phq9_remission_below
    return None


def item9_answer_positive(answer: int, on: date | None = None) -> bool:
    """Whether a PHQ-9 item 9 answer opens a same-day safety flag (docs/safety.md#item-9)."""
    return answer >= clinical_policy(on).phq9_item9_flag_at


def self_harm_positive(score: Score, on: date | None = None) -> bool:
    return score.instrument == PHQ9 and item9_answer_positive(score.answers[PHQ9_SELF_HARM_ITEM - 1], on)


def hard_stops(on: date | None = None) -> frozenset[str]:
    """Screening codes that refuse treatment outright (the others go to a physician's review)."""
    return frozenset(clinical_policy(on).hard_stop_contraindications)


CRISIS_RESOURCES = {
    "message": (
        "If you are thinking about hurting yourself, you are not alone. Call or text 988 (Suicide & Crisis "
        "Lifeline) any time. If you are in immediate danger, call 911. Your care team has been told and will "
        "reach out today. Do not take your next dose until your physician has spoken with you."
    ),
    "lines": [
        {"name": "988 Suicide & Crisis Lifeline", "call": "988", "text": "988"},
        {"name": "Emergency services", "call": "911", "text": ""},
    ],
}

EMERGENCY_INSTRUCTIONS = (
    "Your blood pressure is dangerously high. Do not take your dose. Sit quietly and measure again in 5 minutes. "
    "Call 911 now if you have chest pain, a severe headache, shortness of breath, back pain, numbness or weakness, "
    "a change in vision, or difficulty speaking. Your care team has been notified."
)

HOLD_INSTRUCTIONS = "Do not start today's session. Your physician has been notified and will contact you."
