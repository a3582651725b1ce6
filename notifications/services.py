"""The one door for outbound messages and external side effects (docs/notifications.md).

`notify(kind=, recipient=, context=, dedupe_key=)` and `effect_enqueue(handler=, args=, dedupe_key=)`
are called *inside* the caller's transaction: they write outbox rows that commit or roll back with
the change, and ask for a send after commit (the fast path). If that enqueue is lost (the broker
is down at commit, or the worker dies), the beat sweep (`notifications.tasks.outbox_sweep`) finds
the row and sends it (the slow path). Nothing is sent here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import User
from notifications.kinds import KINDS, render
from notifications.models import Channel, Delivery, Device, OutboxEffect, OutboxStatus
from notifications.preferences import contact_of, preference_for, quiet_until, sms_blocked

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    """Who to reach and where. A user's email comes from the user; the phone from the caller,
    because the app that holds it (patients) sits above this one."""

    user: User | None = None
    email: str = ""
    phone: str = ""

    @classmethod
    def of(cls, user: User, *, phone: str | None = None) -> Recipient:
        return cls(user=user, email=user.email or "", phone=str(phone or ""))


def _as_recipient(recipient: User | Recipient | str) -> Recipient:
    if isinstance(recipient, Recipient):
        return recipient
    if isinstance(recipient, str):
        return Recipient(email=recipient)
    return Recipient.of(recipient)


@dataclass(frozen=True)
class Plan:
    pairs: list[tuple[str, str]]  # (channel, address)
    not_before: datetime | None  # held until the recipient's quiet hours end


def _plan(
    kind: str, recipient: Recipient, channels: tuple[str, ...] | None, deliver_by: datetime | None, now: datetime
) -> Plan:
    """Which (channel, address) pairs, and from when (docs/notifications.md#channels).

    The kind's channels (or the caller's), less those the person switched off for the kind's
    group, less SMS without consent (an in-app "no" or a STOP: consent is law, even for required
    notices), less channels without an address (no phone, no device). A push goes to each of the
    person's devices. Inside the person's quiet hours a row waits until they end, unless
    `deliver_by` (a visit's start) comes first. Required kinds (safety, billing that must reach the
    patient) ignore the group choices and quiet hours."""
    spec = KINDS[kind]
    wanted = channels if channels is not None else spec.channels
    user = recipient.user
    pref = preference_for(user) if spec.group else None
    optional = not spec.required
    pairs: list[tuple[str, str]] = []
    for channel in wanted:
        if pref is not None and optional and not pref.allows(spec.group, channel):
            continue
        if channel == Channel.EMAIL:
            addresses = [recipient.email]
        elif channel == Channel.SMS:
            phone = recipient.phone.strip()
            if not phone or sms_blocked(phone) or (pref is not None and not pref.sms_consent):
                continue
            addresses = [phone]
        elif channel == Channel.PUSH:
            devices = Device.objects.filter(user=user) if user is not None and user.pk else Device.objects.none()
            addresses = [f"device:{pk}" for pk in devices.order_by("pk").values_list("pk", flat=True)]
        else:
            addresses = []
        pairs.extend((str(channel), a.strip()) for a in addresses if a and a.strip())
    not_before = None
    if pairs and pref is not None and optional and pref.quiet_start is not None:
        _, zone = contact_of(user)
        until = quiet_until(start=pref.quiet_start, end=pref.quiet_end, zone=zone, at=now)
        if until is not None and not (deliver_by is not None and deliver_by <= until):
            not_before = until
    return Plan(pairs, not_before)


def _sweep_after(now):
    # The fast path has this long before the sweep may take the row too (both are safe; this
    # only saves the sweep's work).
    return now + timedelta(seconds=settings.NOTIFICATIONS_SWEEP_AFTER_SECONDS)


def notify(
    *,
    kind: str,
    recipient: User | Recipient | str,
    context: dict | None = None,
    dedupe_key: str,
    channels: tuple[str, ...] | None = None,
    deliver_by: datetime | None = None,
) -> list[int]:
    """Write one delivery row per channel for this recipient (once per dedupe key, channel and
    address) and send them after the caller's transaction commits. Returns the rows' ids (rows
    written by an earlier call with the same key included). Call it inside the transaction of
    the change it announces; the text is rendered now from `context` (no PHI: see kinds.py).
    Channels come from the kind and the recipient's preferences; `deliver_by` (a visit's start)
    lets a reminder through quiet hours that would hold it past that moment."""
    subject, body = render(kind, context or {})
    target = _as_recipient(recipient)
    now = timezone.now()
    plan = _plan(kind, target, channels, deliver_by, now)
    pairs = plan.pairs
    if not pairs:
        return []
    held = plan.not_before
    rows = [
        Delivery(
            kind=kind,
            channel=channel,
            recipient=target.user,
            address=address,
            subject=subject[:200],
            body=body,
            dedupe_key=dedupe_key,
            not_before=held,
            next_attempt_at=max(_sweep_after(now), held) if held else _sweep_after(now),
        )
        for channel, address in pairs
    ]
    with transaction.atomic():
        # One INSERT; a row that exists already (same event notified again) is left alone.
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        ids = list(
            Delivery.objects.filter(
                dedupe_key=dedupe_key, channel__in=[c for c, _ in pairs], address__in=[a for _, a in pairs]
            )
            .filter(status=OutboxStatus.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        # Held rows wait for the sweep (their next_attempt_at is the end of the quiet hours).
        ready = list(
            Delivery.objects.filter(pk__in=ids)
            .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
            .values_list("pk", flat=True)
        )
        if ready:
            from notifications.tasks import send_deliveries

            _publish_on_commit(send_deliveries, ready)
    return ids


def effect_enqueue(*, handler: str, args: dict | None = None, dedupe_key: str) -> int | None:
    """Write an external side effect (once per dedupe key) to be performed after commit by a
    worker, outside any transaction: `handler` is the dotted path of a function called with
    `**args` (ids and primitives only). Returns the row's id, or None when it was already done."""
    import_string(handler)  # a typo fails now, in the caller's transaction, not in a worker later
    now = timezone.now()
    with transaction.atomic():
        OutboxEffect.objects.bulk_create(
            [OutboxEffect(handler=handler, args=args or {}, dedupe_key=dedupe_key, next_attempt_at=_sweep_after(now))],
            ignore_conflicts=True,
        )
        pk = (
            OutboxEffect.objects.filter(dedupe_key=dedupe_key, status=OutboxStatus.PENDING)
            .values_list("pk", flat=True)
            .first()
        )
        if pk is not None:
            from notifications.tasks import run_effects

            _publish_on_commit(run_effects, [pk])
    return pk


def notifications_cancel(*, dedupe_key: str) -> int:
    """Cancel the deliveries of an event that no longer needs telling (not those already claimed)."""
    return Delivery.objects.filter(dedupe_key=dedupe_key, status=OutboxStatus.PENDING).update(
        status=OutboxStatus.CANCELLED
    )


def _publish_on_commit(task, ids: list[int]) -> None:
    def publish():
        try:
            # No publish retries: a web request must not hang on a dead broker; the rows are
            # committed and the sweep sends them.
            task.apply_async(args=[ids], retry=False)
        except Exception:
            logger.warning("outbox enqueue failed task=%s rows=%d: the sweep will send them", task.name, len(ids))

    transaction.on_commit(publish)
