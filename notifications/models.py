"""The transactional outbox (docs/notifications.md).

A row is written in the same transaction as the change that calls for it, so the message or
effect exists exactly when the change does. A worker claims a row (compare-and-swap, or
`SKIP LOCKED` for a batch), performs it outside any transaction, and marks it; beat sweeps rows
whose fast-path message was lost (broker down at commit) or whose worker died mid-send.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class OutboxStatus(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker; back to pending if it stays here too long
    SENT = "sent"  # for effects: done
    FAILED = "failed"  # permanent error, or attempts exhausted
    CANCELLED = "cancelled"


class Channel(models.TextChoices):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"  # address "device:<Device id>": the token is looked up when sending


class OutboxRow(models.Model):
    """What every outbox row has: its state, its claim and its retry schedule."""

    dedupe_key = models.CharField(max_length=200, help_text="The caller's idempotency key for this event.")
    status = models.CharField(max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_by = models.CharField(max_length=64, blank=True, default="", help_text="Id of the task holding it.")
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(help_text="When the beat sweep may take it (fast path aside).")
    last_error = models.CharField(max_length=120, blank=True, default="", help_text="Exception class only: no PHI.")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class Delivery(OutboxRow):
    """One message of one kind to one address on one channel, rendered when it was written.

    Unique per (dedupe_key, channel, address): the same event notified twice (a retried task, a
    second webhook) writes nothing new. Subject and body never carry PHI: they say that something
    happened and where to look.
    """

    kind = models.CharField(max_length=64)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    address = models.CharField(max_length=254, help_text="Email address or E.164 phone number.")
    subject = models.CharField(max_length=200, blank=True, default="")
    body = models.TextField()
    provider_id = models.CharField(max_length=128, blank=True, default="")
    not_before = models.DateTimeField(
        null=True, blank=True, help_text="Held until then (the recipient's quiet hours); no claim before it."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key", "channel", "address"], name="notifications_delivery_once"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notif_delivery_due")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.channel}, {self.status})"


class OutboxEffect(OutboxRow):
    """An external side effect that is not a message (a pharmacy hand-off, a video room): the
    dotted path of a function and its keyword arguments (ids and primitives only, no PHI),
    called by a worker outside any transaction. The function must be safe to call again: after
    a crash mid-call the sweep calls it once more (at least once)."""

    handler = models.CharField(max_length=200)
    args = models.JSONField(default=dict, blank=True)
    result = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dedupe_key"], name="notifications_effect_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notif_effect_due")]

    def __str__(self) -> str:
        return f"{self.handler} #{self.pk} ({self.status})"


class Platform(models.TextChoices):
    IOS = "ios"
    ANDROID = "android"
    WEB = "web"


class Device(models.Model):
    """One app install's push token (docs/notifications.md#push). A token belongs to one user at
    a time: registering it again (a phone handed over, a sign-in as someone else) moves it. The
    provider's "unregistered" answer deletes the row."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_devices")
    platform = models.CharField(max_length=8, choices=Platform.choices)
    token = models.CharField(max_length=512, unique=True)
    app_version = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"device #{self.pk} ({self.platform})"


class NotificationPreference(models.Model):
    """A person's choices: per group of kinds x channel (absent = the default, on), quiet hours
    as wall-clock times in their own zone, and consent to SMS (docs/notifications.md#preferences)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    channels = models.JSONField(default=dict, blank=True, help_text='{"reminders": {"sms": false}, ...}')
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    sms_consent = models.BooleanField(default=True)
    sms_consent_changed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"notification preferences of user #{self.user_id}"

    def allows(self, group: str, channel: str) -> bool:
        return bool((self.channels or {}).get(group, {}).get(channel, True))


class SmsOptOut(models.Model):
    """A phone number that answered STOP (carrier rules: nothing more to it but the confirmation,
    until START). Kept by number, as the carrier keeps it, whoever the number belongs to."""

    phone = models.CharField(max_length=32, unique=True, help_text="E.164")
    opted_out_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"sms opt-out #{self.pk}"
