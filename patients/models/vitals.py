from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

# Plausible seated readings; outside these the cuff or the typing is wrong, not the patient.
SYSTOLIC_RANGE = (60, 260)
DIASTOLIC_RANGE = (30, 160)


class CheckOutcome(models.TextChoices):
    GO = "go", "Go"
    HOLD = "hold", "Hold"
    EMERGENCY = "emergency", "Emergency"


class PreSessionCheck(models.Model):
    """The gate before each at-home session (docs/safety.md#blood-pressure): two seated blood-pressure readings after
    5 minutes' rest and the treatment monitor's attestation. `judged_*` are the values the
    outcome was decided on (the higher systolic and the higher diastolic of the two readings)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pre_session_checks")
    checked_at = models.DateTimeField(default=timezone.now, db_index=True)
    rested_5_minutes = models.BooleanField()
    monitor_present = models.BooleanField()
    monitor_adult = models.BooleanField()
    monitor_sober = models.BooleanField()
    judged_systolic = models.PositiveSmallIntegerField()
    judged_diastolic = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=10, choices=CheckOutcome.choices)
    reasons = models.JSONField(default=list, blank=True, help_text="Reason codes behind a hold or emergency.")

    class Meta:
        ordering = ["-checked_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(outcome__in=CheckOutcome.values), name="presessioncheck_outcome"),
        ]

    def __str__(self) -> str:
        return f"pre-session check {self.public_id}"


class VitalReading(models.Model):
    """One blood-pressure reading in the patient's vitals history."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="vital_readings")
    measured_at = models.DateTimeField(default=timezone.now, db_index=True)
    systolic = models.PositiveSmallIntegerField()
    diastolic = models.PositiveSmallIntegerField()
    pre_session_check = models.ForeignKey(
        PreSessionCheck, null=True, blank=True, on_delete=models.PROTECT, related_name="readings"
    )
    sequence = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["-measured_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(systolic__gte=SYSTOLIC_RANGE[0], systolic__lte=SYSTOLIC_RANGE[1]),
                name="vitalreading_systolic_plausible",
            ),
            models.CheckConstraint(
                condition=models.Q(diastolic__gte=DIASTOLIC_RANGE[0], diastolic__lte=DIASTOLIC_RANGE[1]),
                name="vitalreading_diastolic_plausible",
            ),
            models.CheckConstraint(
                condition=models.Q(systolic__gt=models.F("diastolic")), name="vitalreading_systolic_above_diastolic"
            ),
        ]

    def __str__(self) -> str:
        return f"vital reading {self.public_id}"
