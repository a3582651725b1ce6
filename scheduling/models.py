"""Scheduling data: availability, appointment types, appointments, reminders, agenda digests.

Patient and physician are foreign keys to `accounts.User` (not to the profiles) so this app's
tables do not depend on how the profiles are stored.

Two appointments of one physician can never overlap: on PostgreSQL an exclusion constraint
(`scheduling_appointment_no_overlap`, GiST over `(physician_id WITH =, tstzrange(starts_at,
ends_at) WITH &&)` for active statuses) holds it in the database. It is added by migration
0003 through vendor-guarded SQL rather than `Meta.constraints`, because Django's
`ExclusionConstraint` is PostgreSQL-only and this project also runs on SQLite, where the
booking service refuses overlaps itself (SQLite's IMMEDIATE transactions serialise writers).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from localflavor.us.models import USStateField, USZipCodeField

from accounts.encryption import EncryptedTextField

# The longest a visit type lasts and the longest buffer kept free after one (database constraints
# on types and visits; a booking's overlap check relies on both).
LONGEST_VISIT_MINUTES = 240
LONGEST_BUFFER_MINUTES = 120


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class VisitLocationKind(models.TextChoices):
    OFFICE = "office", "Office"
    HOME_VISIT = "home_visit", "Home visit"


class VisitLocation(models.Model):
    """Where an in-person visit happens: an office in Florida or New Jersey (with its address and
    time zone), or home visits within one state (the address is then the patient's own).

    In-person evaluations exist because, once the federal telemedicine flexibilities end, a
    Schedule III prescription issued by telemedicine needs one in-person medical evaluation by the
    prescriber (21 U.S.C. 829(e); docs/prescribing-basis.md#in-person-evaluation)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=VisitLocationKind.choices, default=VisitLocationKind.OFFICE)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = USStateField(help_text="FL or NJ: the state whose licence rules apply.")
    zip_code = USZipCodeField(blank=True)
    time_zone = models.CharField(max_length=64, default="America/New_York")
    instructions = models.CharField(max_length=255, blank=True, help_text="Parking, suite, what to bring.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["state", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=["FL", "NJ"]), name="visit_location_state_served"),
            models.CheckConstraint(
                condition=Q(kind="home_visit") | ~Q(address_line1="") & ~Q(city="") & ~Q(zip_code=""),
                name="visit_location_office_has_address",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"

    @property
    def address_text(self) -> str:
        return address_text(self.kind, self.address_line1, self.address_line2, self.city, self.state, self.zip_code)


def address_text(kind: str, line1: str, line2: str, city: str, state: str, zip_code: str) -> str:
    """A visit location's address as one line (also for a row of its columns)."""
    if kind == VisitLocationKind.HOME_VISIT:
        return "At your home"
    parts = [line1, line2, city, f"{state} {zip_code}".strip()]
    return ", ".join(p for p in parts if p)


class WeeklyAvailability(models.Model):
    """A recurring block of working hours, as wall-clock times in the physician's own time zone
    (PhysicianProfile.time_zone), so 9:00-17:00 stays 9:00-17:00 across DST changes. Hours with
    a `location` are in-person hours there (in the location's time zone); without one they are
    video hours."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    physician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="weekly_availability"
    )
    location = models.ForeignKey(
        VisitLocation, null=True, blank=True, on_delete=models.PROTECT, related_name="weekly_availability"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["physician_id", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=models.F("start_time")), name="weekly_end_after_start"),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="weekly_weekday_valid"),
        ]

    def __str__(self) -> str:
        return f"weekly #{self.pk} physician #{self.physician_id}"


class ExceptionKind(models.TextChoices):
    TIME_OFF = "time_off", "Time off"
    EXTRA_HOURS = "extra_hours", "Extra hours"


class AvailabilityException(models.Model):
    """A date-specific change: time off (the whole day when no times are given) or extra hours."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    physician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability_exceptions"
    )
    date = models.DateField()
    kind = models.CharField(max_length=16, choices=ExceptionKind.choices)
    # Extra hours at a location are in-person hours; time off applies to every location.
    location = models.ForeignKey(
        VisitLocation, null=True, blank=True, on_delete=models.PROTECT, related_name="availability_exceptions"
    )
    start_time = models.TimeField(null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["physician_id", "date", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(start_time__isnull=True) & Q(end_time__isnull=True))
                | (Q(start_time__isnull=False) & Q(end_time__gt=models.F("start_time"))),
                name="exception_times_both_or_none_and_ordered",
            ),
            models.CheckConstraint(
                condition=~Q(kind="extra_hours") | Q(start_time__isnull=False),
                name="exception_extra_hours_need_times",
            ),
            models.CheckConstraint(condition=Q(kind__in=["time_off", "extra_hours"]), name="exception_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.date} physician #{self.physician_id}"


class AppointmentTypeCode(models.TextChoices):
    FREE_CONSULTATION = "free_consultation", "Free consultation"
    FOLLOW_UP = "follow_up", "Follow-up"
    MEDICATION_REVIEW = "medication_review", "Medication review"
    IN_PERSON_EVALUATION = "in_person_evaluation", "In-person evaluation"


class AppointmentType(models.Model):
    """A kind of visit with its duration and the buffer kept free after it. Rows are created by
    a data migration; staff change durations in the admin (no deploy needed)."""

    code = models.CharField(max_length=32, unique=True, choices=AppointmentTypeCode.choices)
    name = models.CharField(max_length=64)
    duration_minutes = models.PositiveSmallIntegerField()
    buffer_minutes = models.PositiveSmallIntegerField(default=10, help_text="Kept free after the visit.")
    requires_subscription = models.BooleanField(default=True)
    in_person = models.BooleanField(default=False, help_text="Booked at a visit location, never by video.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5, duration_minutes__lte=LONGEST_VISIT_MINUTES),
                name="type_duration_range",
            ),
            models.CheckConstraint(condition=Q(buffer_minutes__lte=LONGEST_BUFFER_MINUTES), name="type_buffer_range"),
        ]

    def __str__(self) -> str:
        return self.code


class FreeConsultationGrant(models.Model):
    """Staff allow a patient one more free consultation (each patient has one by default)."""

    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=200, blank=True, help_text="No health information.")

    def __str__(self) -> str:
        return f"free consultation grant #{self.pk} patient #{self.patient_id}"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


# Statuses that hold the physician's time (the exclusion constraint's WHERE clause).
ACTIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.IN_PROGRESS, AppointmentStatus.COMPLETED)


class Modality(models.TextChoices):
    # Only audio-video counts as a telehealth evaluation for prescribing
    # (docs/prescribing-basis.md#audio-video-evaluation); in person is the physical presence of
    # the prescriber (21 U.S.C. 829(e)(2)(A)(i)).
    AUDIO_VIDEO = "audio_video", "Audio and video"
    IN_PERSON = "in_person", "In person"


class VideoStatus(models.TextChoices):
    NONE = "none", "Not created"
    CREATING = "creating", "Being created"
    READY = "ready", "Ready"


class Appointment(models.Model):
    """One visit between a patient and a physician, stored in UTC."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments")
    physician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="physician_appointments"
    )
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    buffer_minutes = models.PositiveSmallIntegerField(default=0, help_text="Copied from the type at booking.")
    status = models.CharField(
        max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED, db_index=True
    )
    idempotency_key = models.CharField(max_length=64)
    # The patient's state when booked (the licence check's state) and when seen (the record's).
    patient_state = models.CharField(max_length=2, blank=True)
    patient_state_at_visit = models.CharField(max_length=2, blank=True)
    modality = models.CharField(max_length=16, choices=Modality.choices, default=Modality.AUDIO_VIDEO)
    location = models.ForeignKey(
        VisitLocation, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    visit_note = EncryptedTextField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reschedule_count = models.PositiveSmallIntegerField(default=0)
    video_status = models.CharField(max_length=16, choices=VideoStatus.choices, default=VideoStatus.NONE)
    video_room = models.CharField(max_length=128, blank=True)
    patient_video_url = models.URLField(max_length=1000, blank=True)
    physician_video_url = models.URLField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "idempotency_key"], name="appointment_idempotency_unique"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="appointment_end_after_start"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in AppointmentStatus]), name="appointment_status_valid"
            ),
            models.CheckConstraint(condition=Q(modality__in=[m.value for m in Modality]), name="appointment_modality"),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(completed_at__isnull=False),
                name="appointment_completed_has_time",
            ),
            # A visit is as long as its type allows at most, its buffer as well: the overlap check
            # of a booking reads only the visits that start within that reach of the slot.
            models.CheckConstraint(
                condition=Q(ends_at__lte=models.F("starts_at") + timedelta(minutes=LONGEST_VISIT_MINUTES)),
                name="appointment_length_cap",
            ),
            models.CheckConstraint(
                condition=Q(buffer_minutes__lte=LONGEST_BUFFER_MINUTES), name="appointment_buffer_cap"
            ),
        ]
        indexes = [
            models.Index(fields=["physician", "starts_at"]),
            models.Index(fields=["patient", "starts_at"]),
            models.Index(fields=["status", "starts_at"]),
        ]

    def __str__(self) -> str:
        return f"appointment #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class ReminderChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PUSH = "push", "Push"  # to each of the patient's devices (notifications.Delivery rows)


class ReminderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class Reminder(models.Model):
    """One reminder to send (appointment x channel x kind), scanned by beat when due.

    `kind` names the offset ("24h", "1h"). Sending claims the row with a compare-and-swap
    (pending -> sending), so a double scan or a re-delivered task sends once, and hands it to the
    notification outbox: `sent` means its notifications.Delivery row was written
    (docs/notifications.md#visit-reminders); that row holds the provider's id."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    channel = models.CharField(max_length=8, choices=ReminderChannel.choices)
    kind = models.CharField(max_length=8)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=ReminderStatus.choices, default=ReminderStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=128, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The id of the scan task that claimed the row: when a killed worker's task is delivered
    # again (same id), it takes back its own unsent rows at once instead of after STALE_SENDING.
    claimed_by = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["appointment", "channel", "kind"], name="reminder_unique_per_kind"),
        ]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"reminder #{self.pk} {self.channel} {self.kind}"

    @property
    def audit_patient_id(self) -> int:
        return self.appointment.patient_id


class AgendaDigest(models.Model):
    """One row per physician per local date: the daily agenda email is sent once."""

    physician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    visit_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["physician", "date"], name="agenda_once_per_day")]

    def __str__(self) -> str:
        return f"agenda {self.date} physician #{self.physician_id}"


class InPersonEvaluationSource(models.TextChoices):
    VISIT = "visit", "An in-person evaluation visit booked here"
    RECORDED = "recorded", "Recorded by the physician (done elsewhere)"


class InPersonEvaluation(models.Model):
    """A documented in-person medical evaluation of the patient by the prescriber, in the
    prescriber's physical presence (21 U.S.C. 829(e)(2)(A)(i)): one is enough under the Ryan
    Haight Act; how long it counts is the prescribing policy's (docs/prescribing-basis.md).

    A referring doctor's exam does not count, so `physician` is always the prescriber who
    attests it. Records are never deleted; a mistaken one is voided with a reason."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    physician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    evaluated_on = models.DateField(help_text="Local date where the evaluation took place.")
    source = models.CharField(max_length=16, choices=InPersonEvaluationSource.choices)
    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="in_person_evaluation"
    )
    location = models.ForeignKey(VisitLocation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    home_visit = models.BooleanField(default=False)
    place_address = models.CharField(max_length=300, help_text="Where it took place (FL or NJ, or the home).")
    place_state = models.CharField(max_length=2)
    others_present = models.CharField(max_length=300, blank=True, help_text="Who else was present (roles, names).")
    attested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    attested_at = models.DateTimeField()
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-evaluated_on", "-id"]
        indexes = [models.Index(fields=["patient", "physician", "evaluated_on"])]
        constraints = [
            models.CheckConstraint(condition=Q(place_state__in=["FL", "NJ"]), name="in_person_place_served"),
            models.CheckConstraint(
                condition=~Q(source="visit") | Q(appointment__isnull=False), name="in_person_visit_has_appointment"
            ),
        ]

    def __str__(self) -> str:
        return f"in-person evaluation #{self.pk}"

    @property
    def audit_patient_id(self) -> int:
        return self.patient_id


class VisitPractitionerPresence(models.Model):
    """During this video visit the patient was in the physical presence of a practitioner
    DEA-registered in the patient's state (21 U.S.C. 802(54)(B)): a lawful telemedicine basis
    for that visit. A lay treatment monitor does not qualify."""

    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="practitioner_presence")
    practitioner_name = models.CharField(max_length=200)
    practitioner_npi = models.CharField(max_length=10)
    practitioner_dea_number = models.CharField(max_length=9)
    practitioner_state = models.CharField(max_length=2)
    # A DEA number of the right shape whose checksum fails is kept and flagged for staff to
    # verify, as DEA registrations are (practice.identifiers; docs/in-person-visits.md).
    dea_needs_verification = models.BooleanField(default=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(practitioner_state__in=["FL", "NJ"]), name="presence_state_served"),
        ]

    def __str__(self) -> str:
        return f"practitioner presence for appointment #{self.appointment_id}"

    @property
    def audit_patient_id(self) -> int:
        return self.appointment.patient_id


class CaseloadEntry(models.Model):
    """The caseload's read model: one row per patient on a caseload, i.e. per (assigned physician,
    patient), holding what `GET /physician/caseload/` shows besides the patient's name
    (docs/caseload.md). Written only by scheduling/caseload.py.

    A row is trusted only while `computed_version == version` (a write to an input bumps
    `version`: docs/caseload.md#invalidation), `physician` is still the patient's assigned
    physician and `valid_until` (the next instant a column changes with the clock alone: a local
    midnight, the next visit starting, a session leaving the 28-day window) has not passed."""

    patient = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="caseload_entry"
    )
    # Null until computed: a write to an input of a patient without a row creates one, so that
    # no write goes unrecorded (docs/caseload.md#invalidation).
    physician = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveBigIntegerField(default=0)
    computed_version = models.BigIntegerField(default=-1)
    computed_at = models.DateTimeField(null=True)
    valid_until = models.DateTimeField(null=True)
    next_appointment_at = models.DateTimeField(null=True)
    next_appointment_id = models.UUIDField(null=True)
    last_visit_at = models.DateTimeField(null=True)
    # The names contracts.caseload_columns gives them, so contracts.score_from_row reads a row too.
    phq9_total = models.PositiveIntegerField(null=True)
    phq9_band = models.CharField(max_length=30, null=True)
    phq9_taken_at = models.DateTimeField(null=True)
    gad7_total = models.PositiveIntegerField(null=True)
    gad7_band = models.CharField(max_length=30, null=True)
    gad7_taken_at = models.DateTimeField(null=True)
    open_flags = models.PositiveIntegerField(default=0)
    subscription_ok = models.BooleanField(null=True)
    subscription_status = models.CharField(max_length=32, null=True)
    prescription_status = models.CharField(max_length=16, null=True)
    # The upper apps' columns (scheduling/caseload_columns.py) as their fields represent them.
    columns = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["physician"], name="caseload_entry_physician")]

    def __str__(self) -> str:
        return f"caseload row of patient #{self.patient_id}"
