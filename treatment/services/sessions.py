"""Dosing sessions: start (every gate at once), end, and the beat that closes forgotten ones
(docs/treatment.md#sessions)."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from patients.models import CheckOutcome, PatientProfile, PreSessionCheck
from patients.services.safety import patient_has_open_safety_flag
from scheduling.caseload import caseload_touch
from treatment.errors import SessionAlreadyOpen, SessionNotOpen, SessionRefused
from treatment.models import CheckInNotice, DosingSession, NoticeKind, SessionStatus
from treatment.policy import policy_on
from treatment.selectors import session_get_for_patient
from treatment.services import supply

logger = logging.getLogger(__name__)

MESSAGES = {
    "pre_session_check_missing": "Take today's pre-session check first.",
    "pre_session_check_not_go": "Today's pre-session check did not clear you for a session.",
    "pre_session_check_used": "Today's pre-session check was already used for a session; take a new one.",
    "open_safety_flag": "Dosing is on hold until your physician has reviewed a safety concern.",
    "no_treatment_monitor": "Name your treatment monitor in your profile first.",
    "monitor_not_attested": "Your treatment monitor must be present for the whole session.",
    "no_delivered_fill": "No delivered medicine from an active prescription.",
    "supply_exhausted": "No doses are left from your delivered medicine.",
    "daily_session_limit": "Your prescription does not allow another session today.",
    "weekly_session_limit": "Your prescription does not allow another session this week.",
}


def patient_zone(profile: PatientProfile | None) -> ZoneInfo:
    return ZoneInfo((profile.time_zone if profile is not None else "") or settings.PRACTICE_TIME_ZONE)


def _day_bounds(day, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a local date spans (23 or 25 hours on DST days)."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


@transaction.atomic
def session_start(*, patient: User, monitor_attested: bool, request=None) -> DosingSession:
    """Start a session when every rule passes, else 422 `session_refused` with every reason:

    today's (patient's local date) latest pre-session check answered `go` and was not used by
    another session; no open safety flag; the profile names a treatment monitor and the patient
    attests that monitor is present; a delivered fill of an active prescription has a dose left;
    the prescription's directions allow another session today (`sessions_per_day`, default 1)
    and this week (`sessions_per_week` over the rolling 7 local days, default the policy's 2).
    Records the product and dose units from that fill, the monitor and the start time.
    """
    # One start at a time per patient: the limits below count the patient's sessions.
    User.objects.select_for_update().filter(pk=patient.pk).first()
    if DosingSession.objects.filter(patient=patient, status=SessionStatus.OPEN).exists():
        raise SessionAlreadyOpen()
    profile = PatientProfile.objects.filter(user=patient).first()
    zone = patient_zone(profile)
    now = timezone.now()
    today = timezone.localtime(now, zone).date()
    policy = policy_on(today)
    start, end = _day_bounds(today, zone)
    check = (
        PreSessionCheck.objects.filter(patient=patient, checked_at__gte=start, checked_at__lt=end)
        .order_by("-checked_at", "-id")
        .first()
    )
    reasons = _readiness_reasons(patient, profile, check, monitor_attested=monitor_attested)
    balance, supply_reasons = _supply_and_limits(patient, today, policy)
    reasons += supply_reasons
    if reasons:
        raise SessionRefused(reasons=[{"code": c, "message": MESSAGES[c]} for c in reasons])

    session = _session_from_fill(
        balance.fill, patient=patient, profile=profile, check=check, now=now, today=today, zone=zone
    )
    try:
        with transaction.atomic():
            session.save()
    except IntegrityError as exc:  # a concurrent start won the one-open-session constraint
        raise SessionAlreadyOpen() from exc
    audit_log(request, AuditAction.CREATE, session, actor=patient, detail="session started")
    logger.info("session started session_id=%s", session.pk)
    return session


def _readiness_reasons(
    patient: User, profile: PatientProfile | None, check: PreSessionCheck | None, *, monitor_attested: bool
) -> list[str]:
    """Today's check cleared the patient and is unused, no safety flag is open, a monitor is named
    and attested present."""
    reasons: list[str] = []
    if check is None:
        reasons.append("pre_session_check_missing")
    elif check.outcome != CheckOutcome.GO:
        reasons.append("pre_session_check_not_go")
    elif DosingSession.objects.filter(pre_session_check=check).exists():
        reasons.append("pre_session_check_used")
    if patient_has_open_safety_flag(patient=patient):
        reasons.append("open_safety_flag")
    if profile is None or not profile.has_treatment_monitor:
        reasons.append("no_treatment_monitor")
    if not monitor_attested:
        reasons.append("monitor_not_attested")
    return reasons


def _supply_and_limits(patient: User, today, policy) -> tuple[supply.FillBalance | None, list[str]]:
    """The fill the session doses from (a dose left), and the prescription's daily and weekly
    session limits (the week: the rolling 7 local days)."""
    reasons: list[str] = []
    balance = supply.next_fill(patient=patient, on=today)
    if balance is None:
        any_fill = supply.fill_balances(patient=patient, on=today)
        reasons.append("supply_exhausted" if any_fill else "no_delivered_fill")
        return None, reasons
    rx = balance.fill.prescription
    if DosingSession.objects.filter(patient=patient, local_date=today).count() >= rx.sessions_per_day:
        reasons.append("daily_session_limit")
    week = DosingSession.objects.filter(
        patient=patient, local_date__gt=today - timedelta(days=7), local_date__lte=today
    ).count()
    if week >= (rx.sessions_per_week or policy.default_sessions_per_week):
        reasons.append("weekly_session_limit")
    return balance, reasons


def _session_from_fill(
    fill, *, patient: User, profile: PatientProfile, check: PreSessionCheck, now: datetime, today, zone: ZoneInfo
) -> DosingSession:
    """The open session, validated: product and dose units from the fill's prescription, the monitor
    from the profile, the local date in the patient's zone."""
    rx = fill.prescription
    session = DosingSession(
        patient=patient,
        prescription=rx,
        fill=fill,
        product=rx.product,
        pre_session_check=check,
        dose_units=rx.units_per_session,
        dispensing_unit=rx.product.dispensing_unit,
        dose_text=rx.dose,
        monitor_name=profile.monitor_name,
        monitor_attested_at=now,
        started_at=now,
        local_date=today,
        time_zone=str(zone),
        status=SessionStatus.OPEN,
    )
    session.full_clean(
        exclude=["patient", "prescription", "fill", "product", "pre_session_check"], validate_constraints=False
    )
    return session


def _plan_notices(session: DosingSession) -> None:
    """The missed check-in's reminder and alert, due at the policy's delays after the end."""
    policy = policy_on(session.local_date)
    rows = [
        CheckInNotice(
            session=session,
            kind=NoticeKind.PATIENT_REMINDER,
            due_at=session.ended_at + timedelta(minutes=policy.check_in_reminder_after_minutes),
        ),
        CheckInNotice(
            session=session,
            kind=NoticeKind.CARE_TEAM_ALERT,
            due_at=session.ended_at + timedelta(minutes=policy.check_in_alert_after_minutes),
        ),
    ]
    CheckInNotice.objects.bulk_create(rows, ignore_conflicts=True)


@transaction.atomic
def session_end(*, patient: User, session_id: UUID, request=None) -> DosingSession:
    session = session_get_for_patient(viewer=patient, public_id=session_id)
    session = DosingSession.objects.select_for_update().get(pk=session.pk)
    if not session.is_open:
        raise SessionNotOpen()
    session.status = SessionStatus.ENDED
    session.ended_at = timezone.now()
    session.save(update_fields=["status", "ended_at"])
    _plan_notices(session)
    audit_log(request, AuditAction.UPDATE, session, actor=patient, detail="session ended")
    return session


def sessions_auto_close(*, now: datetime | None = None) -> int:
    """Beat: sessions open longer than the policy's limit (default 4 h) are closed as
    `auto_closed`, ended at start + limit. Each is moved by compare-and-swap on its status, so a
    duplicated run closes nothing twice. Returns how many this run closed."""
    now = now or timezone.now()
    closed = 0
    candidates = DosingSession.objects.filter(status=SessionStatus.OPEN, started_at__lt=now - timedelta(hours=1))
    for session in candidates.only("pk", "started_at", "local_date"):
        limit = timedelta(hours=policy_on(session.local_date).session_auto_close_hours)
        if session.started_at + limit > now:
            continue
        with transaction.atomic():
            moved = DosingSession.objects.filter(pk=session.pk, status=SessionStatus.OPEN).update(
                status=SessionStatus.AUTO_CLOSED, ended_at=session.started_at + limit
            )
            if not moved:
                continue
            session.refresh_from_db()
            # An update() sends no signal: the caseload row's overdue check-in may change.
            caseload_touch(patient_ids=[session.patient_id])
            _plan_notices(session)
            audit_log(None, AuditAction.UPDATE, session, actor=None, detail="session auto_closed")
        closed += 1
    if closed:
        logger.info("sessions auto-closed count=%d", closed)
    return closed
