from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.encryption import EncryptedTextField


class SafetyFlagKind(models.TextChoices):
    PHQ9_ITEM9 = "phq9_item9", "PHQ-9 item 9 positive"
    SCREENING_REVIEW = "screening_review", "Screening answers need physician review"
    BP_HOLD = "bp_hold", "Blood pressure above the hold threshold"
    BP_EMERGENCY = "bp_emergency", "Blood pressure at the emergency threshold"
    # Raised by post-session check-ins (treatment app, docs/treatment.md#check-ins).
    SEVERE_DISSOCIATION = "severe_dissociation", "Severe dissociation after a session"
    URINARY_SYMPTOMS = "urinary_symptoms", "Urinary pain or blood in the urine (possible ketamine cystitis)"
    # Raised by a patient's message with crisis words (messaging app, docs/messaging.md#crisis-words).
    MESSAGE_CRISIS = "message_crisis", "Crisis words in a message to the care team"


class SafetyFlagStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class SafetyFlag(models.Model):
    """Something a physician must look at before the next dose. While any flag is open, dosing
    is held: the pre-session check answers `hold` and prescriptions refuse to sign.

    One source opens at most one flag (one-to-one links to the questionnaire, assessment or
    pre-session check that raised it), and a patient has at most one open flag per kind: a new
    trigger while one is open attaches to it (`trigger_count`, `last_triggered_at`) instead of
    opening another and alerting again. Only a physician on the patient's caseload resolves a
    flag, with a note (encrypted at rest).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="safety_flags")
    kind = models.CharField(max_length=32, choices=SafetyFlagKind.choices)
    status = models.CharField(max_length=10, choices=SafetyFlagStatus.choices, default=SafetyFlagStatus.OPEN)
    opened_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_triggered_at = models.DateTimeField(default=timezone.now)
    trigger_count = models.PositiveIntegerField(default=1)
    source_questionnaire = models.OneToOneField(
        "patients.QuestionnaireResponse", null=True, blank=True, on_delete=models.PROTECT, related_name="opened_flag"
    )
    source_assessment = models.OneToOneField(
        "patients.Assessment", null=True, blank=True, on_delete=models.PROTECT, related_name="opened_flag"
    )
    source_check = models.OneToOneField(
        "patients.PreSessionCheck", null=True, blank=True, on_delete=models.PROTECT, related_name="opened_flag"
    )
    alerted_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution_note = EncryptedTextField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=SafetyFlagKind.values), name="safetyflag_kind_valid"),
            models.UniqueConstraint(
                fields=["patient", "kind"],
                condition=models.Q(status="open"),
                name="safetyflag_one_open_per_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(status="open", resolved_at__isnull=True, resolved_by__isnull=True)
                | models.Q(status="resolved", resolved_at__isnull=False, resolved_by__isnull=False),
                name="safetyflag_resolution_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"safety flag {self.public_id}"

    @property
    def is_open(self) -> bool:
        return self.status == SafetyFlagStatus.OPEN


class AlertDelivery(models.Model):
    """History only: alerts sent before they moved to the notifications outbox (kind
    `safety_alert`, dedupe key `safety-flag:<id>`). Nothing writes these rows any more; a later
    migration can drop the table once the history is no longer wanted."""

    flag = models.ForeignKey(SafetyFlag, on_delete=models.PROTECT, related_name="alert_deliveries")
    channel = models.CharField(max_length=10, default="email")
    recipient = models.CharField(max_length=254)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flag", "channel", "recipient"], name="alertdelivery_once"),
        ]

    def __str__(self) -> str:
        return f"alert for flag #{self.flag_id} via {self.channel}"
