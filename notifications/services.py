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
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import User
from notifications.kinds import KINDS, render
from notifications.models import Channel, Delivery, OutboxEffect, OutboxStatus

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


def _channels_for(kind: str, recipient: Recipient, channels: tuple[str, ...] | None) -> list[tuple[str, str]]:
    """(channel, address) pairs. The kind's defaults unless the caller names channels; a
    channel without an address for this recipient is skipped. Per-user preferences plug in here
    when they exist (docs/notifications.md#channels)."""
    wanted = channels if channels is not None else KINDS[kind].channels
    pairs = []
    for channel in wanted:
        address = {Channel.EMAIL: recipient.email, Channel.SMS: recipient.phone}.get(channel, "")
        if address.strip():
            pairs.append((str(channel), address.strip()))
    return pairs


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
) -> list[int]:
    """Write one delivery row per channel for this recipient (once per dedupe key, channel and
    address) and send them after the caller's transaction commits. Returns the rows' ids (rows
    written by an earlier call with the same key included). Call it inside the transaction of
    the change it announces; the text is rendered now from `context` (no PHI: see kinds.py)."""
    subject, body = render(kind, context or {})
    target = _as_recipient(recipient)
    pairs = _channels_for(kind, target, channels)
    if not pairs:
        return []
    now = timezone.now()
    rows = [
        Delivery(
            kind=kind,
            channel=channel,
            recipient=target.user,
            address=address,
            subject=subject[:200],
            body=body,
            dedupe_key=dedupe_key,
            next_attempt_at=_sweep_after(now),
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
        if ids:
            from notifications.tasks import send_deliveries

            _publish_on_commit(send_deliveries, ids)
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
