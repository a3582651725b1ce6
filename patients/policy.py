"""Clinical policy of intake and monitoring, read from settings (config/settings/base.py, patients block).

Defaults follow docs/safety.md; the practice changes them from the environment, never in code.
The patient-facing safety texts sit here too so every endpoint shows the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from patients.scoring import PHQ9


@dataclass(frozen=True)
class BloodPressurePolicy:
    hold_systolic_above: int
    hold_diastolic_above: int
    emergency_systolic_at: int
    emergency_diastolic_at: int


def blood_pressure_policy() -> BloodPressurePolicy:
    return BloodPressurePolicy(
        hold_systolic_above=settings.PATIENTS_BP_HOLD_SYSTOLIC_ABOVE,
        hold_diastolic_above=settings.PATIENTS_BP_HOLD_DIASTOLIC_ABOVE,
        emergency_systolic_at=settings.PATIENTS_BP_EMERGENCY_SYSTOLIC_AT,
        emergency_diastolic_at=settings.PATIENTS_BP_EMERGENCY_DIASTOLIC_AT,
    )


def minimum_age() -> int:
    return settings.PATIENTS_MINIMUM_AGE


def response_drop_fraction() -> float:
    return settings.PATIENTS_RESPONSE_DROP_FRACTION


def remission_below(instrument: str) -> int | None:
    """The total under which a score counts as remission, or None when the policy defines none."""
    if instrument == PHQ9:
        return settings.PATIENTS_PHQ9_REMISSION_BELOW
    return None


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
