from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from encrypted_fields.fields import EncryptedTextField


class ScreeningSource(models.TextChoices):
    ASSESSMENT = "assessment", "The patient's claimed free assessment"
    PHYSICIAN = "physician", "Entered by a physician"


class Screening(models.Model):
    """A contraindication and medication screening on the patient's chart: the claimed free
    assessment, or one a physician entered. Prescribing needs one within the policy window
    (docs/prescribing-gates.md#screening-on-file)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="screenings")
    source = models.CharField(max_length=16, choices=ScreeningSource.choices)
    assessment = models.OneToOneField(
        "patients.Assessment", null=True, blank=True, on_delete=models.PROTECT, related_name="screening"
    )
    screened_at = models.DateTimeField(help_text="When the answers were given.")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    contraindications = models.JSONField(default=list, blank=True)
    medications = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-screened_at", "-id"]
        indexes = [models.Index(fields=["patient", "screened_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(source__in=ScreeningSource.values), name="screening_source"),
            models.CheckConstraint(
                condition=models.Q(source="assessment", assessment__isnull=False)
                | models.Q(source="physician", assessment__isnull=True, recorded_by__isnull=False),
                name="screening_source_link",
            ),
        ]

    def __str__(self) -> str:
        return f"screening {self.public_id}"


class ContraindicationSeverity(models.TextChoices):
    HARD_STOP = "hard_stop", "Hard stop"
    REVIEW = "review", "Needs physician review"


class ContraindicationSource(models.TextChoices):
    ASSESSMENT = "assessment", "Claimed free assessment"
    PHYSICIAN_SCREENING = "physician_screening", "Physician-entered screening"
    PRE_SESSION_CHECK = "pre_session_check", "Pre-session check"
    SIGNING_ATTESTATION = "signing_attestation", "Prescriber's attestation at signing"


class ContraindicationStatus(models.TextChoices):
    UNRESOLVED = "unresolved", "Unresolved"
    RESOLVED = "resolved", "Resolved by a physician"
    CONFIRMED = "confirmed", "Confirmed: not a candidate"


class Contraindication(models.Model):
    """A screening answer on the chart that blocks prescribing until a physician records a
    clinical decision: `resolved` (with a note: treatment may go ahead) or `confirmed` (not a
    candidate: prescribing stays blocked). Where it came from and when is kept (`source`,
    `source_date`); the decision note is encrypted at rest.

    At most one unresolved record per patient and code: a second source reporting the same code
    while one is unresolved adds nothing (the physician has one decision to make)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contraindications")
    code = models.CharField(max_length=64, help_text="e.g. pregnant_or_nursing, heart_disease, medication_maois")
    severity = models.CharField(max_length=16, choices=ContraindicationSeverity.choices)
    source = models.CharField(max_length=24, choices=ContraindicationSource.choices)
    source_date = models.DateField(help_text="The local date the source reported it.")
    screening = models.ForeignKey(
        Screening, null=True, blank=True, on_delete=models.PROTECT, related_name="contraindication_records"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=12, choices=ContraindicationStatus.choices, default=ContraindicationStatus.UNRESOLVED
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = EncryptedTextField(null=True, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["patient", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "code"],
                condition=models.Q(status="unresolved"),
                name="contraindication_one_unresolved_per_code",
            ),
            models.CheckConstraint(
                condition=models.Q(status="unresolved", decided_at__isnull=True, decided_by__isnull=True)
                | models.Q(status__in=["resolved", "confirmed"], decided_at__isnull=False, decided_by__isnull=False),
                name="contraindication_decision_complete",
            ),
            models.CheckConstraint(
                condition=models.Q(severity__in=ContraindicationSeverity.values), name="contraindication_severity"
            ),
        ]

    def __str__(self) -> str:
        return f"contraindication {self.public_id}"
