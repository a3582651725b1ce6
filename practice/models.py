"""Service area (counties) and physicians' credentials (profile, licences, DEA and CDS registrations)."""

from __future__ import annotations

import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from practice.identifiers import validate_dea_format, validate_npi


class ServiceState(models.TextChoices):
    """The states the practice serves. Our own choices, not every US state: a licence elsewhere is meaningless here."""

    FLORIDA = "FL", "Florida"
    NEW_JERSEY = "NJ", "New Jersey"


class County(models.Model):
    """A county of the service area, keyed on its 5-digit FIPS code ("Union" exists in both states).

    Loaded from seeds/data/counties.csv by a data migration, so every environment has all 88.
    """

    fips = models.CharField(max_length=5, primary_key=True)
    name = models.CharField(max_length=64)
    state = models.CharField(max_length=2, choices=ServiceState.choices)

    class Meta:
        ordering = ["state", "name"]
        verbose_name_plural = "counties"
        constraints = [
            models.UniqueConstraint(fields=["state", "name"], name="county_unique_name_per_state"),
            models.CheckConstraint(condition=models.Q(state__in=ServiceState.values), name="county_state_served"),
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.state} ({self.fips})"


def _validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError("Enter an IANA time zone such as America/New_York.", code="invalid_time_zone")


class PhysicianProfile(models.Model):
    """A physician's professional details. Names come from the User; credentials hang off the User."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="physician_profile",
        limit_choices_to={"role": "physician"},
    )
    npi = models.CharField("NPI", max_length=10, unique=True, validators=[validate_npi])
    time_zone = models.CharField(max_length=64, default="America/New_York", validators=[_validate_time_zone])
    accepting_new_patients = models.BooleanField(default=True)
    new_patient_cap = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no cap.")
    office_address_line1 = models.CharField(max_length=200, blank=True)
    office_address_line2 = models.CharField(max_length=200, blank=True)
    office_city = models.CharField(max_length=100, blank=True)
    office_state = models.CharField(max_length=2, blank=True)
    office_zip_code = models.CharField(max_length=10, blank=True)
    static_video_url = models.URLField(blank=True, help_text="Fallback video room when the provider is down.")
    telemedicine_special_registration = models.CharField(
        max_length=32,
        blank=True,
        help_text="DEA special registration for telemedicine, once such a rule exists (docs/prescribing-basis.md).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user__last_name", "user__first_name", "id"]

    def __str__(self) -> str:
        return f"Physician profile #{self.pk} (NPI {self.npi})"


class CredentialStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    SUSPENDED = "suspended", "Suspended"
    EXPIRED = "expired", "Expired"


class LicenceKind(models.TextChoices):
    FULL_LICENCE = "full_licence", "Full licence"
    # F.S. 456.47(4): an out-of-state physician may treat Florida patients by telehealth once registered.
    FL_TELEHEALTH_REGISTRATION = "fl_telehealth_registration", "Florida out-of-state telehealth registration"


class DEASchedule(models.TextChoices):
    II = "II", "Schedule II"
    IIN = "IIN", "Schedule II non-narcotic"
    III = "III", "Schedule III"
    IIIN = "IIIN", "Schedule III non-narcotic"
    IV = "IV", "Schedule IV"
    V = "V", "Schedule V"


class _Credential(models.Model):
    """What licences and registrations share: a holder, a status and an expiry date.

    A credential is valid on its expiry date and invalid from the day after (boards print
    "expires <date>" meaning through the end of that day).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE)
    issued_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    kind_label = "credential"

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        if self.issued_on and self.expires_on and self.expires_on <= self.issued_on:
            raise ValidationError(
                {
                    "expires_on": ValidationError(
                        "The expiry date must be after the issue date.", code="expiry_before_issue"
                    )
                }
            )

    def is_valid_on(self, day) -> bool:
        return (
            self.status == CredentialStatus.ACTIVE
            and (self.issued_on is None or self.issued_on <= day)
            and day <= self.expires_on
        )


def _expiry_after_issue(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q(issued_on__isnull=True) | models.Q(expires_on__gt=models.F("issued_on")),
        name=name,
        violation_error_code="expiry_before_issue",
        violation_error_message="The expiry date must be after the issue date.",
    )


def _status_known(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=models.Q(status__in=CredentialStatus.values), name=name)


class StateLicense(_Credential):
    """A state medical licence, or Florida's out-of-state telehealth registration (Florida only)."""

    physician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="state_licences",
        limit_choices_to={"role": "physician"},
    )
    state = models.CharField(max_length=2, choices=ServiceState.choices)
    number = models.CharField(max_length=32)
    kind = models.CharField(max_length=32, choices=LicenceKind.choices, default=LicenceKind.FULL_LICENCE)
    issued_on = models.DateField()

    kind_label = "licence"

    class Meta:
        ordering = ["state", "-expires_on", "id"]
        constraints = [
            _expiry_after_issue("licence_expiry_after_issue"),
            _status_known("licence_status_known"),
            models.CheckConstraint(condition=models.Q(state__in=ServiceState.values), name="licence_state_served"),
            models.CheckConstraint(
                condition=~models.Q(kind=LicenceKind.FL_TELEHEALTH_REGISTRATION) | models.Q(state=ServiceState.FLORIDA),
                name="licence_telehealth_registration_florida_only",
                violation_error_code="telehealth_registration_florida_only",
                violation_error_message="Only Florida has an out-of-state telehealth registration.",
            ),
            models.UniqueConstraint(
                fields=["state", "kind", "number"],
                name="licence_number_unique_per_state",
                violation_error_code="licence_number_taken",
                violation_error_message="This licence number is already recorded for that state.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.state} #{self.pk}"

    def clean(self) -> None:
        errors = {}
        try:
            super().clean()
        except ValidationError as exc:
            errors.update(exc.error_dict)
        if self.kind == LicenceKind.FL_TELEHEALTH_REGISTRATION and self.state and self.state != ServiceState.FLORIDA:
            errors["kind"] = [
                ValidationError(
                    "Only Florida has an out-of-state telehealth registration.",
                    code="telehealth_registration_florida_only",
                )
            ]
        if errors:
            raise ValidationError(errors)


def _validate_schedules(value) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("List at least one schedule.", code="invalid_schedules")
    unknown = [s for s in value if s not in DEASchedule.values]
    if unknown or len(set(value)) != len(value):
        raise ValidationError(
            "Schedules are a list of distinct values among II, IIN, III, IIIN, IV, V.", code="invalid_schedules"
        )


class DEARegistration(_Credential):
    """A DEA registration, one per state. A checksum failure is flagged for manual verification, not rejected."""

    physician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="dea_registrations",
        limit_choices_to={"role": "physician"},
    )
    state = models.CharField(max_length=2, choices=ServiceState.choices)
    number = models.CharField("DEA number", max_length=9, validators=[validate_dea_format])
    schedules = models.JSONField(default=list, validators=[_validate_schedules], help_text='e.g. ["II", "III", "IIIN"]')
    needs_verification = models.BooleanField(
        default=False, help_text="The number fails the DEA checksum: staff must verify it before prescribing."
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)

    kind_label = "DEA registration"

    class Meta:
        ordering = ["state", "-expires_on", "id"]
        verbose_name = "DEA registration"
        constraints = [
            _expiry_after_issue("dea_expiry_after_issue"),
            _status_known("dea_status_known"),
            models.CheckConstraint(condition=models.Q(state__in=ServiceState.values), name="dea_state_served"),
            models.UniqueConstraint(
                fields=["physician", "state"],
                condition=models.Q(status="active"),
                name="dea_one_active_per_state",
                violation_error_code="dea_already_active",
                violation_error_message="This physician already has an active DEA registration for that state.",
            ),
        ]

    def __str__(self) -> str:
        return f"DEA registration {self.state} #{self.pk}"

    def covers_schedule_iii(self) -> bool:
        return bool({"III", "IIIN"} & set(self.schedules or []))


class NJCDSRegistration(_Credential):
    """New Jersey's Controlled Dangerous Substances registration (needed to prescribe in NJ)."""

    physician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="nj_cds_registrations",
        limit_choices_to={"role": "physician"},
    )
    number = models.CharField("CDS number", max_length=32)

    kind_label = "NJ CDS registration"

    class Meta:
        ordering = ["-expires_on", "id"]
        verbose_name = "NJ CDS registration"
        constraints = [
            _expiry_after_issue("cds_expiry_after_issue"),
            _status_known("cds_status_known"),
            models.UniqueConstraint(
                fields=["physician"],
                condition=models.Q(status="active"),
                name="cds_one_active_per_physician",
                violation_error_code="cds_already_active",
                violation_error_message="This physician already has an active NJ CDS registration.",
            ),
        ]

    def __str__(self) -> str:
        return f"NJ CDS registration #{self.pk}"


class CredentialChange(models.Model):
    """Who changed which credential, and how (credentials are not PHI, so values are kept).

    Written by the credential services in the same transaction; the expiry task writes rows with no actor.
    """

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        EXPIRE = "expire", "Marked expired"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    physician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    credential_type = models.CharField(max_length=32)  # "physicianprofile", "statelicense", "dearegistration", ...
    credential_id = models.BigIntegerField()
    action = models.CharField(max_length=16, choices=Action.choices)
    changes = models.JSONField(default=dict, blank=True)  # {field: [old, new]}
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["credential_type", "credential_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.credential_type}#{self.credential_id}"


class CredentialExpiryNotice(models.Model):
    """One row per credential per expiry date warned about: the unique key makes the warning once-only."""

    credential_type = models.CharField(max_length=32)
    credential_id = models.BigIntegerField()
    expires_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    # Claimed (compare-and-swap) just before the email goes out; reset if sending fails, so the next run retries.
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["credential_type", "credential_id", "expires_on"],
                name="expiry_notice_once_per_credential_expiry",
            )
        ]

    def __str__(self) -> str:
        return f"expiry notice {self.credential_type}#{self.credential_id} {self.expires_on}"
