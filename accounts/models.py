from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    PHYSICIAN = "physician", "Physician"
    STAFF = "staff", "Staff"
    ADMIN = "admin", "Administrator"


class StaffRole(models.TextChoices):
    """What a staff account does, and so what it may see (docs/roles-and-access.md).

    Only staff accounts carry one; `accounts.scopes` turns it into what the person sees.
    """

    CARE_COORDINATOR = "care_coordinator", "Care coordinator"
    PHARMACY_LIAISON = "pharmacy_liaison", "Pharmacy liaison"
    MEDICAL_DIRECTOR = "medical_director", "Medical director"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        if not email:
            raise ValueError("An email is required.")
        if extra.get("role") == Role.STAFF and not extra.get("staff_role"):
            # Every staff account was a care coordinator before the sub-roles existed.
            extra["staff_role"] = StaffRole.CARE_COORDINATOR
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.update(role=Role.ADMIN, is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone who signs in: a patient, a physician, staff or an administrator.

    Email is the login. The role decides what the person sees; role-specific details live in
    profiles owned by the apps above (PhysicianProfile in practice, PatientProfile in patients).
    Patients register themselves; physicians and staff are created by an administrator.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PATIENT, db_index=True)
    staff_role = models.CharField(
        max_length=16,
        choices=StaffRole.choices,
        blank=True,
        help_text="Staff only: what the person does, which decides what they see (minimum necessary).",
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May sign in to the admin site.")
    date_joined = models.DateTimeField(default=timezone.now)
    tokens_valid_after = models.DateTimeField(
        null=True, blank=True, help_text="Access tokens issued before this instant are refused (sign out everywhere)."
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]),
                name="user_role_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(staff_role="") | models.Q(role="staff", staff_role__in=[r.value for r in StaffRole]),
                name="user_staff_role_only_for_staff",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} #{self.pk}"  # never the email or name: this ends up in logs

    def clean(self):
        super().clean()
        if self.role == Role.STAFF and not self.staff_role:
            raise ValidationError(
                {"staff_role": ValidationError("Choose what this staff member does.", code="required")}
            )
        if self.role != Role.STAFF and self.staff_role:
            raise ValidationError({"staff_role": ValidationError("Only staff have a sub-role.", code="invalid")})

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT

    @property
    def is_physician(self) -> bool:
        return self.role == Role.PHYSICIAN

    @property
    def is_practice_staff(self) -> bool:
        """Staff of any sub-role or an administrator: the back office. Not a scope: what each of
        them may see is `accounts.scopes` (a pharmacy liaison sees no questionnaire)."""
        return self.role in (Role.STAFF, Role.ADMIN)

    @property
    def access_role(self) -> str:
        """The role that decides what this person sees: patient, physician, admin, or the staff
        sub-role (a staff account without one is a care coordinator, as every staff account was
        before the sub-roles)."""
        if self.role == Role.STAFF:
            return self.staff_role or StaffRole.CARE_COORDINATOR
        return self.role


class AuditAction(models.TextChoices):
    READ = "read", "Read"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    SIGN = "sign", "Sign"
    EXPORT = "export", "Export"


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Audit events are append-only.")

    def delete(self):
        raise PermissionError("Audit events are append-only.")


class AuditEvent(models.Model):
    """One read or write of patient health information: who, what, when, from where.

    Append-only: the model refuses updates and deletes, the admin is read-only, and on
    PostgreSQL a trigger refuses UPDATE and DELETE even from raw SQL run by the app.

    `actor` and `patient` hold user ids without a database constraint and without an index of
    their own (the two indexes below lead with them): every audited read writes one row per
    record shown, and a foreign key made each commit check every row's two users and take a
    KEY SHARE lock on them, a write to the user rows of every patient on the page, shared by
    every concurrent reader of the same patients (docs/records-and-privacy.md#audit). The ids
    come from rows read in the same request, and deleting a user an event names is still
    refused (`on_delete=PROTECT` is enforced by Django, not by the constraint).
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    actor_role = models.CharField(max_length=16, blank=True)
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    path = models.CharField(max_length=255, blank=True)
    detail = models.CharField(max_length=255, blank=True, help_text="What changed (field names only, no values).")

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["patient", "created_at"]), models.Index(fields=["actor", "created_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only.")


class RevocationReason(models.TextChoices):
    LOGOUT = "logout", "Signed out"
    PASSWORD_CHANGE = "password_change", "Password changed"
    PASSWORD_RESET = "password_reset", "Password reset"
    ACCOUNT_DEACTIVATED = "account_deactivated", "Account deactivated"


class RefreshTokenRevocation(models.Model):
    """Why a refresh token was revoked on purpose (sign-out, password change or reset, deactivation).

    A blacklisted refresh token presented again is reuse (a copied token: the whole family is
    revoked) unless it was revoked on purpose: then the answer is `token_revoked` and nothing
    else happens (docs/api-conventions.md#onboarding). Keyed by the token's jti (never reused)."""

    jti = models.CharField(max_length=255, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=24, choices=RevocationReason.choices)
    revoked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"revocation {self.reason} user #{self.user_id}"


class AccountDeletionRequest(models.Model):
    """A patient asked for their account to be deleted: the account is deactivated at once (no
    sign-in, every token revoked) and its clinical records are kept for the retention period
    (docs/account-deletion.md)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=200, blank=True, help_text="The patient's own words, optional; no PHI asked.")

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"deletion request #{self.pk} user #{self.user_id}"
