"""Between deliveries: what happens at home after a fill arrives (docs/treatment.md).

Each dosing session is a record (pre-session check passed that day, the named monitor attested,
the product and units taken from one delivered fill, start and end); each session gets one
post-session check-in; fills know the doses they shipped and sessions consume them.
"""

from __future__ import annotations

import uuid
from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from encrypted_fields.fields import EncryptedTextField


class TreatmentPolicy(models.Model):
    """The medical director's policy for sessions, check-ins and supply, effective-dated: the row
    in force on a date is the latest with `effective_from` on or before it (treatment.policy).
    A change is a new row, so a past decision can be explained by the policy of its day."""

    effective_from = models.DateField(unique=True)
    session_auto_close_hours = models.PositiveSmallIntegerField(
        default=4, help_text="A session left open this long is closed by beat (auto_closed)."
    )
    default_sessions_per_week = models.PositiveSmallIntegerField(
        default=2, help_text="When the prescription does not say (rolling 7 local days)."
    )
    check_in_window_hours = models.PositiveSmallIntegerField(
        default=4, help_text="The post-session check-in is accepted this long after the session ends."
    )
    check_in_reminder_after_minutes = models.PositiveIntegerField(
        default=120, help_text="No check-in this long after the end: one reminder to the patient."
    )
    check_in_alert_after_minutes = models.PositiveIntegerField(
        default=240, help_text="No check-in this long after the end: one alert to the care team."
    )
    dissociation_flag_at = models.PositiveSmallIntegerField(
        default=8,
        validators=[MaxValueValidator(10)],
        help_text="Dissociation intensity (0-10) at or above which a severe_dissociation flag opens.",
    )
    urinary_symptoms_open_flag = models.BooleanField(
        default=True, help_text="Urinary pain or blood in the urine opens a urinary_symptoms flag."
    )
    session_gap_days = models.PositiveIntegerField(
        default=90, help_text="More than this many days without a session: a clinician visit before the next fill."
    )
    refill_lead_days = models.PositiveSmallIntegerField(
        default=7,
        help_text="A refill is on time when the doses on hand last at most this many days at the prescribed rate.",
    )
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-effective_from"]
        verbose_name_plural = "treatment policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(session_auto_close_hours__gt=0)
                & Q(default_sessions_per_week__gt=0)
                & Q(check_in_window_hours__gt=0),
                name="treatmentpolicy_positive",
            ),
            models.CheckConstraint(condition=Q(dissociation_flag_at__lte=10), name="treatmentpolicy_dissociation_0_10"),
        ]

    def __str__(self) -> str:
        return f"treatment policy from {self.effective_from}"


class SessionStatus(models.TextChoices):
    OPEN = "open", "Open"
    ENDED = "ended", "Ended"
    AUTO_CLOSED = "auto_closed", "Closed automatically"


class DosingSession(models.Model):
    """One at-home dosing session: the pre-session check that allowed it (used once), the named
    monitor attested present, the product and units taken from one delivered fill, start and end.

    A patient has at most one open session (a partial unique constraint); `local_date` is the
    start's date in the patient's zone (the day the daily and weekly limits count).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dosing_sessions")
    prescription = models.ForeignKey("prescriptions.Prescription", on_delete=models.PROTECT, related_name="+")
    fill = models.ForeignKey("prescriptions.DeliveryOrder", on_delete=models.PROTECT, related_name="dosing_sessions")
    product = models.ForeignKey("prescriptions.MedicationProduct", on_delete=models.PROTECT, related_name="+")
    pre_session_check = models.OneToOneField(
        "patients.PreSessionCheck", on_delete=models.PROTECT, related_name="dosing_session"
    )
    dose_units = models.PositiveSmallIntegerField(help_text="Dispensing units taken (from the prescription).")
    dispensing_unit = models.CharField(max_length=32)
    dose_text = models.CharField(max_length=120, help_text="The prescription's dose, as written.")
    monitor_name = models.CharField(max_length=150, help_text="The profile's treatment monitor, attested present.")
    monitor_attested_at = models.DateTimeField()
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    local_date = models.DateField()
    time_zone = models.CharField(max_length=64)
    ended_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=SessionStatus.choices, default=SessionStatus.OPEN)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["patient", "local_date"]), models.Index(fields=["status", "started_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status="open"), name="dosingsession_one_open_per_patient"
            ),
            models.CheckConstraint(condition=Q(dose_units__gt=0), name="dosingsession_units_positive"),
            models.CheckConstraint(
                condition=Q(status="open", ended_at__isnull=True) | (~Q(status="open") & Q(ended_at__isnull=False)),
                name="dosingsession_end_matches_status",
            ),
            models.CheckConstraint(condition=Q(status__in=SessionStatus.values), name="dosingsession_status_valid"),
        ]

    def __str__(self) -> str:
        return f"dosing session {self.public_id}"

    @property
    def is_open(self) -> bool:
        return self.status == SessionStatus.OPEN

    @property
    def local_start_date(self) -> date:
        return self.local_date


def _zero_to_ten():
    return [MinValueValidator(0), MaxValueValidator(10)]


class SessionCheckIn(models.Model):
    """The patient's report after a session (one per session, within the policy's window): how
    they feel, side effects, an optional blood pressure (judged by the vitals rules), the "I did
    not drive" attestation and free text (encrypted at rest). `flags` are the safety flags this
    check-in opened or re-triggered (through patients.services.safety)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    session = models.OneToOneField(DosingSession, on_delete=models.PROTECT, related_name="check_in")
    submitted_at = models.DateTimeField(default=timezone.now)
    overall = models.PositiveSmallIntegerField(validators=_zero_to_ten(), help_text="0 very bad - 10 very good.")
    nausea_vomiting = models.BooleanField()
    dizziness = models.BooleanField()
    dissociation = models.PositiveSmallIntegerField(validators=_zero_to_ten(), help_text="Intensity 0-10.")
    headache = models.BooleanField()
    urinary_pain = models.BooleanField()
    blood_in_urine = models.BooleanField()
    vital_reading = models.OneToOneField(
        "patients.VitalReading", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    did_not_drive = models.BooleanField()
    notes = EncryptedTextField(null=True, blank=True)
    flag_reasons = models.JSONField(default=list, blank=True, help_text="Codes of the flags raised.")
    flags = models.ManyToManyField("patients.SafetyFlag", blank=True, related_name="+")

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(overall__lte=10), name="checkin_overall_0_10"),
            models.CheckConstraint(condition=Q(dissociation__lte=10), name="checkin_dissociation_0_10"),
        ]

    def __str__(self) -> str:
        return f"check-in {self.public_id}"

    @property
    def audit_patient_id(self) -> int:
        return self.session.patient_id


class NoticeKind(models.TextChoices):
    PATIENT_REMINDER = "patient_reminder", "Reminder to the patient"
    CARE_TEAM_ALERT = "care_team_alert", "Alert to the care team"


class NoticeStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped (checked in)"


class CheckInNotice(models.Model):
    """A missed check-in's reminder or alert, planned when the session ends and due at a time
    from the policy. Unique per session and kind, claimed by compare-and-swap by the beat scan
    (pending -> sending), so it is sent once however often the scan runs; skipped when the
    check-in arrived first."""

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="notices")
    kind = models.CharField(max_length=20, choices=NoticeKind.choices)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.PENDING)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"])]
        constraints = [
            models.UniqueConstraint(fields=["session", "kind"], name="checkinnotice_once_per_session_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for session #{self.session_id}"
