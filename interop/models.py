"""The patient's record export: a FHIR Bundle and a PDF summary built by a worker
(docs/fhir.md#record-export)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.encryption import EncryptedTextField


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a worker"
    RUNNING = "running", "Being built"
    READY = "ready", "Ready to download"
    FAILED = "failed", "Failed"


class RecordExport(models.Model):
    """One export of a patient's record, requested by the patient (HIPAA right of access) or by a
    clinician on the patient's behalf. Its contents are encrypted at rest and served only until
    `available_until`, through short-lived signed links; every build and download is audited.
    At most one unfinished export per patient and requester (a constraint)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="record_exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0-100.")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    available_until = models.DateTimeField(null=True, blank=True)
    resource_count = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    bundle_json = EncryptedTextField(null=True, blank=True)
    pdf_base64 = EncryptedTextField(null=True, blank=True)
    # Set when the retention purge removed the contents (docs/fhir.md#record-export-retention):
    # the row stays as the audit stub of who exported whose record, when, and how much.
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["patient", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ExportStatus.values), name="recordexport_status_valid"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="recordexport_progress_percent"),
            models.UniqueConstraint(
                fields=["patient", "requested_by"],
                condition=Q(status__in=["pending", "running"]),
                name="recordexport_one_unfinished",
            ),
        ]

    def __str__(self) -> str:
        return f"record export {self.public_id}"

    def is_available(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.status == ExportStatus.READY
            and self.purged_at is None
            and self.available_until is not None
            and now < self.available_until
        )
