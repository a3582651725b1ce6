"""The headache columns of the physician's caseload, published to scheduling through its
extension point (scheduling/caseload_columns.py, `settings.SCHEDULING_CASELOAD_COLUMNS`):
docs/outcomes.md#caseload.

For a page of patients in four queries whatever its size (zones, first sessions, first signed
prescriptions, the diary days of both windows): the 28-day window ending on each patient's local
today against the baseline, with the same arithmetic as the headache summary
(`outcomes.headache`), so a row and `.../headache-summary/` never disagree.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone
from rest_framework import serializers

from outcomes import headache
from outcomes.models import HeadacheDiaryEntry
from outcomes.policy import outcomes_policy
from outcomes.selectors import day_of, patient_zones, treatment_starts
from scheduling.caseload_columns import CaseloadColumns

EMPTY = {
    "headache_days_last_28": None,
    "headache_days_logged_last_28": 0,
    "baseline_headache_days": None,
    "headache_days_change_pct": None,
    "responder_50": headache.NO_BASELINE,
    "responder_75": headache.NO_BASELINE,
}


def caseload_headache_columns(*, patient_ids: list[int], now: datetime | None = None) -> dict[int, dict]:
    """Per patient: headache days in the 28 days ending on their local today (null when none was
    logged: a missing day is never headache-free), the days logged, the baseline window's headache
    days, the change of the per-28-day rate (percent, negative is better) and the responder
    verdicts at 50 % and 75 % (docs/outcomes.md#responders-ihs-clinical-trial-guidelines)."""
    now = now or timezone.now()
    policy = outcomes_policy()
    patient_ids = list(patient_ids)
    result = {pid: dict(EMPTY) for pid in patient_ids}
    if not patient_ids:
        return result
    zones = patient_zones(patient_ids=patient_ids)
    starts = treatment_starts(patient_ids=patient_ids, zones=zones)
    ends = {pid: now.astimezone(zones[pid]).date() for pid in patient_ids}
    baseline_ends = {pid: headache.baseline_window_end(start.on) for pid, start in starts.items()}

    span = timedelta(days=policy.window_days - 1)
    wanted = Q()
    for pid in patient_ids:
        wanted |= Q(patient_id=pid, date__gte=ends[pid] - span, date__lte=ends[pid])
        if pid in baseline_ends:
            wanted |= Q(patient_id=pid, date__gte=baseline_ends[pid] - span, date__lte=baseline_ends[pid])
    diaries: dict[int, dict] = {pid: {} for pid in patient_ids}
    entries = HeadacheDiaryEntry.objects.filter(wanted).only(
        "patient", "date", "headache", "features", "aura", "acute_medications"
    )
    for entry in entries:
        diaries[entry.patient_id][entry.date] = day_of(entry)

    for pid in patient_ids:
        current = headache.summarize_window(diaries[pid], end=ends[pid], policy=policy)
        baseline = (
            headache.summarize_window(diaries[pid], end=baseline_ends[pid], policy=policy)
            if pid in baseline_ends
            else None
        )
        result[pid] = {
            "headache_days_last_28": current.headache_days if current.days_logged else None,
            "headache_days_logged_last_28": current.days_logged,
            "baseline_headache_days": baseline.headache_days if baseline and baseline.days_logged else None,
            "headache_days_change_pct": headache.change_pct(
                current.headache_days_per_28, baseline.headache_days_per_28 if baseline else None
            ),
            "responder_50": headache.responder(current, baseline, level=50).status,
            "responder_75": headache.responder(current, baseline, level=75).status,
        }
    return result


def _fields() -> dict:
    verdict = (
        "`responder`, `non_responder`, `insufficient_data` (a window with fewer than 21 logged days) or "
        "`no_baseline` (treatment has not started)."
    )
    return {
        "headache_days_last_28": serializers.IntegerField(
            allow_null=True,
            help_text="Headache days in the 28 local days ending today (patient's zone); null when none was logged.",
        ),
        "headache_days_logged_last_28": serializers.IntegerField(
            allow_null=True, help_text="Diary days logged in that window (missing days are not headache-free)."
        ),
        "baseline_headache_days": serializers.IntegerField(
            allow_null=True,
            help_text="Headache days in the baseline (the 28 days before treatment start); null without one.",
        ),
        "headache_days_change_pct": serializers.FloatField(
            allow_null=True,
            help_text="Percent change of headache days per 28 logged days from the baseline (negative is better).",
        ),
        "responder_50": serializers.ChoiceField(
            choices=headache.VERDICTS, allow_null=True, help_text=f"At least a 50 % fall from baseline: {verdict}"
        ),
        "responder_75": serializers.ChoiceField(
            choices=headache.VERDICTS, allow_null=True, help_text=f"At least a 75 % fall from baseline: {verdict}"
        ),
    }


def _load(*, patient_ids: list[int], now) -> dict[int, dict]:
    return caseload_headache_columns(patient_ids=patient_ids, now=now)


# What the columns are computed from (the treatment start: the first session, else the first signed
# prescription; the patient's zone is the profile's, an input of every row). They change with the
# clock only at the patient's local midnight, when every caseload row expires anyway
# (docs/caseload.md#time), so no `valid_until`.
INPUTS = (
    ("outcomes.HeadacheDiaryEntry", "patient_id"),
    ("treatment.DosingSession", "patient_id"),
    ("prescriptions.Prescription", "patient_id"),
)

COLUMNS = CaseloadColumns(fields=_fields, load=_load, inputs=INPUTS)
