"""Screening in the chart: what the free assessment (or a physician) found becomes contraindication
records that block prescribing until a physician decides (docs/prescribing-gates.md#screening).

- Claiming an assessment copies ALL its screening answers into the chart, hard stops and review
  items alike: the assessment's own `reasons` list only the hard stops when there are any, so the
  answers themselves are read, never the outcome.
- Each item is a `Contraindication` (`hard_stop` for pregnancy/nursing and under-age, `review` for
  the rest), with its source and date, and the patient's `screening_review` safety flag is opened
  (dosing held, the physician's queue shows it).
- A physician records a decision per item: `resolved` with a note, or `confirmed` (not a
  candidate: prescribing stays blocked). When no item is left unresolved, the screening flag is
  resolved with the same decision note.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from api.errors import DomainError, Forbidden
from patients import eligibility, policy
from patients.errors import ContraindicationAlreadyDecided
from patients.models import (
    Assessment,
    Contraindication,
    ContraindicationSeverity,
    ContraindicationSource,
    ContraindicationStatus,
    SafetyFlag,
    SafetyFlagKind,
    SafetyFlagStatus,
    Screening,
    ScreeningSource,
)
from patients.scoring import PHQ9
from patients.services.safety import safety_flag_raise, safety_flag_resolve

UNDER_AGE = "under_18"
DECISIONS = (ContraindicationStatus.RESOLVED, ContraindicationStatus.CONFIRMED)


def _local_date(instant: datetime, patient: User) -> date:
    from django.conf import settings

    profile = getattr(patient, "patient_profile", None)
    zone = ZoneInfo(getattr(profile, "time_zone", "") or settings.PRACTICE_TIME_ZONE)
    return timezone.localtime(instant, zone).date()


def _hard_stop(code: str) -> bool:
    """Under age, and the screening answers the clinical policy in force names (docs/policy.md)."""
    return code == UNDER_AGE or code in policy.hard_stops()


def screening_codes(*, contraindications: list[str], medications: list[str]) -> list[str]:
    """The chart codes of a screening's answers: each contraindication as it is, each medication
    as `medication_<name>` (the codes the assessment's review reasons use)."""
    codes = [c for c in eligibility.CONTRAINDICATIONS if c in contraindications]
    codes += [f"medication_{m}" for m in eligibility.MEDICATIONS if m in medications]
    return codes


def contraindication_report(
    *,
    patient: User,
    code: str,
    source: str,
    source_date: date,
    screening: Screening | None = None,
    actor: User | None = None,
    request=None,
) -> tuple[Contraindication, bool]:
    """Put one item on the chart as unresolved, or find the unresolved record of the same code
    (returns it, created=False). Runs inside the caller's transaction."""
    existing = Contraindication.objects.filter(
        patient=patient, code=code, status=ContraindicationStatus.UNRESOLVED
    ).first()
    if existing is not None:
        return existing, False
    record = Contraindication(
        patient=patient,
        code=code,
        severity=ContraindicationSeverity.HARD_STOP if _hard_stop(code) else ContraindicationSeverity.REVIEW,
        source=source,
        source_date=source_date,
        screening=screening,
        recorded_by=actor,
    )
    record.full_clean(exclude=["patient", "screening", "recorded_by"], validate_constraints=False)
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:  # a concurrent report of the same code won the partial unique index
        return Contraindication.objects.get(patient=patient, code=code, status=ContraindicationStatus.UNRESOLVED), False
    audit_log(request, AuditAction.CREATE, record, actor=actor, detail=f"contraindication {source}")
    return record, True


def _hold(patient: User, *, source_assessment: Assessment | None = None, request=None) -> None:
    safety_flag_raise(
        patient=patient, kind=SafetyFlagKind.SCREENING_REVIEW, source_assessment=source_assessment, request=request
    )


@transaction.atomic
def screening_from_assessment(*, patient: User, assessment: Assessment, request=None) -> Screening:
    """The claimed assessment's screening, into the chart (called by the claim). Idempotent."""
    screening = Screening.objects.filter(assessment=assessment).first()
    if screening is not None:
        return screening
    answers = assessment.answers or {}
    contraindications = list(answers.get("contraindications") or [])
    medications = list(answers.get("medications") or [])
    screening = Screening(
        patient=patient,
        source=ScreeningSource.ASSESSMENT,
        assessment=assessment,
        screened_at=assessment.created_at,
        contraindications=contraindications,
        medications=medications,
    )
    screening.full_clean(exclude=["patient", "assessment"], validate_constraints=False)
    screening.save()
    codes = screening_codes(contraindications=contraindications, medications=medications)
    if UNDER_AGE in assessment.review_codes:
        codes.insert(0, UNDER_AGE)
    on = _local_date(assessment.created_at, patient)
    for code in codes:
        contraindication_report(
            patient=patient,
            code=code,
            source=ContraindicationSource.ASSESSMENT,
            source_date=on,
            screening=screening,
            request=request,
        )
    # Item 9 is its own same-day flag, even when a hard stop hid it from the assessment's reasons.
    phq9 = answers.get(PHQ9) or {}
    item9 = (phq9.get("answers") or [0] * 9)[8:9]
    if "phq9_item9" in assessment.review_codes or (item9 and policy.item9_answer_positive(item9[0])):
        safety_flag_raise(
            patient=patient,
            kind=SafetyFlagKind.PHQ9_ITEM9,
            source_assessment=None if codes else assessment,
            request=request,
        )
    if codes:
        _hold(patient, source_assessment=assessment, request=request)
    return screening


@transaction.atomic
def screening_record(
    *, actor: User, patient: User, contraindications: list[str], medications: list[str], request=None
) -> Screening:
    """A physician enters a screening (at the consultation, or to renew an old one). Each item
    found goes on the chart unresolved: the physician then records a decision on it."""
    if not actor.is_physician:
        raise Forbidden("Only a physician records a screening.")
    unknown = [c for c in contraindications if c not in eligibility.CONTRAINDICATIONS]
    unknown_meds = [m for m in medications if m not in eligibility.MEDICATIONS]
    if unknown or unknown_meds:
        fields = {}
        if unknown:
            fields["contraindications"] = [{"code": "invalid_choice", "message": f"Unknown: {', '.join(unknown)}"}]
        if unknown_meds:
            fields["medications"] = [{"code": "invalid_choice", "message": f"Unknown: {', '.join(unknown_meds)}"}]
        raise DomainError("Some fields are invalid.", code="validation_error", fields=fields)
    now = timezone.now()
    screening = Screening(
        patient=patient,
        source=ScreeningSource.PHYSICIAN,
        screened_at=now,
        recorded_by=actor,
        contraindications=sorted(set(contraindications)),
        medications=sorted(set(medications)),
    )
    screening.full_clean(exclude=["patient", "recorded_by"], validate_constraints=False)
    screening.save()
    audit_log(request, AuditAction.CREATE, screening, actor=actor, detail="screening")
    codes = screening_codes(contraindications=contraindications, medications=medications)
    for code in codes:
        contraindication_report(
            patient=patient,
            code=code,
            source=ContraindicationSource.PHYSICIAN_SCREENING,
            source_date=_local_date(now, patient),
            screening=screening,
            actor=actor,
            request=request,
        )
    if codes:
        _hold(patient, request=request)
    return screening


@transaction.atomic
def hard_stop_report(*, patient: User, code: str, source: str, actor: User | None = None, request=None):
    """A hard stop learnt outside a screening (the pregnancy question of a pre-session check or
    of a signing): on the chart, and dosing held through the screening flag."""
    record, _ = contraindication_report(
        patient=patient,
        code=code,
        source=source,
        source_date=_local_date(timezone.now(), patient),
        actor=actor,
        request=request,
    )
    _hold(patient, request=request)
    return record


@transaction.atomic
def contraindication_decide(
    *, actor: User, contraindication: Contraindication, decision: str, note: str, request=None
) -> Contraindication:
    """A physician on the patient's caseload records the clinical decision (the caller found the
    record through `selectors.contraindication_for_physician`). Staff cannot: it is clinical."""
    if not actor.is_physician:
        raise Forbidden("Only the patient's physician decides on a contraindication.")
    if decision not in DECISIONS:
        raise DomainError(
            "Some fields are invalid.",
            code="validation_error",
            fields={"decision": [{"code": "invalid_choice", "message": "resolved or confirmed."}]},
        )
    if not (note or "").strip():
        raise DomainError(
            "A clinical note is required.",
            code="validation_error",
            fields={"note": [{"code": "required", "message": "Required."}]},
        )
    record = Contraindication.objects.select_for_update().get(pk=contraindication.pk)
    if record.status != ContraindicationStatus.UNRESOLVED:
        raise ContraindicationAlreadyDecided()
    now = timezone.now()
    record.status = decision
    record.decided_at = now
    record.decided_by = actor
    record.decision_note = note.strip()
    record.full_clean(exclude=["patient", "screening", "recorded_by", "decided_by"], validate_constraints=False)
    record.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
    audit_log(request, AuditAction.UPDATE, record, actor=actor, detail=f"decided {decision}")
    left = Contraindication.objects.filter(patient=record.patient_id, status=ContraindicationStatus.UNRESOLVED)
    if not left.exists():
        flag = (
            SafetyFlag.objects.select_for_update()
            .filter(patient=record.patient_id, kind=SafetyFlagKind.SCREENING_REVIEW, status=SafetyFlagStatus.OPEN)
            .first()
        )
        if flag is not None:
            safety_flag_resolve(actor=actor, flag=flag, note=note, request=request)
    return record
