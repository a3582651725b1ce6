"""Before a prescribing-policy switch: tell the care team every day how many patients are not
ready, and each such patient once (docs/prescribing-basis.md#readiness).

Sending follows the claim, send, mark pattern: a row is written first (unique per date, or per
patient and switch), claimed with a compare-and-swap, sent outside any transaction, then marked.
A scan that runs twice, or a worker killed mid-send, sends nothing twice; a row stuck in
`sending` past STALE goes back to pending and the next daily run (or a re-run) sends it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.notifications import send_email
from api.clock import practice_date
from careteam.models import ReadinessDigest, ReadinessNotice, SendStatus
from careteam.readiness import Worklist, next_policy_switch, readiness_worklist
from prescriptions.policy import policy_on

logger = logging.getLogger(__name__)

STALE = timedelta(minutes=30)
MAX_ATTEMPTS = 5
PATIENT_SUBJECT = "Please book your in-person visit"
PATIENT_TEXT = "Please book your in-person visit with your physician. Open the app to choose a time."


@dataclass(frozen=True)
class WatchResult:
    switch_on: object  # date | None
    digest_sent: bool
    notices_sent: int


def digest_text(worklist: Worklist, switch_on) -> str:
    counts = worklist.counts()
    totals = counts["totals"]
    lines = [
        f"Prescribing readiness for {switch_on.isoformat()} (the first day a telemedicine prescription",
        "needs an in-person evaluation or another lawful basis).",
        "",
        f"Patients on active treatment: {totals['total']}; ready: {totals['ready']}; not ready: {totals['not_ready']}.",
        "",
        "By state:",
        *[f"  {s['state']}: {s['not_ready']} not ready of {s['total']}" for s in counts["by_state"]],
        "",
        "By physician:",
        *[f"  {p['physician_name']}: {p['not_ready']} not ready of {p['total']}" for p in counts["by_physician"]],
        "",
        "The worklist with names is in the staff API: /api/v1/staff/prescribing-readiness/",
    ]
    return "\n".join(lines)


def _claim(model, pk: int, now: datetime) -> bool:
    return (
        model.objects.filter(pk=pk, status=SendStatus.PENDING).update(
            status=SendStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
        == 1
    )


def _mark(model, pk: int, *, ok: bool, now: datetime, attempts: int) -> None:
    if ok:
        model.objects.filter(pk=pk, status=SendStatus.SENDING).update(status=SendStatus.SENT, sent_at=now)
    else:
        status = SendStatus.FAILED if attempts >= MAX_ATTEMPTS else SendStatus.PENDING
        model.objects.filter(pk=pk, status=SendStatus.SENDING).update(status=status)


def _release_stale(now: datetime) -> None:
    for model in (ReadinessDigest, ReadinessNotice):
        model.objects.filter(status=SendStatus.SENDING, claimed_at__lt=now - STALE).update(status=SendStatus.PENDING)


def _send_digest(digest: ReadinessDigest, text: str, now: datetime) -> bool:
    if not _claim(ReadinessDigest, digest.pk, now):
        return False
    try:
        send_email(to=list(settings.CARE_TEAM_ALERT_EMAILS), subject="Prescribing readiness", body=text)
    except Exception:
        logger.exception("readiness digest send failed digest=%s", digest.pk)
        _mark(ReadinessDigest, digest.pk, ok=False, now=now, attempts=digest.attempts + 1)
        return False
    _mark(ReadinessDigest, digest.pk, ok=True, now=now, attempts=digest.attempts + 1)
    return True


def _send_notice(notice: ReadinessNotice, now: datetime) -> bool:
    if not _claim(ReadinessNotice, notice.pk, now):
        return False
    try:
        # The text names no condition, medicine or date: it is safe on a lock screen.
        send_email(to=notice.patient.email, subject=PATIENT_SUBJECT, body=PATIENT_TEXT)
    except Exception:
        logger.exception("readiness notice send failed notice=%s", notice.pk)
        _mark(ReadinessNotice, notice.pk, ok=False, now=now, attempts=notice.attempts + 1)
        return False
    _mark(ReadinessNotice, notice.pk, ok=True, now=now, attempts=notice.attempts + 1)
    return True


def readiness_watch(*, now: datetime | None = None) -> WatchResult:
    """The daily beat job. Inside the notice window of the next policy switch (the policy's
    `readiness_notice_days`, 45 by default, up to and including the switch day): write and send
    today's digest once, and one notice to each patient not ready on the switch day."""
    now = now or timezone.now()
    today = practice_date(now)
    _release_stale(now)
    switch_on = next_policy_switch(after=today - timedelta(days=1))
    if switch_on is None:
        return WatchResult(None, False, 0)
    notice_days = policy_on(today).readiness_notice_days
    if not (switch_on - timedelta(days=notice_days) <= today <= switch_on):
        return WatchResult(switch_on, False, 0)
    worklist = readiness_worklist(viewer=None, on=switch_on, today=today)
    with transaction.atomic():
        digest, _ = ReadinessDigest.objects.get_or_create(
            date=today, defaults={"switch_on": switch_on, "counts": worklist.counts()}
        )
        not_ready = {row.prescription.patient_id for row in worklist.rows if not row.ready}
        existing = set(
            ReadinessNotice.objects.filter(switch_on=switch_on, patient_id__in=not_ready).values_list(
                "patient_id", flat=True
            )
        )
        ReadinessNotice.objects.bulk_create(
            [ReadinessNotice(patient_id=pid, switch_on=switch_on) for pid in sorted(not_ready - existing)],
            ignore_conflicts=True,
        )
    digest_sent = digest.status == SendStatus.PENDING and _send_digest(digest, digest_text(worklist, switch_on), now)
    sent = 0
    pending = ReadinessNotice.objects.filter(switch_on=switch_on, status=SendStatus.PENDING).select_related("patient")
    for notice in pending:
        sent += _send_notice(notice, now)
    logger.info("readiness watch switch_on=%s digest_sent=%s notices_sent=%d", switch_on, digest_sent, sent)
    return WatchResult(switch_on, digest_sent, sent)
