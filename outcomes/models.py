"""Headache diary, cluster attacks, diary reminders and outcome review flags (docs/outcomes.md)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from outcomes.headache import FEATURES, MEDICATION_CLASSES


class HeadacheDiaryEntry(models.Model):
    """One patient's diary for one local date (the date in the patient's own time zone).

    One per patient and date (a constraint). `features` is a subset of the six ICHD-3 migraine
    features and `acute_medications` a list of {class, doses}; both are checked by the service
    and the input serializer, the ranges by the constraints.
    """

    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="headache_diary")
    date = models.DateField()
    headache = models.BooleanField()
    peak_pain = models.PositiveSmallIntegerField(null=True, blank=True)
    hours = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    features = models.JSONField(default=list, blank=True)
    aura = models.BooleanField(default=False)
    acute_medications = models.JSONField(default=list, blank=True)
    hours_lost = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "date"], name="diary_one_entry_per_date"),
            models.CheckConstraint(condition=Q(peak_pain__isnull=True) | Q(peak_pain__lte=10), name="diary_pain_0_10"),
            models.CheckConstraint(
                condition=Q(hours__isnull=True) | (Q(hours__gte=0) & Q(hours__lte=24)), name="diary_hours_0_24"
            ),
            models.CheckConstraint(
                condition=Q(hours_lost__isnull=True) | (Q(hours_lost__gte=0) & Q(hours_lost__lte=24)),
                name="diary_hours_lost_0_24",
            ),
        ]

    def __str__(self) -> str:
        return f"diary {self.patient_id} {self.date}"

    @property
    def medication_classes(self) -> frozenset[str]:
        return frozenset(m["class"] for m in self.acute_medications if int(m.get("doses") or 0) > 0)


class AttackSide(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"
    ALTERNATING = "alternating", "Alternating"


# ICHD-3 3.1 criterion C: ipsilateral cranial autonomic symptoms, and restlessness or agitation.
AUTONOMIC_SIGNS = (
    "lacrimation",
    "conjunctival_injection",
    "nasal_congestion",
    "rhinorrhoea",
    "eyelid_oedema",
    "forehead_facial_sweating",
    "miosis",
    "ptosis",
    "restlessness",
)
CLUSTER_TREATMENTS = ("oxygen", "triptan_injection", "triptan_nasal", "other", "none")


class AttackRelief(models.TextChoices):
    NONE = "none", "None"
    PARTIAL = "partial", "Partial"
    COMPLETE = "complete", "Complete"


class ClusterAttack(models.Model):
    """One cluster-headache attack, logged one by one (ICHD-3 3.1: 15-180 minutes untreated)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cluster_attacks")
    started_at = models.DateTimeField()
    minutes = models.PositiveSmallIntegerField()
    side = models.CharField(max_length=12, choices=AttackSide.choices)
    autonomic_signs = models.JSONField(default=list, blank=True)
    treatment = models.JSONField(default=list, blank=True)
    relief = models.CharField(max_length=10, choices=AttackRelief.choices, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["patient", "started_at"])]
        constraints = [
            # A retried submission of the same attack is the same attack.
            models.UniqueConstraint(fields=["patient", "started_at"], name="cluster_attack_once"),
            models.CheckConstraint(condition=Q(minutes__gte=1) & Q(minutes__lte=24 * 60), name="cluster_minutes"),
        ]

    def __str__(self) -> str:
        return f"cluster attack {self.public_id}"


class DiaryReminderPreference(models.Model):
    """A patient's opt-in evening diary reminder, at a wall-clock time in their own zone."""

    patient = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="diary_reminder_preference"
    )
    enabled = models.BooleanField(default=False)
    local_time = models.TimeField()
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"diary reminder {self.patient_id}"


class DiaryReminderDelivery(models.Model):
    """One diary reminder per patient and local date (a constraint): the scan's claim."""

    class Status(models.TextChoices):
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"  # the day's entry was already logged
        FAILED = "failed", "Failed"

    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    local_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENDING)
    channel = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "local_date"], name="diary_reminder_once_a_day")]

    def __str__(self) -> str:
        return f"diary reminder {self.patient_id} {self.local_date}"


class ReviewFlagKind(models.TextChoices):
    MEDICATION_OVERUSE = "medication_overuse", "Medication-overuse risk (ICHD-3 8.2)"


class ReviewFlagStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class OutcomeReviewFlag(models.Model):
    """Something in the outcomes a physician should review. Unlike a safety flag it does not hold
    dosing (docs/outcomes.md#medication-overuse). One open flag per patient and kind."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="outcome_flags")
    kind = models.CharField(max_length=30, choices=ReviewFlagKind.choices)
    status = models.CharField(max_length=10, choices=ReviewFlagStatus.choices, default=ReviewFlagStatus.OPEN)
    window_end = models.DateField(help_text="The last day of the window that showed the pattern.")
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["opened_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind"], condition=Q(status="open"), name="outcome_flag_one_open_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id}"


__all__ = [
    "AUTONOMIC_SIGNS",
    "CLUSTER_TREATMENTS",
    "FEATURES",
    "MEDICATION_CLASSES",
    "AttackRelief",
    "AttackSide",
    "ClusterAttack",
    "DiaryReminderDelivery",
    "DiaryReminderPreference",
    "HeadacheDiaryEntry",
    "OutcomeReviewFlag",
    "ReviewFlagKind",
    "ReviewFlagStatus",
]
