"""Post-session check-ins: one per session, within the policy's window after the end; severe
answers open safety flags through patients.services.safety, so they alert (and hold dosing)
by the same rules as a PHQ-9 item 9 flag (docs/treatment.md#check-ins)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from patients.models import SafetyFlag, SafetyFlagKind
from patients.services.safety import safety_flag_raise
from patients.services.vitals import Reading, vital_reading_record
from treatment.errors import AlreadyCheckedIn, CheckInWindowClosed, SessionNotEnded
from treatment.models import CheckInNotice, DosingSession, NoticeStatus, SessionCheckIn
from treatment.policy import policy_on
from treatment.selectors import session_get_for_patient

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckInResult:
    check_in: SessionCheckIn
    flags: list[SafetyFlag]
    bp_reason: str | None


def check_in_window_closes_at(session: DosingSession):
    if session.ended_at is None:
        return None
    return session.ended_at + timedelta(hours=policy_on(session.local_date).check_in_window_hours)


@transaction.atomic
def check_in_submit(
    *,
    patient: User,
    session_id: UUID,
    overall: int,
    nausea_vomiting: bool,
    dizziness: bool,
    dissociation: int,
    headache: bool,
    urinary_pain: bool,
    blood_in_urine: bool,
    did_not_drive: bool,
    blood_pressure: Reading | None = None,
    notes: str = "",
    request=None,
) -> CheckInResult:
    """Record the check-in of an ended session, once, before the window closes.

    Flags (policy thresholds of the session's day): dissociation at or above
    `dissociation_flag_at` opens `severe_dissociation`; urinary pain or blood in the urine opens
    `urinary_symptoms` (possible ketamine cystitis); a blood pressure is judged by the vitals
    rules (`bp_emergency` / `bp_hold`). A flag already open of that kind takes this trigger
    instead of opening (and alerting) again. The missed-check-in notices still pending are skipped.
    """
    session = _session_awaiting_check_in(patient=patient, session_id=session_id)
    now = timezone.now()
    if now > check_in_window_closes_at(session):
        raise CheckInWindowClosed()
    policy = policy_on(session.local_date)

    check_in = SessionCheckIn(
        session=session,
        submitted_at=now,
        overall=overall,
        nausea_vomiting=nausea_vomiting,
        dizziness=dizziness,
        dissociation=dissociation,
        headache=headache,
        urinary_pain=urinary_pain,
        blood_in_urine=blood_in_urine,
        did_not_drive=did_not_drive,
        notes=notes.strip() or None,
    )
    check_in.full_clean(exclude=["session", "vital_reading"], validate_constraints=False)
    _save_once(check_in)
    flags, bp_reason = _raise_flags(check_in, policy, patient=patient, blood_pressure=blood_pressure, request=request)
    check_in.save(update_fields=["vital_reading", "flag_reasons"])
    if flags:
        check_in.flags.add(*flags)
    CheckInNotice.objects.filter(session=session, status=NoticeStatus.PENDING).update(status=NoticeStatus.SKIPPED)
    audit_log(request, AuditAction.CREATE, check_in, actor=patient, detail="check-in")
    logger.info("check-in recorded session_id=%s flags=%d", session.pk, len(flags))
    return CheckInResult(check_in, flags, bp_reason)


def _session_awaiting_check_in(*, patient: User, session_id: UUID) -> DosingSession:
    """The patient's session, locked: ended and not yet checked in."""

    found = session_get_for_patient(viewer=patient, public_id=session_id)
    session = DosingSession.objects.select_for_update().get(pk=found.pk)
    if session.is_open:
        raise SessionNotEnded()
    if SessionCheckIn.objects.filter(session=session).exists():
        raise AlreadyCheckedIn()
    return session


def _save_once(check_in: SessionCheckIn) -> None:
    try:
        with transaction.atomic():
            check_in.save()
    except IntegrityError as exc:  # a concurrent submission of the same check-in won
        if not SessionCheckIn.objects.filter(session=check_in.session).exists():
            raise
        raise AlreadyCheckedIn() from exc


def _raise_flags(
    check_in: SessionCheckIn, policy, *, patient: User, blood_pressure: Reading | None, request
) -> tuple[list[SafetyFlag], str | None]:
    """Keep the blood pressure as a vital reading and open the flags the answers call for (noted on
    the check-in, saved by the caller); returns the flags and the blood pressure's verdict."""
    flags: list[SafetyFlag] = []
    reasons: list[str] = []
    bp_reason = None
    if blood_pressure is not None:
        recorded = vital_reading_record(patient=patient, reading=blood_pressure, request=request)
        check_in.vital_reading = recorded.reading
        bp_reason = recorded.bp_reason
        if recorded.flag is not None:
            flags.append(recorded.flag)
            reasons.append(recorded.flag.kind)
    if check_in.dissociation >= policy.dissociation_flag_at:
        flags.append(safety_flag_raise(patient=patient, kind=SafetyFlagKind.SEVERE_DISSOCIATION, request=request).flag)
        reasons.append(SafetyFlagKind.SEVERE_DISSOCIATION)
    if policy.urinary_symptoms_open_flag and (check_in.urinary_pain or check_in.blood_in_urine):
        flags.append(safety_flag_raise(patient=patient, kind=SafetyFlagKind.URINARY_SYMPTOMS, request=request).flag)
        reasons.append(SafetyFlagKind.URINARY_SYMPTOMS)
    check_in.flag_reasons = [str(r) for r in reasons]
    return flags, bp_reason
