"""Writes of the outcomes app: diary entries, cluster attacks, reminder preferences, review flags.

Each service is atomic, validates with full_clean and writes its audit row in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from outcomes import headache, selectors
from outcomes.errors import FieldInvalid, FlagAlreadyResolved
from outcomes.models import (
    ClusterAttack,
    DiaryReminderPreference,
    HeadacheDiaryEntry,
    OutcomeReviewFlag,
    ReviewFlagKind,
    ReviewFlagStatus,
)
from outcomes.policy import outcomes_policy

DIARY_FIELDS = ("headache", "peak_pain", "hours", "features", "aura", "acute_medications", "hours_lost")


@dataclass(frozen=True)
class DiaryWrite:
    entry: HeadacheDiaryEntry
    created: bool
    review_flag: OutcomeReviewFlag | None  # the open medication-overuse flag, when the diary shows the risk


def _lock_patient(patient: User) -> None:
    # Serialises one patient's writes (the upsert and the flag check). SQLite's IMMEDIATE
    # transactions already serialise writers.
    User.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True).first()


@transaction.atomic
def diary_entry_put(*, actor: User, patient: User, on: date, data: dict, request=None) -> DiaryWrite:
    """Create or replace the patient's entry for the local date `on`.

    Refused (400, `fields.date`): a date after the patient's today (`date_in_future`), or more
    than OUTCOMES_DIARY_EDIT_DAYS before it (`edit_window_closed`). "Today" is the patient's own
    local date: at 11 pm in Pensacola it is still yesterday in UTC's terms.
    """
    policy = outcomes_policy()
    zone = selectors.patient_zone(patient=patient)
    today = selectors.patient_today(patient=patient, zone=zone)
    if on > today:
        raise FieldInvalid("date", "date_in_future", "A diary day cannot be in the future.")
    if on < today - timedelta(days=policy.diary_edit_days):
        raise FieldInvalid(
            "date", "edit_window_closed", f"Diary days can be written for {policy.diary_edit_days} days only."
        )
    _lock_patient(patient)
    entry = HeadacheDiaryEntry.objects.filter(patient=patient, date=on).first()
    created = entry is None
    if created:
        entry = HeadacheDiaryEntry(patient=patient, date=on)
    values = {
        "peak_pain": None,
        "hours": None,
        "features": [],
        "aura": False,
        "acute_medications": [],
        "hours_lost": None,
        **{k: v for k, v in data.items() if k in DIARY_FIELDS},
    }
    for name, value in values.items():
        setattr(entry, name, value)
    entry.features = sorted(set(entry.features), key=headache.FEATURES.index)
    entry.updated_at = timezone.now()
    entry.full_clean(validate_constraints=False)
    entry.save()
    audit_log(request, AuditAction.CREATE if created else AuditAction.UPDATE, entry, actor=actor)
    flag = medication_overuse_review(patient=patient, end=today, request=request)
    return DiaryWrite(entry=entry, created=created, review_flag=flag)


def medication_overuse_review(*, patient: User, end: date, request=None) -> OutcomeReviewFlag | None:
    """Open (once) a medication-overuse review flag when each of the last windows ending on `end`
    meets ICHD-3 8.2's day counts. It asks a physician to review; it never holds dosing."""
    policy = outcomes_policy()
    first = end - timedelta(days=policy.window_days * policy.pattern_windows - 1)
    diary = selectors.diary_days(patient=patient, start=first, end=end)
    windows = headache.trailing_windows(diary, end=end, count=policy.pattern_windows, policy=policy)
    kind = ReviewFlagKind.MEDICATION_OVERUSE
    open_flag = OutcomeReviewFlag.objects.filter(patient=patient, kind=kind, status=ReviewFlagStatus.OPEN).first()
    if not headache.medication_overuse_risk(windows, policy=policy):
        return None
    if open_flag is not None:
        return open_flag
    flag = OutcomeReviewFlag(patient=patient, kind=kind, window_end=end)
    flag.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            flag.save()
    except IntegrityError:  # opened by a concurrent write a moment ago
        return OutcomeReviewFlag.objects.get(patient=patient, kind=kind, status=ReviewFlagStatus.OPEN)
    audit_log(request, AuditAction.CREATE, flag, actor=None)
    return flag


@transaction.atomic
def review_flag_resolve(*, actor: User, flag: OutcomeReviewFlag, request=None) -> OutcomeReviewFlag:
    flag = OutcomeReviewFlag.objects.select_for_update().get(pk=flag.pk)
    if flag.status != ReviewFlagStatus.OPEN:
        raise FlagAlreadyResolved()
    flag.status = ReviewFlagStatus.RESOLVED
    flag.resolved_at = timezone.now()
    flag.resolved_by = actor
    flag.full_clean(validate_constraints=False)
    flag.save()
    audit_log(request, AuditAction.UPDATE, flag, actor=actor)
    return flag


@dataclass(frozen=True)
class AttackWrite:
    attack: ClusterAttack
    created: bool


# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=5)


@transaction.atomic
def cluster_attack_log(*, actor: User, patient: User, data: dict, request=None) -> AttackWrite:
    """Log one attack. The same start again is the same attack (a retry): the stored one is
    returned. A start in the future is refused (`started_in_future`)."""
    started_at: datetime = data["started_at"]
    if started_at > timezone.now() + CLOCK_SKEW:
        raise FieldInvalid("started_at", "started_in_future", "An attack cannot start in the future.")
    _lock_patient(patient)
    existing = ClusterAttack.objects.filter(patient=patient, started_at=started_at).first()
    if existing is not None:
        return AttackWrite(existing, created=False)
    attack = ClusterAttack(patient=patient, **data)
    attack.full_clean(validate_constraints=False)
    attack.save()
    audit_log(request, AuditAction.CREATE, attack, actor=actor)
    return AttackWrite(attack, created=True)


@transaction.atomic
def reminder_preference_set(*, patient: User, enabled: bool, local_time, request=None) -> DiaryReminderPreference:
    pref, _ = DiaryReminderPreference.objects.get_or_create(
        patient=patient, defaults={"enabled": enabled, "local_time": local_time}
    )
    pref.enabled = enabled
    pref.local_time = local_time
    pref.updated_at = timezone.now()
    pref.full_clean()
    pref.save()
    return pref
