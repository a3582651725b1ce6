from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class AssessmentOutcome(models.TextChoices):
    LIKELY_ELIGIBLE = "likely_eligible", "Likely eligible"
    NEEDS_REVIEW = "needs_review", "Needs physician review"
    NOT_ELIGIBLE = "not_eligible", "Not eligible"


class Assessment(models.Model):
    """A free eligibility assessment ("see if you qualify"), taken without an account: a lead.

    The screening answers are kept so staff can follow up and so they carry into registration
    (claimed with `public_id` + the one-time claim token; only its SHA-256 is stored). Contact
    details are stored only when the person consented to be contacted.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    date_of_birth = models.DateField()
    zip_code = models.CharField(max_length=5)
    state = models.CharField(max_length=2, blank=True)
    county = models.ForeignKey("practice.County", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    time_zone = models.CharField(max_length=64, blank=True)
    # {"conditions": [...], "treatments_tried": [...], "contraindications": [...], "medications": [...],
    #  "phq9": {"answers", "total", "band"} | None, "gad7": {...} | None}
    answers = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=20, choices=AssessmentOutcome.choices)
    reasons = models.JSONField(default=list, blank=True, help_text="[{code, message}] behind the outcome.")

    consent_to_contact = models.BooleanField(default=False)
    contact_name = models.CharField(max_length=150, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=20, blank=True)

    claim_token_hash = models.CharField(max_length=64)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="assessments"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome__in=AssessmentOutcome.values), name="assessment_outcome_valid"
            ),
            # Contact details exist only with consent to be contacted.
            models.CheckConstraint(
                condition=models.Q(consent_to_contact=True)
                | models.Q(contact_name="", contact_email="", contact_phone=""),
                name="assessment_contact_needs_consent",
            ),
            models.CheckConstraint(
                condition=models.Q(patient__isnull=True) | models.Q(claimed_at__isnull=False),
                name="assessment_claim_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"assessment {self.public_id}"

    @property
    def review_codes(self) -> list[str]:
        return [r["code"] for r in self.reasons]
