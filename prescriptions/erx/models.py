"""E-prescribing rows (imported by `prescriptions.models`, so they belong to the prescriptions app).

Only identifiers, statuses, times and the vendor's operational messages are stored here: the
prescription's legal contents stay in `Prescription.snapshot`, and nothing of the patient is kept
beyond the vendor's id for them. See docs/e-prescribing.md#what-is-stored.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ErxStatus(models.TextChoices):
    """Where the electronic prescription is at the vendor (and, after transmission, the pharmacy)."""

    PROPOSED = "proposed", "Proposed (being sent to the vendor)"
    AWAITING_SIGNATURE = "awaiting_signature", "Awaiting the prescriber's EPCS signature"
    TRANSMITTED = "transmitted", "Signed and transmitted"
    PHARMACY_RECEIVED = "pharmacy_received", "Received by the pharmacy"
    ERROR = "error", "Error"
    CANCELLED = "cancelled", "Cancelled"


class ErxPrescriber(models.Model):
    """A physician's identity at the EPCS vendor and their EPCS readiness (21 CFR 1311.105-1311.110:
    identity proofing once, then a two-factor credential for each controlled-substance signature).
    Kept apart from the practice's credentials because the vendor, not the practice, proofs and
    enrols; the vendor's notifications and `erx_prescriber_sync` keep the two dates current."""

    physician = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="erx_prescriber")
    provider = models.CharField(max_length=16)
    vendor_clinician_id = models.CharField(max_length=64)
    identity_proofed_at = models.DateTimeField(null=True, blank=True)
    two_factor_enrolled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "vendor_clinician_id"], name="erx_prescriber_vendor_unique")
        ]

    def __str__(self) -> str:
        return f"EPCS prescriber #{self.pk}"

    @property
    def epcs_enabled(self) -> bool:
        return bool(self.vendor_clinician_id and self.identity_proofed_at and self.two_factor_enrolled_at)


class ErxPatientLink(models.Model):
    """The vendor's id for one of our patients (the demographics live with the vendor, sent once
    per sync; nothing of them is kept here)."""

    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=16)
    vendor_patient_id = models.CharField(max_length=64)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "provider"], name="erx_patient_link_unique")]

    def __str__(self) -> str:
        return f"EPCS patient link #{self.pk}"


class SendState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ErxSubmission(models.Model):
    """One proposal of a prescription to the vendor, and an outbox row for it.

    The proposal is sent by a task outside any transaction, at least once: the row is claimed with
    a compare-and-swap (`send_state` pending -> sending), the vendor call is idempotent by
    `idempotency_key` (our prescription's public id and the attempt), and a beat sweep re-drives
    rows a lost task left behind. A cancellation at the vendor uses the same pattern on
    `cancel_state`. Re-signing after a cancelled or failed proposal makes a new attempt."""

    prescription = models.ForeignKey(
        "prescriptions.Prescription", on_delete=models.PROTECT, related_name="erx_submissions"
    )
    provider = models.CharField(max_length=16)
    attempt = models.PositiveIntegerField(default=1)
    idempotency_key = models.CharField(max_length=80, unique=True)
    status = models.CharField(max_length=20, choices=ErxStatus.choices, default=ErxStatus.PROPOSED)
    send_state = models.CharField(max_length=10, choices=SendState.choices, default=SendState.PENDING)
    send_attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True, help_text="The task that holds the claim.")
    cancel_state = models.CharField(max_length=10, choices=SendState.choices, blank=True)
    cancel_reason = models.CharField(max_length=255, blank=True, help_text="Reason codes only (no PHI).")
    vendor_patient_id = models.CharField(max_length=64, blank=True)
    vendor_clinician_id = models.CharField(max_length=64, blank=True)
    vendor_pharmacy_id = models.CharField(max_length=64, blank=True)
    vendor_prescription_id = models.CharField(max_length=64, blank=True)
    vendor_status = models.CharField(max_length=32, blank=True, help_text="The vendor's raw status.")
    vendor_message = models.CharField(max_length=500, blank=True)
    vendor_signed_at = models.DateTimeField(null=True, blank=True)
    last_vendor_update = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["prescription", "attempt"], name="erx_submission_attempt_unique"),
            models.UniqueConstraint(
                fields=["provider", "vendor_prescription_id"],
                condition=~Q(vendor_prescription_id=""),
                name="erx_submission_vendor_rx_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["send_state", "next_attempt_at"], name="erx_submission_outbox"),
            models.Index(fields=["status", "last_vendor_update"], name="erx_submission_silent"),
        ]

    def __str__(self) -> str:
        return f"e-prescription submission #{self.pk}"

    @property
    def audit_patient_id(self) -> int:
        return self.prescription.patient_id


class ErxEventStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    APPLIED = "applied", "Applied"
    IGNORED = "ignored", "Ignored"


class ErxEvent(models.Model):
    """A vendor notification (webhook, sandbox or poll result), stored once by its id and applied
    after commit by a task that claims it (pending -> processing). `data` keeps only ids, status
    codes, times and the vendor's status text: the whitelist is in `gateway.EVENT_FIELDS`."""

    provider = models.CharField(max_length=16)
    event_id = models.CharField(max_length=128)
    event_type = models.CharField(max_length=64)
    source = models.CharField(max_length=16, default="webhook", help_text="webhook, poll or sandbox")
    data = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=ErxEventStatus.choices, default=ErxEventStatus.PENDING)
    outcome = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="erx_event_once")]
        indexes = [models.Index(fields=["status", "received_at"], name="erx_event_pending")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id}"


class SandboxPrescription(models.Model):
    """The sandbox vendor's own store (ERX_PROVIDER=sandbox): what a real vendor would hold on its
    side, kept in our database so the web process, the worker and beat share it. The one-time
    signing code is stored hashed; it is shown once in the demo's log."""

    idempotency_key = models.CharField(max_length=80, unique=True)
    vendor_patient_id = models.CharField(max_length=64)
    vendor_clinician_id = models.CharField(max_length=64)
    vendor_pharmacy_id = models.CharField(max_length=64)
    status = models.CharField(max_length=24, default="ReadyToSign")
    message = models.CharField(max_length=255, blank=True)
    code_hash = models.CharField(max_length=64, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    status_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.vendor_prescription_id

    @property
    def vendor_prescription_id(self) -> str:
        return f"sbx-rx-{self.pk}"
