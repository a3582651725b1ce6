from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from patients.scoring import INSTRUMENT_CHOICES, INSTRUMENTS


class QuestionnaireResponse(models.Model):
    """One completed instrument (PHQ-9, GAD-7, PCL-5, MIDAS), scored on the server.

    The first response per patient and instrument is the baseline (one per pair, a constraint);
    response and remission are judged against it. `client_submission_id` (the app's idempotency
    key) makes a retried submission return the first one instead of saving it twice.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="questionnaires")
    instrument = models.CharField(max_length=10, choices=INSTRUMENT_CHOICES)
    answers = models.JSONField()
    total = models.PositiveIntegerField()
    band = models.CharField(max_length=30)
    taken_at = models.DateTimeField(default=timezone.now, db_index=True)
    is_baseline = models.BooleanField(default=False)
    client_submission_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["patient", "instrument", "taken_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(instrument__in=list(INSTRUMENTS)), name="questionnaire_known"),
            models.UniqueConstraint(
                fields=["patient", "instrument"],
                condition=models.Q(is_baseline=True),
                name="questionnaire_one_baseline",
            ),
            models.UniqueConstraint(
                fields=["patient", "client_submission_id"],
                condition=models.Q(client_submission_id__isnull=False),
                name="questionnaire_idempotent_submission",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.public_id}"
