"""Rows that make the readiness notices go out once: one digest to the care team per local date,
one notice per patient per policy switch (docs/prescribing-basis.md#readiness). Each row is
written in the same transaction as its outbox delivery (notifications), which sends it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ReadinessDigest(models.Model):
    """The daily email of readiness counts to the care team before a policy switch (counts and
    physician names only: no patient information)."""

    date = models.DateField(unique=True, help_text="The practice-local date it is for.")
    switch_on = models.DateField(help_text="The first day the stricter prescribing rule applies.")
    counts = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"readiness digest {self.date}"


class ReadinessNotice(models.Model):
    """One notice to a patient who is not ready for a policy switch: "Please book your in-person
    visit with your physician. Open the app to choose a time." Once per patient and switch."""

    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    switch_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["switch_on", "id"]
        constraints = [models.UniqueConstraint(fields=["patient", "switch_on"], name="readiness_notice_once")]

    def __str__(self) -> str:
        return f"readiness notice #{self.pk}"

    @property
    def audit_patient_id(self) -> int:
        return self.patient_id
