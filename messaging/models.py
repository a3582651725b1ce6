"""One thread per patient with their care team; messages encrypted at rest (docs/messaging.md)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.encryption import EncryptedTextField


class Thread(models.Model):
    """A patient's one conversation with the care team.

    `waiting_since`/`due_at` describe the oldest patient message not yet answered (null when the
    care team spoke last); `overdue_notified_at` records that the care team was told it went past
    `due_at`, once per waiting period."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="message_thread")
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(null=True, blank=True)
    waiting_since = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    last_answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(waiting_since__isnull=True, due_at__isnull=True)
                | models.Q(waiting_since__isnull=False, due_at__isnull=False),
                name="messaging_thread_waiting_has_due",
            )
        ]

    def __str__(self) -> str:
        return f"thread {self.public_id}"


class SenderRole(models.TextChoices):
    PATIENT = "patient"
    CARE_TEAM = "care_team"
    AUTOMATIC = "automatic"  # the crisis reply, written by the practice's rules


def attachment_path(instance, filename: str) -> str:
    # An opaque name: the patient's own file name may carry PHI, and is kept (encrypted) apart.
    return f"messages/{instance.thread.public_id}/{uuid.uuid4().hex}"


class Message(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="messages")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sender_role = models.CharField(max_length=12, choices=SenderRole.choices)
    body = EncryptedTextField(null=True, blank=True)  # empty (null) only beside an attachment
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Patient messages: the reply time (1 business day); answered when the care team replies.
    due_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    # Read by the other side (the care team for a patient's message, the patient otherwise).
    read_at = models.DateTimeField(null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    crisis = models.BooleanField(default=False, help_text="Crisis words found: the automatic reply and a flag.")
    attachment = models.FileField(upload_to=attachment_path, blank=True, default="")
    attachment_name = EncryptedTextField(null=True, blank=True)
    attachment_content_type = models.CharField(max_length=64, blank=True, default="")
    attachment_size = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["thread", "created_at"], name="messaging_msg_thread_time")]

    def __str__(self) -> str:
        return f"message {self.public_id}"

    @property
    def audit_patient_id(self) -> int:
        return self.thread.patient_id
