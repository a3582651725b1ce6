from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ConsentKind(models.TextChoices):
    TELEHEALTH = "telehealth", "Telehealth consent"
    KETAMINE_INFORMED_CONSENT = "ketamine_informed_consent", "Informed consent for compounded ketamine at home"
    CONTROLLED_SUBSTANCE_AGREEMENT = "controlled_substance_agreement", "Controlled-substance agreement"
    PRIVACY_NOTICE = "privacy_notice", "Notice of privacy practices"


class ConsentDocument(models.Model):
    """One version of a consent text. The current version of a kind is the highest version already
    in effect; a new version needs a new signature before the next prescription. Documents are
    loaded by a data migration so every environment has them."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=40, choices=ConsentKind.choices)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    effective_at = models.DateTimeField()

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="consentdocument_unique_version"),
            models.CheckConstraint(condition=models.Q(kind__in=ConsentKind.values), name="consentdocument_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} v{self.version}"


class ConsentSignatureQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Consent signatures are immutable.")

    def delete(self):
        raise PermissionError("Consent signatures are immutable.")


class ConsentSignature(models.Model):
    """A patient's signature of one exact document version: who, when, from where. Immutable:
    the model refuses updates and deletes, and the admin is read-only."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consent_signatures")
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="signatures")
    document_kind = models.CharField(max_length=40, choices=ConsentKind.choices)
    document_version = models.PositiveIntegerField()
    body_sha256 = models.CharField(max_length=64, help_text="Hash of the exact text signed.")
    signed_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)

    objects = ConsentSignatureQuerySet.as_manager()

    class Meta:
        ordering = ["-signed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "document"], name="consentsignature_once_per_document"),
        ]

    def __str__(self) -> str:
        return f"signature {self.public_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Consent signatures are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Consent signatures are immutable.")
