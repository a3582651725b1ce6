"""Safety flags: raise (one open flag per patient and kind), alert the care team once, resolve.

docs/safety.md#item-9: PHQ-9 item 9 above 0 opens a same-day flag, the care team is alerted at once and
the next dose is held until a physician resolves the flag with a note. Blood pressure above the
gate's thresholds and screening answers that need review open flags too; every open flag holds
dosing (the pre-session check answers `hold`, prescriptions refuse to sign).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from api.errors import Forbidden
from notifications.services import notify
from patients.errors import FlagAlreadyResolved
from patients.models import SafetyFlag, SafetyFlagKind, SafetyFlagStatus

logger = logging.getLogger(__name__)

# Kinds that alert at once, and who hears: the assigned physician, plus the on-call care team
# (CARE_TEAM_ALERT_EMAILS) when the team must act today. Screening reviews wait in the review queue.
# The post-session check-in's flags (severe dissociation, urinary symptoms) follow item 9's rules.
_ALERT_CARE_TEAM = {
    SafetyFlagKind.PHQ9_ITEM9,
    SafetyFlagKind.BP_EMERGENCY,
    SafetyFlagKind.SEVERE_DISSOCIATION,
    SafetyFlagKind.URINARY_SYMPTOMS,
    SafetyFlagKind.MESSAGE_CRISIS,
}
_ALERT_PHYSICIAN = {*_ALERT_CARE_TEAM, SafetyFlagKind.BP_HOLD}


@dataclass(frozen=True)
class RaisedFlag:
    flag: SafetyFlag
    opened: bool  # False: the trigger attached to a flag already open


def patient_has_open_safety_flag(*, patient: User) -> bool:
    """Contract for scheduling and prescriptions: any open flag holds dosing."""
    return SafetyFlag.objects.filter(patient=patient, status=SafetyFlagStatus.OPEN).exists()


@transaction.atomic
def safety_flag_raise(
    *,
    patient: User,
    kind: str,
    source_questionnaire=None,
    source_assessment=None,
    source_check=None,
    request=None,
) -> RaisedFlag:
    """Open a flag, or attach this trigger to the patient's open flag of the same kind.

    Runs inside the caller's transaction; the alert is written to the outbox in it (so it exists
    exactly when the flag does, broker or not) and sent after commit, only when a flag is newly
    opened (a second trigger while open does not alert again: the team is already looking, and
    the dashboard shows the trigger count).
    """
    now = timezone.now()
    existing = (
        SafetyFlag.objects.select_for_update().filter(patient=patient, kind=kind, status=SafetyFlagStatus.OPEN).first()
    )
    if existing is not None:
        SafetyFlag.objects.filter(pk=existing.pk).update(trigger_count=F("trigger_count") + 1, last_triggered_at=now)
        existing.refresh_from_db()
        audit_log(request, AuditAction.UPDATE, existing, actor=_actor(request), detail="trigger_count")
        return RaisedFlag(existing, opened=False)
    flag = SafetyFlag(
        patient=patient,
        kind=kind,
        opened_at=now,
        last_triggered_at=now,
        source_questionnaire=source_questionnaire,
        source_assessment=source_assessment,
        source_check=source_check,
    )
    flag.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            flag.save()
    except IntegrityError:
        # A concurrent trigger opened it first (PostgreSQL: the partial unique index).
        existing = SafetyFlag.objects.get(patient=patient, kind=kind, status=SafetyFlagStatus.OPEN)
        SafetyFlag.objects.filter(pk=existing.pk).update(trigger_count=F("trigger_count") + 1, last_triggered_at=now)
        existing.refresh_from_db()
        return RaisedFlag(existing, opened=False)
    audit_log(request, AuditAction.CREATE, flag, actor=_actor(request), detail=f"opened {kind}")
    logger.info("safety flag opened flag_id=%s kind=%s", flag.pk, kind)
    if kind in _ALERT_PHYSICIAN or kind in _ALERT_CARE_TEAM:
        safety_flag_alert(flag=flag)
    return RaisedFlag(flag, opened=True)


def _actor(request):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def alert_recipients(flag: SafetyFlag) -> list[str]:
    recipients: list[str] = []
    profile = getattr(flag.patient, "patient_profile", None)
    physician = profile.assigned_physician if profile is not None else None
    if flag.kind in _ALERT_PHYSICIAN and physician is not None and physician.is_active:
        recipients.append(physician.email)
    # No physician yet: the care team hears about every alerting flag, so someone always does.
    if flag.kind in _ALERT_CARE_TEAM or (flag.kind in _ALERT_PHYSICIAN and not recipients):
        recipients.extend(settings.CARE_TEAM_ALERT_EMAILS)
    seen: dict[str, None] = {}
    for email in recipients:
        seen.setdefault(email.strip().lower(), None)
    return [e for e in seen if e]


@transaction.atomic
def safety_flag_alert(*, flag: SafetyFlag) -> int:
    """Write the flag's alert to the outbox, one email per recipient, once per flag (the dedupe
    key): sent after commit, or by the outbox sweep if that enqueue is lost. No PHI in the text
    (notifications.kinds `safety_alert`). Returns how many recipients are alerted."""
    recipients = alert_recipients(flag)
    for address in recipients:
        notify(kind="safety_alert", recipient=address, dedupe_key=f"safety-flag:{flag.pk}", channels=("email",))
    SafetyFlag.objects.filter(pk=flag.pk, alerted_at__isnull=True).update(alerted_at=timezone.now())
    logger.info("safety flag alert queued flag_id=%s recipients=%d", flag.pk, len(recipients))
    return len(recipients)


@transaction.atomic
def safety_flag_resolve(*, actor: User, flag: SafetyFlag, note: str, request=None) -> SafetyFlag:
    """A physician on the patient's caseload closes the flag with a clinical note.

    Staff cannot resolve: clearing a patient for dosing is a clinical decision. The caller has
    already found the flag through the physician's scope (selectors.safety_flag_for_physician).
    """
    if not actor.is_physician:
        raise Forbidden("Only the patient's physician can resolve a safety flag.")
    flag = SafetyFlag.objects.select_for_update().get(pk=flag.pk)
    if not flag.is_open:
        raise FlagAlreadyResolved()
    flag.status = SafetyFlagStatus.RESOLVED
    flag.resolved_at = timezone.now()
    flag.resolved_by = actor
    flag.resolution_note = note.strip()
    flag.full_clean(validate_unique=False, validate_constraints=False)
    flag.save(update_fields=["status", "resolved_at", "resolved_by", "resolution_note"])
    audit_log(request, AuditAction.UPDATE, flag, actor=actor, detail="resolved")
    logger.info("safety flag resolved flag_id=%s", flag.pk)
    return flag
