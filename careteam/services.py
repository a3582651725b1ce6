"""Before a prescribing-policy switch: tell the care team every day how many patients are not
ready, and each such patient once (docs/prescribing-basis.md#readiness).

Each message is a `ReadinessDigest` (unique per date) or `ReadinessNotice` (unique per patient
and switch) written in the same transaction as its outbox delivery (`notifications.notify`,
dedupe keys per date and per patient and switch): a run repeated the same day, or a worker killed
mid-run, sends nothing twice; the outbox sends, retries and sweeps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from api.clock import practice_date
from careteam.models import ReadinessDigest, ReadinessNotice
from careteam.readiness import Worklist, next_policy_switch, readiness_worklist
from notifications.services import Recipient, notify
from patients.models import PatientProfile
from prescriptions.policy import policy_on

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchResult:
    switch_on: object  # date | None
    digest_written: bool
    notices_written: int


def digest_lines(worklist: Worklist) -> str:
    counts = worklist.counts()
    totals = counts["totals"]
    return "\n".join(
        [
            f"Patients on active treatment: {totals['total']}; ready: {totals['ready']}; "
            f"not ready: {totals['not_ready']}.",
            "",
            "By state:",
            *[f"  {s['state']}: {s['not_ready']} not ready of {s['total']}" for s in counts["by_state"]],
            "",
            "By physician:",
            *[f"  {p['physician_name']}: {p['not_ready']} not ready of {p['total']}" for p in counts["by_physician"]],
        ]
    )


def readiness_watch(*, now: datetime | None = None) -> WatchResult:
    """The daily beat job. Inside the notice window of the next policy switch (the policy's
    `readiness_notice_days`, 45 by default, up to and including the switch day): today's digest
    once, and one notice to each patient not ready on the switch day."""
    now = now or timezone.now()
    today = practice_date(now)
    switch_on = next_policy_switch(after=today - timedelta(days=1))
    if switch_on is None:
        return WatchResult(None, False, 0)
    notice_days = policy_on(today).readiness_notice_days
    if not (switch_on - timedelta(days=notice_days) <= today <= switch_on):
        return WatchResult(switch_on, False, 0)
    worklist = readiness_worklist(viewer=None, on=switch_on, today=today)
    not_ready = {row.prescription.patient_id: row.prescription.patient for row in worklist.rows if not row.ready}
    with transaction.atomic():
        digest, digest_written = ReadinessDigest.objects.get_or_create(
            date=today, defaults={"switch_on": switch_on, "counts": worklist.counts()}
        )
        if digest_written:
            for address in settings.CARE_TEAM_ALERT_EMAILS:
                notify(
                    kind="readiness_digest",
                    recipient=address,
                    context={"switch_on": switch_on.isoformat(), "lines": digest_lines(worklist)},
                    dedupe_key=f"readiness-digest:{today.isoformat()}",
                )
        existing = set(
            ReadinessNotice.objects.filter(switch_on=switch_on, patient_id__in=not_ready).values_list(
                "patient_id", flat=True
            )
        )
        new = sorted(set(not_ready) - existing)
        ReadinessNotice.objects.bulk_create([ReadinessNotice(patient_id=pid, switch_on=switch_on) for pid in new])
        phones = _phones(new)
        for pid in new:
            notify(
                kind="in_person_visit_needed",
                recipient=Recipient.of(not_ready[pid], phone=phones.get(pid)),
                dedupe_key=f"readiness-notice:{pid}:{switch_on.isoformat()}",
            )
    logger.info("readiness watch switch_on=%s digest=%s notices=%d", switch_on, digest_written, len(new))
    return WatchResult(switch_on, digest_written, len(new))


def _phones(patient_ids: list[int]) -> dict[int, str]:
    return {
        pid: str(phone)
        for pid, phone in PatientProfile.objects.filter(user_id__in=patient_ids).values_list("user_id", "phone")
        if phone
    }
