"""The free eligibility assessment's rules (docs/safety.md#screening, docs/service-area.md). Pure: no database.

Hard stops (`not_eligible`): under the minimum age, pregnant or nursing, living outside the
states we serve. Everything else on the screen is a flag for a physician (`needs_review`), never
a refusal: the physician decides at the free consultation.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone

CONDITIONS = [
    "depression",
    "anxiety",
    "ptsd",
    "chronic_pain",
    "migraine",
    "cluster_headache",
    "ocd",
    "bipolar_depression",
    "fibromyalgia",
    "crps",
    "other",
]

TREATMENTS = [
    "antidepressants",
    "psychotherapy",
    "anxiolytics",
    "antipsychotic_augmentation",
    "tms",
    "ect",
    "esketamine",
    "ketamine",
    "pain_medication",
    "nerve_block",
    "other",
]

PREGNANT_OR_NURSING = "pregnant_or_nursing"

# Screening contraindications for physician review (docs/safety.md#screening); pregnancy/nursing is a hard stop.
CONTRAINDICATIONS = {
    PREGNANT_OR_NURSING: "Pregnant or nursing",
    "psychotic_disorder_or_mania": "Psychotic disorder or current mania",
    "substance_dependence": "Active substance dependence",
    "uncontrolled_hypertension": "Uncontrolled high blood pressure",
    "heart_disease": "Heart disease, angina or arrhythmia",
    "aneurysm_or_brain_bleed": "Aneurysm or bleeding in the brain",
    "uncontrolled_hyperthyroidism": "Uncontrolled hyperthyroidism",
    "seizures": "Epilepsy or seizures",
    "severe_lung_disease": "Severe lung disease or uncontrolled asthma",
    "liver_disease": "Liver disease",
    "bladder_disease": "Bladder disease or cystitis",
    "ketamine_hypersensitivity": "Known allergy or hypersensitivity to ketamine",
}

HARD_STOP_TEXT = {PREGNANT_OR_NURSING: "Ketamine treatment is not offered during pregnancy or nursing."}

MEDICATIONS = {
    "opioids": "Opioids",
    "benzodiazepines": "Benzodiazepines",
    "maois": "MAO inhibitors",
    "stimulants": "Stimulants",
    "lamotrigine": "Lamotrigine",
}

LIKELY_ELIGIBLE = "likely_eligible"
NEEDS_REVIEW = "needs_review"
NOT_ELIGIBLE = "not_eligible"

OUTCOME_TEXT = {
    LIKELY_ELIGIBLE: (
        "Good news: from your answers, at-home ketamine treatment may be right for you. Book a free video "
        "consultation with one of our physicians to confirm."
    ),
    NEEDS_REVIEW: (
        "Thank you. Some of your answers need a physician's review before treatment can start. This does not "
        "mean you cannot be treated: book a free video consultation and the physician will go over them with you."
    ),
    NOT_ELIGIBLE: "We're sorry: based on your answers, we cannot offer treatment at this time.",
}


@dataclass(frozen=True)
class Reason:
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Evaluation:
    outcome: str
    reasons: list[Reason] = field(default_factory=list)

    @property
    def text(self) -> str:
        return OUTCOME_TEXT[self.outcome]


def age_on(date_of_birth: date, on: date) -> int:
    """Whole years. A 29 February birthday is reached on 1 March in common years (the day
    before, 28 February, the birthday has not happened yet), the usual legal reading."""
    before_birthday = (on.month, on.day) < (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - (1 if before_birthday else 0)


def local_today(time_zone: str | None, *, now: datetime | None = None) -> date:
    """Today's date where the person lives (age turns over at their midnight, not UTC's)."""
    from django.conf import settings

    zone = zoneinfo.ZoneInfo(time_zone or settings.PRACTICE_TIME_ZONE)
    return (now or timezone.now()).astimezone(zone).date()


def evaluate(
    *,
    age: int,
    minimum_age: int,
    state_served: bool,
    contraindications: list[str],
    medications: list[str],
    phq9_self_harm: bool = False,
    hard_stops: frozenset[str] = frozenset({PREGNANT_OR_NURSING}),
) -> Evaluation:
    """Outcome and every reason behind it: all hard stops, or else all review flags."""
    stops: list[Reason] = []
    if age < minimum_age:
        stops.append(Reason("under_18", f"Treatment is for adults {minimum_age} and older."))
    for code in (c for c in CONTRAINDICATIONS if c in hard_stops and c in contraindications):
        message = HARD_STOP_TEXT.get(code, f"{CONTRAINDICATIONS[code]}: we cannot offer ketamine treatment.")
        stops.append(Reason(code, message))
    if not state_served:
        stops.append(Reason("state_not_served", "We are not yet available in your state."))
    if stops:
        return Evaluation(NOT_ELIGIBLE, stops)

    flags: list[Reason] = []
    if phq9_self_harm:
        flags.append(Reason("phq9_item9", "You told us about thoughts of self-harm; a physician will follow up."))
    for code, label in CONTRAINDICATIONS.items():
        if code in contraindications and code not in hard_stops:
            flags.append(Reason(code, f"{label}: a physician needs to review this."))
    for code, label in MEDICATIONS.items():
        if code in medications:
            flags.append(Reason(f"medication_{code}", f"{label}: a physician needs to review this medication."))
    if flags:
        return Evaluation(NEEDS_REVIEW, flags)
    return Evaluation(LIKELY_ELIGIBLE, [])
