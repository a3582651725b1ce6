"""Reads of the outcomes app, scoped to the caller (outside scope: 404), and the summary read model.

The other apps are reached only through their contracts: the patient's zone and the care-team
scope (patients.selectors), the first signed prescription (prescriptions.selectors), PHQ-9/PEG-3
history and vitals (patients.selectors).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts import scopes
from accounts.models import User
from accounts.scopes import Capability
from api.errors import NotFound
from outcomes import headache
from outcomes.models import (
    ClusterAttack,
    DiaryReminderPreference,
    HeadacheDiaryEntry,
    OutcomeReviewFlag,
    ReviewFlagKind,
    ReviewFlagStatus,
)
from outcomes.policy import OutcomesPolicy, outcomes_policy
from patients.scoring import INSTRUMENTS, PEG3
from patients.selectors import patient_location, patient_time_zones, patient_visible_to, questionnaire_history
from prescriptions.selectors import first_signed_prescriptions_at


# --- the patient's clock --------------------------------------------------------------------
def _zone_named(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or settings.PRACTICE_TIME_ZONE)
    except (KeyError, ValueError):
        return ZoneInfo(settings.PRACTICE_TIME_ZONE)


def patient_zone(*, patient: User) -> ZoneInfo:
    """The patient's own zone (from their verified address), else the practice's."""
    location = patient_location(patient=patient)
    return _zone_named(location.time_zone if location else "")


def patient_zones(*, patient_ids: list[int]) -> dict[int, ZoneInfo]:
    """patient_zone for many patients in one query."""
    names = patient_time_zones(patient_ids=patient_ids)
    return {pid: _zone_named(names.get(pid)) for pid in patient_ids}


def patient_today(*, patient: User, zone: ZoneInfo | None = None) -> date:
    return timezone.now().astimezone(zone or patient_zone(patient=patient)).date()


# --- treatment start and the baseline -------------------------------------------------------
@dataclass(frozen=True)
class TreatmentStart:
    on: date  # the local date treatment started (in the patient's zone)
    source: str  # "first_session" or "first_signed_prescription"


def treatment_starts(*, patient_ids: list[int], zones: dict[int, ZoneInfo]) -> dict[int, TreatmentStart]:
    """When treatment started for each patient, for the baseline (the 28 days before it):
    docs/outcomes.md#baseline. This is the only place that decides it.

    The first dosing session's local date (the patient's zone on that day) once the patient has
    dosed, asked of the treatment app through `settings.OUTCOMES_FIRST_SESSION_DATES` (a sibling
    app: outcomes does not import it); before that, the local date (in `zones`) of the first
    signed prescription. Patients with neither are absent. Two queries (one without the setting)."""
    starts: dict[int, TreatmentStart] = {}
    path = getattr(settings, "OUTCOMES_FIRST_SESSION_DATES", "")
    if path and patient_ids:
        for pid, on in import_string(path)(patient_ids=list(patient_ids)).items():
            starts[pid] = TreatmentStart(on=on, source="first_session")
    # Asked for every patient (not only those without a session): the same queries for any page.
    for pid, signed_at in first_signed_prescriptions_at(patient_ids=list(patient_ids)).items():
        if pid not in starts:
            zone = zones.get(pid) or _zone_named(None)
            starts[pid] = TreatmentStart(on=signed_at.astimezone(zone).date(), source="first_signed_prescription")
    return starts


def treatment_start(*, patient: User, zone: ZoneInfo | None = None) -> TreatmentStart | None:
    """treatment_starts for one patient."""
    zone = zone or patient_zone(patient=patient)
    return treatment_starts(patient_ids=[patient.pk], zones={patient.pk: zone}).get(patient.pk)


# --- diary ----------------------------------------------------------------------------------
def diary_entries(*, patient: User, start: date | None = None, end: date | None = None) -> QuerySet[HeadacheDiaryEntry]:
    entries = HeadacheDiaryEntry.objects.filter(patient=patient)
    if start:
        entries = entries.filter(date__gte=start)
    if end:
        entries = entries.filter(date__lte=end)
    return entries.order_by("date")


def diary_days(*, patient: User, start: date, end: date) -> dict[date, headache.Day]:
    return {e.date: day_of(e) for e in diary_entries(patient=patient, start=start, end=end)}


def day_of(entry: HeadacheDiaryEntry) -> headache.Day:
    return headache.Day(
        headache=entry.headache,
        features=frozenset(entry.features or ()),
        aura=entry.aura,
        medication_classes=entry.medication_classes,
    )


def cluster_attacks(*, patient: User, start: datetime | None = None, end: datetime | None = None):
    attacks = ClusterAttack.objects.filter(patient=patient)
    if start:
        attacks = attacks.filter(started_at__gte=start)
    if end:
        attacks = attacks.filter(started_at__lt=end)
    return attacks.order_by("-started_at", "-id")


def reminder_preference(*, patient: User) -> DiaryReminderPreference | None:
    return DiaryReminderPreference.objects.filter(patient=patient).first()


# --- the summary ----------------------------------------------------------------------------
@dataclass(frozen=True)
class HeadacheSummary:
    end: date
    time_zone: str
    current: headache.Window
    treatment: TreatmentStart | None
    baseline: headache.Window | None
    change_headache_pct: float | None
    change_migraine_pct: float | None
    responders: dict[int, headache.Verdict]
    pattern_windows: list[headache.Window]
    chronic_migraine_pattern: bool
    medication_overuse_risk: bool
    months: list[headache.Window]
    cluster_weeks: list[tuple[date, date, int]]
    open_review_flags: list[str]
    peg3: PegProgress | None = None


@dataclass(frozen=True)
class PegProgress:
    baseline_score: float
    latest_score: float
    latest_taken_at: datetime
    change: float


def peg3_progress(*, patient: User) -> PegProgress | None:
    """The PEG-3 baseline (the first response) and the latest, as scores (means). One query."""
    rows = list(questionnaire_history(patient=patient, instrument=PEG3).values_list("total", "taken_at", "is_baseline"))
    if not rows:
        return None
    spec = INSTRUMENTS[PEG3]
    latest_total, latest_at, _ = rows[0]
    baseline_total = next((t for t, _, b in rows if b), rows[-1][0])
    return PegProgress(
        baseline_score=spec.score_of(baseline_total),
        latest_score=spec.score_of(latest_total),
        latest_taken_at=latest_at,
        change=spec.score_of(latest_total - baseline_total),
    )


def headache_summary(
    *, patient: User, end: date | None = None, policy: OutcomesPolicy | None = None, zone: ZoneInfo | None = None
) -> HeadacheSummary:
    """The 28-day window ending on `end` (default: the patient's today) with its baseline,
    responder verdicts, ICHD-3 patterns, the `months` series and weekly cluster attacks.
    A constant number of queries: the diary over the whole span is read once."""
    policy = policy or outcomes_policy()
    zone = zone or patient_zone(patient=patient)
    end = end or patient_today(patient=patient, zone=zone)
    start_t = treatment_start(patient=patient, zone=zone)
    baseline_end = headache.baseline_window_end(start_t.on) if start_t else None

    span_windows = max(policy.summary_windows, policy.pattern_windows)
    earliest = end - timedelta(days=policy.window_days * span_windows - 1)
    if baseline_end:
        earliest = min(earliest, baseline_end - timedelta(days=policy.window_days - 1))
    latest = max(end, baseline_end) if baseline_end else end
    diary = diary_days(patient=patient, start=earliest, end=latest)

    current = headache.summarize_window(diary, end=end, policy=policy)
    baseline = headache.summarize_window(diary, end=baseline_end, policy=policy) if baseline_end else None
    responders = {level: headache.responder(current, baseline, level=level) for level in headache.RESPONDER_LEVELS}
    pattern = headache.trailing_windows(diary, end=end, count=policy.pattern_windows, policy=policy)
    months = headache.trailing_windows(diary, end=end, count=policy.summary_windows, policy=policy)

    # Cluster attacks: counted on the local date each started, in 7-day blocks of the window.
    span_start = datetime.combine(current.start, datetime.min.time(), tzinfo=zone)
    span_end = datetime.combine(current.end + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    attack_dates = [
        t.astimezone(zone).date()
        for t in cluster_attacks(patient=patient, start=span_start, end=span_end).values_list("started_at", flat=True)
    ]
    flags = list(
        OutcomeReviewFlag.objects.filter(patient=patient, status=ReviewFlagStatus.OPEN).values_list("kind", flat=True)
    )
    return HeadacheSummary(
        end=end,
        time_zone=str(zone.key),
        current=current,
        treatment=start_t,
        baseline=baseline,
        change_headache_pct=headache.change_pct(
            current.headache_days_per_28, baseline.headache_days_per_28 if baseline else None
        ),
        change_migraine_pct=headache.change_pct(
            current.migraine_days_per_28, baseline.migraine_days_per_28 if baseline else None
        ),
        responders=responders,
        pattern_windows=pattern,
        chronic_migraine_pattern=headache.chronic_migraine_pattern(pattern, policy=policy),
        medication_overuse_risk=headache.medication_overuse_risk(pattern, policy=policy),
        months=months,
        cluster_weeks=headache.weekly_counts(attack_dates, start=current.start, end=current.end),
        open_review_flags=flags,
        peg3=peg3_progress(patient=patient),
    )


# --- care team ------------------------------------------------------------------------------
def patient_for_care_team(*, viewer: User, patient_public_id) -> User:
    """The patient's chart scope (docs/roles-and-access.md): a physician their caseload, the
    medical director every patient, anyone else nothing (404): the patients app's scope, reused."""
    return patient_visible_to(viewer=viewer, patient_public_id=patient_public_id)


def review_flag_list(*, viewer: User) -> QuerySet[OutcomeReviewFlag]:
    """Open outcome review flags of the patients whose chart the viewer may see."""
    flags = OutcomeReviewFlag.objects.filter(status=ReviewFlagStatus.OPEN).select_related("patient")
    scope = scopes.patient_q(viewer, Capability.CLINICAL, patient="patient")
    if scope is None:
        return flags.none()
    return flags.filter(scope).order_by("opened_at", "id")


def review_flag_for_physician(*, viewer: User, flag_public_id) -> OutcomeReviewFlag:
    flag = (
        OutcomeReviewFlag.objects.filter(public_id=flag_public_id, patient__patient_profile__assigned_physician=viewer)
        .select_related("patient")
        .first()
    )
    if flag is None or not viewer.is_physician:
        raise NotFound()
    return flag


MEDICATION_OVERUSE = ReviewFlagKind.MEDICATION_OVERUSE
