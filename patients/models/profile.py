from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from localflavor.us.models import USStateField
from phonenumber_field.modelfields import PhoneNumberField

SERVED_STATES = ("FL", "NJ")


class PatientProfile(models.Model):
    """A patient's identity, home address in the service area, contacts and care-team link.

    The address is checked against the service area (practice.service_area) whenever it changes;
    `time_zone` and `address_verified_at` come from that check, never from the patient. The
    treatment monitor is the adult who must be present, sober, for every at-home session
    (docs/safety.md#monitor). `assigned_physician` is the caseload link: a physician sees a patient's
    records only through it.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patient_profile")
    legal_first_name = models.CharField(max_length=150)
    legal_last_name = models.CharField(max_length=150)
    date_of_birth = models.DateField()
    phone = PhoneNumberField(region="US", blank=True)

    address_line1 = models.CharField(max_length=200)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    state = USStateField()
    county = models.ForeignKey("practice.County", on_delete=models.PROTECT, related_name="+")
    zip_code = models.CharField(max_length=5)
    time_zone = models.CharField(max_length=64, default="America/New_York")
    address_verified_at = models.DateTimeField(null=True, blank=True)

    emergency_contact_name = models.CharField(max_length=150, blank=True)
    emergency_contact_phone = PhoneNumberField(region="US", blank=True)
    emergency_contact_relationship = models.CharField(max_length=60, blank=True)

    monitor_name = models.CharField(max_length=150, blank=True)
    monitor_phone = PhoneNumberField(region="US", blank=True)
    monitor_relationship = models.CharField(max_length=60, blank=True)
    monitor_adult_confirmed = models.BooleanField(default=False)

    pharmacy_name = models.CharField(max_length=150, blank=True)
    pharmacy_phone = PhoneNumberField(region="US", blank=True)

    assigned_physician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="caseload_profiles",
    )
    physician_assigned_at = models.DateTimeField(null=True, blank=True)
    # Copies of the user's last and first name (accounts.User), the caseload's order: with the
    # index below, a page of a physician's patients by name is read in order from the index,
    # without visiting every patient's user to sort them. Kept equal to the user's by
    # patients.signals (docs/caseload.md#order); never shown.
    user_last_name = models.CharField(max_length=150, blank=True, default="", editable=False)
    user_first_name = models.CharField(max_length=150, blank=True, default="", editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["assigned_physician", "user_last_name", "user_first_name", "user"],
                name="profile_caseload_order",
            )
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(state__in=SERVED_STATES), name="patientprofile_state_served"),
            models.CheckConstraint(condition=models.Q(zip_code__regex=r"^[0-9]{5}$"), name="patientprofile_zip5"),
            # No monitor without the patient's confirmation that the monitor is an adult.
            models.CheckConstraint(
                condition=models.Q(monitor_name="") | models.Q(monitor_adult_confirmed=True),
                name="patientprofile_monitor_adult",
            ),
        ]

    def __str__(self) -> str:
        return f"patient profile #{self.pk}"  # no names: this ends up in logs

    @property
    def audit_patient_id(self) -> int:
        return self.user_id

    @property
    def has_treatment_monitor(self) -> bool:
        return bool(self.monitor_name and self.monitor_phone and self.monitor_adult_confirmed)

    @property
    def is_complete(self) -> bool:
        return not self.missing_items

    @property
    def missing_items(self) -> list[str]:
        missing = []
        if not self.phone:
            missing.append("phone")
        if not (self.emergency_contact_name and self.emergency_contact_phone):
            missing.append("emergency_contact")
        if not self.has_treatment_monitor:
            missing.append("treatment_monitor")
        if self.address_verified_at is None:
            missing.append("verified_address")
        return missing
