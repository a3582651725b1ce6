"""The free eligibility assessment: evaluate, keep the lead, claim it into a registration."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from api.errors import DomainError
from patients import eligibility, policy
from patients.errors import AssessmentClaimInvalid
from patients.models import Assessment
from patients.scoring import GAD7, PHQ9, score
from patients.services.location import resolve_or_raise
from patients.services.screening import screening_from_assessment


@dataclass(frozen=True)
class AssessmentResult:
    assessment: Assessment
    claim_token: str  # shown once; only its hash is stored
    evaluation: eligibility.Evaluation
    crisis: bool  # PHQ-9 item 9 above 0: show crisis resources


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction.atomic
def assessment_submit(
    *,
    zip_code: str,
    date_of_birth: date,
    county_fips: str | None = None,
    conditions: list[str],
    treatments_tried: list[str],
    contraindications: list[str],
    medications: list[str],
    phq9: list[int] | None = None,
    gad7: list[int] | None = None,
    consent_to_contact: bool = False,
    contact_name: str = "",
    contact_email: str = "",
    contact_phone: str = "",
    request=None,
) -> AssessmentResult:
    """Answer "do I qualify?" and keep the lead.

    The location is resolved first (a bad ZIP or an ambiguous county is a 400 the person can fix;
    a state we do not serve is an answer: `not_eligible`). Age is counted on today's date in the
    person's own time zone. Contact details are dropped unless the person consented to contact.
    """
    location = resolve_or_raise(zip_code=zip_code, county_fips=county_fips, allow_unserved=True)
    today = eligibility.local_today(location.time_zone)
    _refuse_future_birth_date(date_of_birth, today)
    scores = _scored_instruments(phq9=phq9, gad7=gad7)
    crisis = bool(phq9) and policy.self_harm_positive(score(PHQ9, phq9))

    evaluation = _evaluate(
        age=eligibility.age_on(date_of_birth, today),
        state_served=location.served,
        contraindications=contraindications,
        medications=medications,
        phq9_self_harm=crisis,
    )
    token = secrets.token_urlsafe(24)
    assessment = Assessment(
        date_of_birth=date_of_birth,
        zip_code=location.zip_code or "",
        state=location.state or "",
        county_id=location.county_fips,
        time_zone=location.time_zone or "",
        answers=_screening_answers(conditions, treatments_tried, contraindications, medications, scores),
        outcome=evaluation.outcome,
        reasons=[r.as_dict() for r in evaluation.reasons],
        consent_to_contact=consent_to_contact,
        contact_name=contact_name if consent_to_contact else "",
        contact_email=contact_email if consent_to_contact else "",
        contact_phone=contact_phone if consent_to_contact else "",
        claim_token_hash=_token_hash(token),
    )
    assessment.full_clean(exclude=["county"], validate_constraints=False)
    assessment.save()
    audit_log(request, AuditAction.CREATE, assessment, actor=None, detail=f"outcome {assessment.outcome}")
    return AssessmentResult(assessment, token, evaluation, crisis)


def _refuse_future_birth_date(date_of_birth: date, today: date) -> None:
    if date_of_birth > today:
        raise DomainError(
            "Some fields are invalid.",
            code="validation_error",
            fields={"date_of_birth": [{"code": "date_in_future", "message": "The date of birth is in the future."}]},
        )


def _evaluate(
    *, age: int, state_served: bool, contraindications: list[str], medications: list[str], phq9_self_harm: bool
) -> eligibility.Evaluation:
    """The eligibility answer under the practice's current policy (minimum age, hard stops)."""
    return eligibility.evaluate(
        age=age,
        minimum_age=policy.minimum_age(),
        hard_stops=policy.hard_stops(),
        state_served=state_served,
        contraindications=contraindications,
        medications=medications,
        phq9_self_harm=phq9_self_harm,
    )


def _screening_answers(
    conditions: list[str],
    treatments_tried: list[str],
    contraindications: list[str],
    medications: list[str],
    scores: dict[str, Any],
) -> dict[str, Any]:
    return {
        "conditions": sorted(set(conditions)),
        "treatments_tried": sorted(set(treatments_tried)),
        "contraindications": sorted(set(contraindications)),
        "medications": sorted(set(medications)),
        **scores,
    }


def _scored_instruments(*, phq9: list[int] | None, gad7: list[int] | None) -> dict[str, Any]:
    """The PHQ-9 and GAD-7 as stored in the answers (None when not taken); invalid answers raise."""
    scores: dict[str, Any] = {PHQ9: None, GAD7: None}
    for instrument, answers in ((PHQ9, phq9), (GAD7, gad7)):
        if answers is not None:
            scored = score(instrument, answers, field=instrument)
            scores[instrument] = {"answers": list(scored.answers), "total": scored.total, "band": scored.band}
    return scores


@transaction.atomic
def assessment_claim(*, patient: User, public_id, token: str, request=None) -> Assessment:
    """Link a free assessment to the patient who took it (they hold its claim token).

    Every screening answer (hard stops and review items) becomes a contraindication record on the
    chart and opens the `screening_review` safety flag (dosing waits until a physician decides);
    see `services/screening.py`. Claiming again is a no-op.
    """
    assessment = Assessment.objects.select_for_update().filter(public_id=public_id).first()
    if assessment is None or not hmac.compare_digest(assessment.claim_token_hash, _token_hash(token or "")):
        raise AssessmentClaimInvalid()
    if assessment.patient_id == patient.pk:
        return assessment
    expired = assessment.created_at < timezone.now() - timedelta(days=settings.PATIENTS_ASSESSMENT_CLAIM_DAYS)
    if assessment.patient_id is not None or expired:
        raise AssessmentClaimInvalid()
    assessment.patient = patient
    assessment.claimed_at = timezone.now()
    assessment.save(update_fields=["patient", "claimed_at"])
    audit_log(request, AuditAction.UPDATE, assessment, actor=patient, detail="claimed")
    # Every screening answer follows the patient into the chart, hard stops included
    # (docs/prescribing-gates.md#screening).
    screening_from_assessment(patient=patient, assessment=assessment, request=request)
    return assessment


@transaction.atomic
def assessment_mark_reviewed(*, actor: User, assessment: Assessment, request=None) -> Assessment:
    """Staff took the lead out of the review queue (contacted, booked, or nothing to do)."""
    if assessment.reviewed_at is None:
        assessment.reviewed_at = timezone.now()
        assessment.reviewed_by = actor
        assessment.save(update_fields=["reviewed_at", "reviewed_by"])
        audit_log(request, AuditAction.UPDATE, assessment, actor=actor, detail="reviewed")
    return assessment
