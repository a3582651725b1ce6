"""A missed check-in: one reminder to the patient, then one alert to the care team.

The two CheckInNotice rows are planned when the session ends (unique per session and kind); beat
scans the due ones, claims each by compare-and-swap (pending -> sending) and sends it once. A
row whose check-in arrived first is skipped; a claim left by a worker that died goes back to
pending after a while. Sending is one small function (`_deliver`), so it can move to a shared
outbox later without touching the rules.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from accounts.notifications import send_email, send_sms
from treatment import policy
from treatment.models import CheckInNotice, NoticeKind, NoticeStatus, SessionCheckIn

logger = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=10)
MAX_ATTEMPTS = 5


def _deliver(notice: CheckInNotice) -> None:
    """Send one notice through accounts.notifications; no PHI in any body."""
    patient = notice.session.patient
    profile = getattr(patient, "patient_profile", None)
    if notice.kind == NoticeKind.PATIENT_REMINDER:
        if profile is not None and profile.phone:
            send_sms(to=str(profile.phone), body=policy.CHECK_IN_REMINDER_SMS)
        else:
            send_email(to=patient.email, subject=policy.CHECK_IN_REMINDER_SUBJECT, body=policy.CHECK_IN_REMINDER_SMS)
        return
    recipients: list[str] = []
    physician = profile.assigned_physician if profile is not None else None
    if physician is not None and physician.is_active:
        recipients.append(physician.email)
    recipients.extend(settings.CARE_TEAM_ALERT_EMAILS)
    unique = list(dict.fromkeys(r.strip().lower() for r in recipients if r.strip()))
    send_email(to=unique, subject=policy.CHECK_IN_ALERT_SUBJECT, body=policy.CHECK_IN_ALERT_BODY)


def due_notice_ids(*, now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    # A worker that died mid-send left its claim: the row goes back to pending (at least once).
    CheckInNotice.objects.filter(status=NoticeStatus.SENDING, claimed_at__lt=now - STALE_CLAIM).update(
        status=NoticeStatus.PENDING, claimed_at=None
    )
    return list(
        CheckInNotice.objects.filter(status=NoticeStatus.PENDING, due_at__lte=now, attempts__lt=MAX_ATTEMPTS)
        .order_by("due_at", "id")
        .values_list("pk", flat=True)[:500]
    )


def check_in_notice_send(*, notice_id: int) -> bool:
    """Claim and send one due notice; True if this call sent it. Safe to run twice."""
    now = timezone.now()
    claimed = CheckInNotice.objects.filter(pk=notice_id, status=NoticeStatus.PENDING, due_at__lte=now).update(
        status=NoticeStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return False
    notice = CheckInNotice.objects.select_related("session__patient__patient_profile__assigned_physician").get(
        pk=notice_id
    )
    if SessionCheckIn.objects.filter(session_id=notice.session_id).exists():
        CheckInNotice.objects.filter(pk=notice_id).update(status=NoticeStatus.SKIPPED)
        return False
    try:
        _deliver(notice)
    except Exception:
        CheckInNotice.objects.filter(pk=notice_id, status=NoticeStatus.SENDING).update(
            status=NoticeStatus.PENDING, claimed_at=None
        )
        raise
    CheckInNotice.objects.filter(pk=notice_id).update(status=NoticeStatus.SENT, sent_at=timezone.now())
    logger.info("check-in notice sent notice_id=%s kind=%s", notice_id, notice.kind)
    return True


def check_in_notices_send_due(*, now: datetime | None = None) -> int:
    """Beat: send every due notice once; a failed send stays pending for the next scan."""
    sent = 0
    for notice_id in due_notice_ids(now=now):
        try:
            sent += check_in_notice_send(notice_id=notice_id)
        except Exception:  # noqa: BLE001 - one failing recipient must not stop the others
            logger.exception("check-in notice failed notice_id=%s", notice_id)
    return sent
