"""Prescriptions of compounded ketamine, the pharmacies that fill them, and the delivery orders
that carry each fill to the patient's door (docs/prescribing.md, docs/delivery.md).

Compounded drugs are patient-specific (FD&C Act 503A): every DeliveryOrder belongs to exactly one
signed Prescription for one patient, never to stock.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from localflavor.us.models import USStateField, USZipCodeField

from prescriptions.erx.models import (  # noqa: E402, F401  (e-prescribing rows belong to this app)
    ErxEvent,
    ErxPatientLink,
    ErxPrescriber,
    ErxStatus,
    ErxSubmission,
    SandboxPrescription,
)

STATES = [("FL", "Florida"), ("NJ", "New Jersey")]


# --- Catalogue --------------------------------------------------------------------------------
class DosageForm(models.TextChoices):
    SUBLINGUAL_RDT = "sublingual_rdt", "Sublingual rapid-dissolve tablet"
    BUCCAL_TROCHE = "buccal_troche", "Buccal troche"
    LOW_DOSE_TROCHE = "low_dose_troche", "Low-dose troche"
    NASAL_SPRAY = "nasal_spray", "Nasal spray"


class Route(models.TextChoices):
    SUBLINGUAL = "sublingual", "Sublingual"
    BUCCAL = "buccal", "Buccal"
    INTRANASAL = "intranasal", "Intranasal"


class StrengthUnit(models.TextChoices):
    MG = "mg", "mg"
    MG_PER_ML = "mg/mL", "mg/mL"


class MedicationProduct(models.Model):
    """A compounded ketamine product the practice prescribes. Retired with `active=False`, never
    deleted: signed prescriptions point at it (PROTECT) and keep their own text snapshot."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    dosage_form = models.CharField(max_length=32, choices=DosageForm.choices)
    strength = models.DecimalField(max_digits=8, decimal_places=2, validators=[MinValueValidator(0)])
    strength_unit = models.CharField(max_length=8, choices=StrengthUnit.choices, default=StrengthUnit.MG)
    route = models.CharField(max_length=16, choices=Route.choices)
    dea_schedule = models.CharField(max_length=4, default="III")
    dispensing_unit = models.CharField(max_length=32, help_text="e.g. troche, tablet, mL")
    heat_sensitive = models.BooleanField(default=False, help_text="Troches are heat-sensitive: ship cold-packed.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "strength"]
        constraints = [
            models.UniqueConstraint(fields=["dosage_form", "strength", "strength_unit"], name="product_unique_form")
        ]

    def __str__(self) -> str:
        return product_label(self.name, self.strength, self.strength_unit)

    @property
    def strength_text(self) -> str:
        return strength_text(self.strength, self.strength_unit)


def strength_text(strength: Decimal, unit: str) -> str:
    return f"{strength.normalize():f} {unit}"


def product_label(name: str, strength: Decimal, unit: str) -> str:
    """A product as people name it ("Ketamine troche 100 mg"; also for a row of its columns)."""
    return f"{name} {strength_text(strength, unit)}"


# --- Pharmacies -------------------------------------------------------------------------------
class Pharmacy(models.Model):
    """A compounding pharmacy (503A) that fills and ships the practice's prescriptions."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=160)
    email = models.EmailField(help_text="Where the hand-off sends orders (prescription transmission).")
    ncpdp_id = models.CharField(
        "NCPDP ID",
        max_length=7,
        blank=True,
        validators=[RegexValidator(r"^\d{7}$", "Seven digits.")],
        help_text="The pharmacy's NCPDP provider id: how e-prescriptions find it (docs/e-prescribing.md).",
    )
    phone = models.CharField(max_length=32, blank=True)
    address_line1 = models.CharField(max_length=160, blank=True)
    city = models.CharField(max_length=80, blank=True)
    state = USStateField(blank=True, help_text="Where the pharmacy is (any US state).")
    zip_code = USZipCodeField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "pharmacies"
        constraints = [
            models.UniqueConstraint(fields=["ncpdp_id"], condition=~Q(ncpdp_id=""), name="pharmacy_ncpdp_unique")
        ]

    def __str__(self) -> str:
        return self.name


class PharmacyLicenceKind(models.TextChoices):
    FL_NONRESIDENT_PERMIT = "fl_nonresident_permit", "Florida non-resident pharmacy permit"
    FL_RESIDENT_PERMIT = "fl_resident_permit", "Florida community pharmacy permit"
    NJ_REGISTRATION = "nj_registration", "New Jersey Board of Pharmacy registration"


class PharmacyStateLicence(models.Model):
    """A pharmacy's licence or registration to ship into one state; it may ship there while
    the licence is active and unexpired on the shipping date."""

    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.CASCADE, related_name="state_licences")
    state = models.CharField(max_length=2, choices=STATES)
    kind = models.CharField(max_length=32, choices=PharmacyLicenceKind.choices)
    licence_number = models.CharField(max_length=64)
    expires_on = models.DateField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["pharmacy_id", "state"]
        constraints = [
            models.UniqueConstraint(fields=["pharmacy", "state", "licence_number"], name="pharmacy_licence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.pharmacy_id} {self.state} {self.kind}"


# --- Policy -----------------------------------------------------------------------------------
class PrescribingPolicy(models.Model):
    """The medical director's prescribing policy, effective-dated: the row in force on a date is
    the latest one with `effective_from` on or before it. A change is a new row, so a past
    signature can always be explained by the policy of its day."""

    effective_from = models.DateField(unique=True)
    evaluation_window_days = models.PositiveIntegerField(default=90)
    telemedicine_flexibility_ends_on = models.DateField(
        default=date(2026, 12, 31), help_text="Last day of the federal telemedicine flexibilities."
    )
    require_in_person_after_flex_end = models.BooleanField(default=True)
    # How long an in-person evaluation by the prescriber counts as the prescribing basis. The law
    # asks for one (21 U.S.C. 829(e)(2)(A)(i)) and sets no repeat interval: null = no limit.
    in_person_evaluation_valid_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty = an in-person evaluation counts without a time limit."
    )
    practitioner_present_allowed = models.BooleanField(
        default=True, help_text="21 U.S.C. 802(54)(B): a DEA-registered practitioner with the patient at the visit."
    )
    practitioner_present_valid_days = models.PositiveIntegerField(
        default=90, help_text="How long after such a video visit it supports a new prescription."
    )
    special_registration_enabled = models.BooleanField(
        default=False, help_text="DEA special registration for telemedicine: off until a final rule exists."
    )
    readiness_notice_days = models.PositiveIntegerField(
        default=45, help_text="Days before a policy switch when the care team and patients are told."
    )
    fl_pdmp_max_age_days = models.PositiveIntegerField(default=0, help_text="0 = same day (E-FORCSE).")
    nj_pdmp_interval_days = models.PositiveIntegerField(default=90)
    max_days_supply = models.PositiveIntegerField(default=30)
    max_refills = models.PositiveIntegerField(default=5, help_text="Schedule III: at most 5 (21 CFR 1306.22).")
    expiry_months = models.PositiveIntegerField(default=6, help_text="Schedule III: 6 months after issue.")
    screening_valid_months = models.PositiveIntegerField(
        default=12, help_text="A screening on file no older than this is needed to prescribe or fill."
    )
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-effective_from"]
        verbose_name_plural = "prescribing policies"
        constraints = [
            models.CheckConstraint(condition=Q(max_refills__lte=5), name="policy_refills_within_schedule_iii"),
            models.CheckConstraint(condition=Q(expiry_months__lte=6), name="policy_expiry_within_schedule_iii"),
        ]

    def __str__(self) -> str:
        return f"policy from {self.effective_from}"


# --- Prescribing ------------------------------------------------------------------------------
class PDMPCheck(models.Model):
    """A prescription drug monitoring program lookup (Florida E-FORCSE, New Jersey NJPMP),
    recorded by the prescriber or a delegate: who, for whom, which state, when, what it showed."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pdmp_checks")
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=2, choices=STATES)
    checked_at = models.DateTimeField()
    result_summary = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-checked_at"]
        indexes = [models.Index(fields=["patient", "state", "checked_at"])]

    def __str__(self) -> str:
        return f"PDMP check #{self.pk}"


class PrescribingBasis(models.TextChoices):
    """Why a Schedule III prescription issued by telemedicine is lawful (docs/prescribing-basis.md)."""

    TELEMEDICINE_FLEXIBILITY = "telemedicine_flexibility", "Federal telemedicine flexibilities in force"
    IN_PERSON_EVALUATION = "in_person_evaluation", "In-person evaluation by the prescriber"
    PRACTITIONER_PRESENT = "practitioner_present", "DEA-registered practitioner present at the video visit"
    SPECIAL_REGISTRATION = "special_registration", "DEA special registration for telemedicine"


class PrescriptionStatus(models.TextChoices):
    """`signed` means a valid, active prescription: since e-prescribing it is set when the EPCS
    vendor reports the prescriber's signature and the transmission (docs/e-prescribing.md)."""

    DRAFT = "draft", "Draft"
    AWAITING_EPCS_SIGNATURE = "awaiting_epcs_signature", "Awaiting the prescriber's EPCS signature"
    SIGNED = "signed", "Signed"
    SUPERSEDED = "superseded", "Superseded"
    CANCELLED = "cancelled", "Cancelled after transmission"
    DISCARDED = "discarded", "Discarded"


class PrescriptionSignedError(Exception):
    """Raised by the model guard: a signed prescription is a legal record and never changes."""


# Fields a signature freezes; only `status` may move on (signed -> superseded).
_FROZEN_AFTER_SIGNING = (
    "patient_id",
    "physician_id",
    "product_id",
    "pharmacy_id",
    "dose",
    "directions",
    "quantity",
    "first_fill_quantity",
    "days_supply",
    "refills",
    "units_per_session",
    "sessions_per_day",
    "sessions_per_week",
    "supersedes_id",
    "patient_state",
    "signed_at",
    "expires_on",
    "snapshot",
)


class Prescription(models.Model):
    """A prescription of a compounded Schedule III product for one patient by one physician.

    Drafted freely, then signed once all the gates of `services/signing.py` pass. At signing the
    legally required contents (patient name and address, drug, strength, dosage form, quantity,
    directions, prescriber name, address and DEA number; 21 CFR 1306.05) are copied into
    `snapshot`, and the row becomes immutable: a change is a new prescription that `supersedes` it.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="prescriptions")
    physician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(MedicationProduct, on_delete=models.PROTECT, related_name="prescriptions")
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.PROTECT, related_name="prescriptions")
    dose = models.CharField(max_length=120, help_text="e.g. 100 mg")
    directions = models.TextField()
    quantity = models.PositiveIntegerField(help_text="Units per fill.")
    first_fill_quantity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Staged supply: a smaller first fill (defaults to quantity)."
    )
    days_supply = models.PositiveIntegerField()
    refills = models.PositiveIntegerField(default=0)
    # Session directions, read by the treatment app (docs/treatment.md#sessions): how many dispensing
    # units one session takes, and how often sessions are allowed. `sessions_per_week` empty = the
    # treatment policy's default (2).
    units_per_session = models.PositiveSmallIntegerField(default=1)
    sessions_per_day = models.PositiveSmallIntegerField(default=1)
    sessions_per_week = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=32, choices=PrescriptionStatus.choices, default=PrescriptionStatus.DRAFT)
    erx_status = models.CharField(max_length=20, choices=ErxStatus.choices, blank=True)
    erx_message = models.CharField(max_length=500, blank=True, help_text="The vendor's message, or our reason codes.")
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    patient_state = models.CharField(max_length=2, blank=True, help_text="The patient's state at signing.")
    prescribing_basis = models.CharField(
        max_length=32,
        choices=PrescribingBasis.choices,
        blank=True,
        help_text="The lawful basis for prescribing by telemedicine this signature relied on.",
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    snapshot = models.JSONField(default=dict, blank=True, help_text="The legal contents, frozen at signing.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="rx_quantity_positive"),
            models.CheckConstraint(condition=Q(days_supply__gt=0), name="rx_days_supply_positive"),
            models.CheckConstraint(condition=Q(refills__lte=5), name="rx_refills_schedule_iii"),
            models.CheckConstraint(
                condition=Q(units_per_session__gt=0, sessions_per_day__gt=0)
                & (Q(sessions_per_week__isnull=True) | Q(sessions_per_week__gt=0)),
                name="rx_session_directions_positive",
            ),
            models.CheckConstraint(
                condition=Q(first_fill_quantity__isnull=True) | Q(first_fill_quantity__gt=0),
                name="rx_first_fill_positive",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "discarded", "awaiting_epcs_signature"])
                | Q(signed_at__isnull=False, expires_on__isnull=False),
                name="rx_signed_has_signature",
            ),
            # A prescription is superseded by at most one other.
            models.UniqueConstraint(fields=["supersedes"], name="rx_supersedes_once"),
        ]
        indexes = [models.Index(fields=["patient", "status"]), models.Index(fields=["physician", "status"])]

    def __str__(self) -> str:
        return f"prescription #{self.pk}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            original = type(self).objects.filter(pk=self.pk).values(*_FROZEN_AFTER_SIGNING, "status").first()
            if original and original["signed_at"] is not None:
                changed = [f for f in _FROZEN_AFTER_SIGNING if getattr(self, f) != original[f]]
                status_ok = self.status == original["status"] or (
                    original["status"] == PrescriptionStatus.SIGNED
                    and self.status in (PrescriptionStatus.SUPERSEDED, PrescriptionStatus.CANCELLED)
                )
                if changed or not status_ok:
                    raise PrescriptionSignedError(f"signed prescription {self.pk} cannot change: {changed}")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.signed_at is not None:
            raise PrescriptionSignedError(f"signed prescription {self.pk} cannot be deleted")
        return super().delete(*args, **kwargs)

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class SigningAttempt(models.Model):
    """Every attempt to sign, with the result of every gate, so "why was it refused" (or "why was
    it allowed") is answerable later. `checks` is [{"gate", "passed", "codes"}] (codes only)."""

    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="signing_attempts")
    attempted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    attempted_at = models.DateTimeField(default=timezone.now)
    signing_date = models.DateField()
    policy = models.ForeignKey(PrescribingPolicy, null=True, on_delete=models.PROTECT, related_name="+")
    succeeded = models.BooleanField()
    reasons = models.JSONField(default=list, blank=True)
    checks = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"signing attempt #{self.pk}"

    @property
    def audit_patient_id(self) -> int:
        return self.prescription.patient_id


# --- Delivery ---------------------------------------------------------------------------------
class OrderStatus(models.TextChoices):
    CREATED = "created", "Created"
    SENT_TO_PHARMACY = "sent_to_pharmacy", "Sent to pharmacy"
    COMPOUNDING = "compounding", "Compounding"
    SHIPPED = "shipped", "Shipped"
    IN_TRANSIT = "in_transit", "In transit"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERED = "delivered", "Delivered"
    EXCEPTION = "exception", "Exception"
    RETURNED = "returned", "Returned"
    CANCELLED = "cancelled", "Cancelled"
    ON_HOLD = "on_hold", "On hold"


class DeliveryOrder(models.Model):
    """One patient-specific fill of a signed prescription, from hand-off to the patient's door.

    The shipping address is a snapshot of the patient's verified address at creation; the
    carrier must obtain an adult signature (controlled substance), enforced by a constraint.
    Status moves only through `prescriptions.state_machine` and every move is an OrderEvent.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="orders")
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="delivery_orders")
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.PROTECT, related_name="orders")
    sequence = models.PositiveIntegerField(help_text="1 = first fill, 2 = first refill, ...")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.CREATED, db_index=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    ship_to_name = models.CharField(max_length=200)
    ship_to_line1 = models.CharField(max_length=200)
    ship_to_line2 = models.CharField(max_length=200, blank=True)
    ship_to_city = models.CharField(max_length=100)
    ship_to_state = models.CharField(max_length=2, choices=STATES, db_index=True)
    ship_to_zip = models.CharField(max_length=10)
    ship_to_county_fips = models.CharField(max_length=5, blank=True)
    adult_signature_required = models.BooleanField(default=True, editable=False)
    carrier = models.CharField(max_length=32, blank=True, db_index=True)
    tracking_number = models.CharField(max_length=64, blank=True, db_index=True)
    tracker_id = models.CharField(max_length=64, blank=True, help_text="The carrier tracker's id (EasyPost trk_...).")
    carrier_status = models.CharField(max_length=32, blank=True, help_text="The carrier's raw status.")
    last_carrier_update = models.DateTimeField(
        null=True, blank=True, help_text="Carrier's timestamp of the last update applied (orders updates)."
    )
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    hold_reasons = models.JSONField(
        default=list, blank=True, help_text="Reason codes while the order waits on_hold (prescriptions/fill_checks.py)."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["prescription", "sequence"], name="order_sequence_unique"),
            models.UniqueConstraint(fields=["tracker_id"], condition=~Q(tracker_id=""), name="order_tracker_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(condition=Q(adult_signature_required=True), name="order_adult_signature"),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_valid"),
        ]
        # The staff board's default order (newest first): without it every page sorts the whole table.
        indexes = [models.Index(fields=["-created_at", "-id"], name="order_newest_first")]

    def __str__(self) -> str:
        return f"order {self.public_id}"


class EventSource(models.TextChoices):
    USER = "user", "A person"
    SYSTEM = "system", "The system"
    EASYPOST = "easypost", "EasyPost webhook"
    POLL = "poll", "Carrier poll"
    PHARMACY_GATEWAY = "pharmacy_gateway", "Pharmacy hand-off"
    ERX = "erx", "E-prescribing vendor"


class OrderEvent(models.Model):
    """One status transition of a delivery order: from, to, who or what, when. The note is
    operational text without PHI (no names, drug or address)."""

    order = models.ForeignKey(DeliveryOrder, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=OrderStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=20, choices=EventSource.choices, default=EventSource.USER)
    occurred_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


class CarrierEvent(models.Model):
    """Every carrier update received (webhook event or poll result), unique by its id so a
    redelivered webhook is recognised; `applied` says whether it moved the order."""

    event_id = models.CharField(max_length=128, unique=True)
    order = models.ForeignKey(DeliveryOrder, null=True, on_delete=models.CASCADE, related_name="carrier_events")
    source = models.CharField(max_length=20, choices=EventSource.choices)
    carrier_status = models.CharField(max_length=32, blank=True)
    carrier_updated_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    applied = models.BooleanField(default=False)
    outcome = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return self.event_id


class NoticeKind(models.TextChoices):
    PATIENT_SHIPPED = "patient_shipped", "Patient: shipped"
    PATIENT_OUT_FOR_DELIVERY = "patient_out_for_delivery", "Patient: out for delivery"
    PATIENT_DELIVERED = "patient_delivered", "Patient: delivered"
    STAFF_EXCEPTION = "staff_exception", "Staff: delivery exception"
    STAFF_RETURNED = "staff_returned", "Staff: returned"
    STAFF_SILENT = "staff_silent", "Staff: no carrier update"


class OrderNotice(models.Model):
    """A notice sent about an order, unique per kind so it is sent once however often a task runs."""

    order = models.ForeignKey(DeliveryOrder, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=32, choices=NoticeKind.choices)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "kind"], name="order_notice_once")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.order_id}"


# --- Refills ----------------------------------------------------------------------------------
class RefillStatus(models.TextChoices):
    OPEN = "open", "Open"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class RefillRequest(models.Model):
    """A patient's request for the next fill of a signed prescription; at most one open each."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="refill_requests")
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=RefillStatus.choices, default=RefillStatus.OPEN)
    patient_note = models.CharField(max_length=500, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(max_length=500, blank=True)
    # Asked for sooner than the logged sessions and the directions allow (possible diversion,
    # docs/treatment.md#supply): accepted, but approval needs the physician's note.
    early_refill = models.BooleanField(default=False)
    early_refill_detail = models.JSONField(default=dict, blank=True)
    approval_note = models.CharField(max_length=1000, blank=True)
    order = models.OneToOneField(
        DeliveryOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="refill_request"
    )

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["prescription"], condition=Q(status="open"), name="refill_one_open_per_prescription"
            )
        ]

    def __str__(self) -> str:
        return f"refill request #{self.pk}"
