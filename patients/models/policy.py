"""The clinical policy of intake and monitoring, effective-dated: the row in force on a date is
the latest whose `effective_from` is on or before it (docs/policy.md). The medical director adds
a row to change a threshold from a date on; a row already in force is read-only, so every past
decision can be explained by the policy of its day."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from patients.eligibility import CONTRAINDICATIONS, PREGNANT_OR_NURSING


def default_hard_stops() -> list[str]:
    return [PREGNANT_OR_NURSING]


class ClinicalPolicy(models.Model):
    effective_from = models.DateField(unique=True, help_text="A date in the practice's time zone.")
    minimum_age = models.PositiveSmallIntegerField(default=18)
    bp_hold_systolic_above = models.PositiveSmallIntegerField(
        default=140, help_text="Hold the session when the higher systolic reading is above this."
    )
    bp_hold_diastolic_above = models.PositiveSmallIntegerField(
        default=90, help_text="Hold the session when the higher diastolic reading is above this."
    )
    bp_emergency_systolic_at = models.PositiveSmallIntegerField(
        default=180, help_text="Emergency instructions at or above this systolic reading."
    )
    bp_emergency_diastolic_at = models.PositiveSmallIntegerField(
        default=120, help_text="Emergency instructions at or above this diastolic reading."
    )
    response_drop_percent = models.PositiveSmallIntegerField(
        default=50, help_text="Response: the total dropped by at least this percentage of the baseline."
    )
    phq9_remission_below = models.PositiveSmallIntegerField(default=5, help_text="Remission: PHQ-9 total below this.")
    phq9_item9_flag_at = models.PositiveSmallIntegerField(
        default=1, help_text="PHQ-9 item 9 at or above this (1-3) opens a same-day safety flag."
    )
    hard_stop_contraindications = models.JSONField(
        default=default_hard_stops,
        help_text="Screening answers that refuse treatment outright; the others go to a physician's review.",
    )
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-effective_from"]
        verbose_name_plural = "clinical policies"
        constraints = [
            models.CheckConstraint(condition=Q(minimum_age__gte=18), name="clinical_policy_adults_only"),
            models.CheckConstraint(
                condition=Q(bp_emergency_systolic_at__gt=F("bp_hold_systolic_above"))
                & Q(bp_emergency_diastolic_at__gt=F("bp_hold_diastolic_above")),
                name="clinical_policy_emergency_above_hold",
            ),
            models.CheckConstraint(
                condition=Q(response_drop_percent__gte=1, response_drop_percent__lte=100),
                name="clinical_policy_response_percent",
            ),
            models.CheckConstraint(
                condition=Q(phq9_item9_flag_at__gte=1, phq9_item9_flag_at__lte=3),
                name="clinical_policy_item9_1_3",
            ),
        ]

    def __str__(self) -> str:
        return f"Clinical policy from {self.effective_from}"

    def clean(self):
        stops = self.hard_stop_contraindications
        if not isinstance(stops, list) or not all(isinstance(code, str) for code in stops):
            raise ValidationError({"hard_stop_contraindications": "A list of screening codes."})
        unknown = sorted(set(stops) - set(CONTRAINDICATIONS))
        if unknown:
            raise ValidationError({"hard_stop_contraindications": f"Unknown screening codes: {', '.join(unknown)}."})
        if PREGNANT_OR_NURSING not in stops:
            # Pregnancy and nursing stay a hard stop (docs/safety.md#screening): ketamine is not
            # offered then, whatever else the policy changes.
            raise ValidationError({"hard_stop_contraindications": "Pregnancy or nursing is always a hard stop."})
