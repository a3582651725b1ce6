"""A missed check-in: one reminder to the patient, then one alert to the care team.

The two CheckInNotice rows are planned when the session ends (unique per session and kind); beat
scans the due ones, claims each by compare-and-swap (pending -> sending) and sends it once. A
row whose check-in arrived first is skipped; a claim left by a worker that died goes back to
pending after a while. `_deliver` writes the notice's outbox rows (notifications.services.notify,
kinds `check_in_reminder` and `check_in_overdue`) in the same transaction that marks the row
sent, under a dedupe key per notice, so a duplicated task or a second notify writes nothing new
and the outbox sends each row once (docs/notifications.md#what-is-sent-where).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from notifications.services import Recipient, notify
from treatment.models import CheckInNotice, NoticeKind, NoticeStatus, SessionCheckIn

logger = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=10)
MAX_ATTEMPTS = 5


def _deliver(notice: CheckInNotice) -> None:
    """Write the notice's outbox rows (inside the caller's transaction); no PHI in any text.

    The patient: by their choices for the "reminders" group (email, SMS with a phone, push), since
    the check-in is a care task like a visit, not the optional diary. The care team: the assigned
    physician (if active) and CARE_TEAM_ALERT_EMAILS, each address once, by email."""
    patient = notice.session.patient
    profile = getattr(patient, "patient_profile", None)
    key = f"check-in-notice:{notice.pk}"
    if notice.kind == NoticeKind.PATIENT_REMINDER:
        phone = str(profile.phone) if profile is not None and profile.phone else ""
        notify(kind="check_in_reminder", recipient=Recipient.of(patient, phone=phone), dedupe_key=key)
        return
    physician = profile.assigned_physician if profile is not None else None
    seen: set[str] = set()
    if physician is not None and physician.is_active and physician.email.strip():
        seen.add(physician.email.strip().lower())
        notify(kind="check_in_overdue", recipient=Recipient.of(physician), dedupe_key=key)
    for address in settings.CARE_TEAM_ALERT_EMAILS:
        address = address.strip().lower()
        if address and address not in seen:
            seen.add(address)
            notify(kind="check_in_overdue", recipient=address, dedupe_key=key)


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
        # The outbox rows and "sent" (queued) commit together: the outbox sends them after commit.
        with transaction.atomic():
            _deliver(notice)
            CheckInNotice.objects.filter(pk=notice_id).update(status=NoticeStatus.SENT, sent_at=timezone.now())
    except Exception:
        CheckInNotice.objects.filter(pk=notice_id, status=NoticeStatus.SENDING).update(
            status=NoticeStatus.PENDING, claimed_at=None
        )
        raise
    logger.info("check-in notice queued notice_id=%s kind=%s", notice_id, notice.kind)
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
