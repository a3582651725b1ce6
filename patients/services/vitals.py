"""The pre-session gate: two blood-pressure readings and the treatment monitor's attestation."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from patients import policy
from patients.eligibility import PREGNANT_OR_NURSING
from patients.models import (
    CheckOutcome,
    ContraindicationSource,
    PatientProfile,
    PreSessionCheck,
    SafetyFlag,
    SafetyFlagKind,
    VitalReading,
)
from patients.selectors import confirmed_contraindications, unresolved_contraindications
from patients.services.safety import patient_has_open_safety_flag, safety_flag_raise
from patients.services.screening import hard_stop_report


@dataclass(frozen=True)
class Reading:
    systolic: int
    diastolic: int


@dataclass(frozen=True)
class CheckResult:
    check: PreSessionCheck
    readings: list[VitalReading]
    flag: SafetyFlag | None


def judge_blood_pressure(readings: list[Reading]) -> tuple[int, int, str | None]:
    """docs/safety.md#blood-pressure: judged on the higher reading. We take the higher systolic and the higher
    diastolic of the readings separately (so 150/80 and 130/95 is judged 150/95): the most
    cautious reading of "higher" when the two readings disagree. Returns the judged values and
    `bp_emergency`, `bp_above_threshold` or None."""
    bp = policy.blood_pressure_policy()
    systolic = max(r.systolic for r in readings)
    diastolic = max(r.diastolic for r in readings)
    if systolic >= bp.emergency_systolic_at or diastolic >= bp.emergency_diastolic_at:
        return systolic, diastolic, "bp_emergency"
    if systolic > bp.hold_systolic_above or diastolic > bp.hold_diastolic_above:
        return systolic, diastolic, "bp_above_threshold"
    return systolic, diastolic, None


@transaction.atomic
def pre_session_check_submit(
    *,
    patient: User,
    readings: list[Reading],
    rested_5_minutes: bool,
    monitor_present: bool,
    monitor_adult: bool,
    monitor_sober: bool,
    pregnant_or_nursing: bool | None = None,
    request=None,
) -> CheckResult:
    """Decide go / hold / emergency and keep the readings as vitals history.

    hold: blood pressure above the hold thresholds (the physician is notified through a
    `bp_hold` safety flag), the monitor not attested present, adult and sober, no treatment
    monitor in the profile, not rested 5 minutes, any open safety flag, the pregnancy question
    answered yes (`pregnant_or_nursing`, recorded as a hard-stop contraindication) or not answered
    (`pregnancy_status_not_answered`: it is asked at every check), or a contraindication on the chart
    that no physician has decided (`contraindication_unresolved`) or that one confirmed
    (`contraindication_confirmed`; docs/prescribing-gates.md#screening).
    emergency: at or above the emergency thresholds (a `bp_emergency` flag alerts the
    physician and the care team; the patient sees emergency instructions).
    The gate's answer is a result, not an error: a hold is stored like a go.
    """
    systolic, diastolic, bp_reason = judge_blood_pressure(readings)
    reasons = _hold_reasons(
        patient=patient,
        bp_reason=bp_reason,
        rested_5_minutes=rested_5_minutes,
        monitor_attested=monitor_present and monitor_adult and monitor_sober,
        pregnant_or_nursing=pregnant_or_nursing,
    )
    if bp_reason == "bp_emergency":
        outcome = CheckOutcome.EMERGENCY
    elif reasons:
        outcome = CheckOutcome.HOLD
    else:
        outcome = CheckOutcome.GO
    check = PreSessionCheck(
        patient=patient,
        checked_at=timezone.now(),
        rested_5_minutes=rested_5_minutes,
        monitor_present=monitor_present,
        monitor_adult=monitor_adult,
        monitor_sober=monitor_sober,
        judged_systolic=systolic,
        judged_diastolic=diastolic,
        outcome=outcome,
        reasons=reasons,
    )
    rows = _save_check_and_readings(check, readings, request=request)
    flag = _report_what_the_check_found(check, bp_reason, pregnant_or_nursing=pregnant_or_nursing, request=request)
    return CheckResult(check, rows, flag)


def _report_what_the_check_found(
    check: PreSessionCheck, bp_reason: str | None, *, pregnant_or_nursing: bool | None, request
) -> SafetyFlag | None:
    """A yes to the pregnancy question becomes a hard-stop contraindication; a blood pressure over
    the thresholds raises the safety flag that alerts the physician (and, in an emergency, the care
    team)."""
    patient = check.patient
    if pregnant_or_nursing:
        hard_stop_report(
            patient=patient,
            code=PREGNANT_OR_NURSING,
            source=ContraindicationSource.PRE_SESSION_CHECK,
            actor=patient,
            request=request,
        )
    if not bp_reason:
        return None
    kind = SafetyFlagKind.BP_EMERGENCY if bp_reason == "bp_emergency" else SafetyFlagKind.BP_HOLD
    return safety_flag_raise(patient=patient, kind=kind, source_check=check, request=request).flag


def _hold_reasons(
    *,
    patient: User,
    bp_reason: str | None,
    rested_5_minutes: bool,
    monitor_attested: bool,
    pregnant_or_nursing: bool | None,
) -> list[str]:
    """Every reason the session may not start, in the order the patient is shown them."""
    had_open_flag = patient_has_open_safety_flag(patient=patient)
    reasons: list[str] = []
    if bp_reason:
        reasons.append(bp_reason)
    if not monitor_attested:
        reasons.append("monitor_not_attested")
    profile = PatientProfile.objects.filter(user=patient).first()
    if profile is None or not profile.has_treatment_monitor:
        reasons.append("no_treatment_monitor")
    if not rested_5_minutes:
        reasons.append("not_rested")
    if had_open_flag:
        reasons.append("open_safety_flag")
    if pregnant_or_nursing is None:
        reasons.append("pregnancy_status_not_answered")
    elif pregnant_or_nursing:
        reasons.append(PREGNANT_OR_NURSING)
    if unresolved_contraindications(patient=patient):
        reasons.append("contraindication_unresolved")
    if confirmed_contraindications(patient=patient):
        reasons.append("contraindication_confirmed")
    return reasons


def _save_check_and_readings(check: PreSessionCheck, readings: list[Reading], *, request) -> list[VitalReading]:
    """The check and its readings (vitals history, measured when the check was), audited together."""
    check.full_clean(validate_constraints=False)
    check.save()
    rows = [
        VitalReading(
            patient=check.patient,
            measured_at=check.checked_at,
            systolic=r.systolic,
            diastolic=r.diastolic,
            pre_session_check=check,
            sequence=i,
        )
        for i, r in enumerate(readings, start=1)
    ]
    for row in rows:
        row.full_clean(validate_constraints=False)
    VitalReading.objects.bulk_create(rows)
    audit_log(request, AuditAction.CREATE, check, *rows, actor=check.patient)
    return rows


@dataclass(frozen=True)
class RecordedReading:
    reading: VitalReading
    bp_reason: str | None  # bp_emergency, bp_above_threshold or None
    flag: SafetyFlag | None


@transaction.atomic
def vital_reading_record(*, patient: User, reading: Reading, request=None) -> RecordedReading:
    """One blood-pressure reading outside the pre-session gate (e.g. after a session), judged by
    the same thresholds: at or above the emergency values it opens a `bp_emergency` flag, above
    the hold values a `bp_hold` flag, exactly as the gate does."""
    row = VitalReading(
        patient=patient, measured_at=timezone.now(), systolic=reading.systolic, diastolic=reading.diastolic
    )
    row.full_clean(validate_constraints=False)
    row.save()
    audit_log(request, AuditAction.CREATE, row, actor=patient)
    _, _, bp_reason = judge_blood_pressure([reading])
    flag = None
    if bp_reason:
        kind = SafetyFlagKind.BP_EMERGENCY if bp_reason == "bp_emergency" else SafetyFlagKind.BP_HOLD
        flag = safety_flag_raise(patient=patient, kind=kind, request=request).flag
    return RecordedReading(row, bp_reason, flag)
