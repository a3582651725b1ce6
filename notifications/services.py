"""The one door for outbound messages and external side effects (docs/notifications.md).

`notify(kind=, recipient=, context=, dedupe_key=)` and `effect_enqueue(handler=, args=, dedupe_key=)`
are called *inside* the caller's transaction: they write outbox rows that commit or roll back with
the change, and ask for a send after commit (the fast path). If that enqueue is lost (the broker
is down at commit, or the worker dies), the beat sweep (`notifications.tasks.outbox_sweep`) finds
the row and sends it (the slow path). Nothing is sent here.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import User
from notifications import outbox
from notifications.kinds import KINDS, render
from notifications.models import (
    Channel,
    Delivery,
    Device,
    NotificationPreference,
    OutboxEffect,
    OutboxStatus,
    SmsOptOut,
)
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


class _Lookups:
    """What planning reads about a recipient, one query at a time (a single notify)."""

    def pref(self, user) -> NotificationPreference | None:
        return preference_for(user)

    def stopped(self, phone: str) -> bool:
        return sms_blocked(phone)

    def devices(self, user) -> list[int]:
        if user is None or not user.pk:
            return []
        return list(Device.objects.filter(user=user).order_by("pk").values_list("pk", flat=True))

    def zone(self, user) -> ZoneInfo:
        return contact_of(user)[1]


class _BulkLookups(_Lookups):
    """The same answers for many notices in three queries (preferences, STOPs, devices); the
    zone comes from the notice when the caller knows it (visit reminders do)."""

    def __init__(self, notices: list[Notice]):
        users = {n.recipient.user.pk for n in notices if n.recipient.user is not None and n.recipient.user.pk}
        phones = {n.recipient.phone.strip() for n in notices if n.recipient.phone.strip()}
        self._prefs = {p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=users)} if users else {}
        self._stopped = (
            set(SmsOptOut.objects.filter(phone__in=phones).values_list("phone", flat=True)) if phones else set()
        )
        self._devices: dict[int, list[int]] = {}
        wants_push = {
            n.recipient.user.pk
            for n in notices
            if n.recipient.user is not None and Channel.PUSH in (n.channels or KINDS[n.kind].channels)
        }
        if wants_push:
            rows = Device.objects.filter(user_id__in=wants_push).order_by("pk").values_list("user_id", "pk")
            for user_id, pk in rows:
                self._devices.setdefault(user_id, []).append(pk)
        self._zones = {n.recipient.user.pk: n.zone for n in notices if n.zone is not None and n.recipient.user}

    def pref(self, user):
        return self._prefs.get(user.pk) if user is not None else None

    def stopped(self, phone: str) -> bool:
        return phone in self._stopped

    def devices(self, user) -> list[int]:
        return self._devices.get(user.pk, []) if user is not None else []

    def zone(self, user) -> ZoneInfo:
        return self._zones.get(user.pk) or super().zone(user)


@dataclass(frozen=True)
class Plan:
    pairs: list[tuple[str, str]]  # (channel, address)
    not_before: datetime | None  # held until the recipient's quiet hours end


def _plan(
    kind: str,
    recipient: Recipient,
    channels: tuple[str, ...] | None,
    deliver_by: datetime | None,
    now: datetime,
    lookups: _Lookups | None = None,
) -> Plan:
    """Which (channel, address) pairs, and from when (docs/notifications.md#channels).

    The kind's channels (or the caller's), less those the person switched off for the kind's
    group, less SMS without consent (an in-app "no" or a STOP: consent is law, even for required
    notices), less channels without an address (no phone, no device). A push goes to each of the
    person's devices. Inside the person's quiet hours a row waits until they end, unless
    `deliver_by` (a visit's start) comes first. Required kinds (safety, billing that must reach the
    patient) ignore the group choices and quiet hours."""
    spec = KINDS[kind]
    lookups = lookups or _Lookups()
    wanted = channels if channels is not None else spec.channels
    user = recipient.user
    pref = lookups.pref(user) if spec.group else None
    optional = not spec.required
    pairs: list[tuple[str, str]] = []
    for channel in wanted:
        if pref is not None and optional and not pref.allows(spec.group, channel):
            continue
        if channel == Channel.EMAIL:
            addresses = [recipient.email]
        elif channel == Channel.SMS:
            phone = recipient.phone.strip()
            if not phone or lookups.stopped(phone) or (pref is not None and not pref.sms_consent):
                continue
            addresses = [phone]
        elif channel == Channel.PUSH:
            addresses = [f"device:{pk}" for pk in lookups.devices(user)]
        else:
            addresses = []
        pairs.extend((str(channel), a.strip()) for a in addresses if a and a.strip())
    not_before = None
    if pairs and pref is not None and optional and pref.quiet_start is not None:
        zone = lookups.zone(user)
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
            _publish_deliveries_on_commit(ready)
    return ids


@dataclass(frozen=True)
class Notice:
    """One notify call, for `notify_many`. `zone`: the recipient's time zone when the caller has
    it already (for quiet hours), else it is looked up."""

    kind: str
    recipient: Recipient
    dedupe_key: str
    context: dict = field(default_factory=dict)
    channels: tuple[str, ...] | None = None
    deliver_by: datetime | None = None
    zone: ZoneInfo | None = None


def notify_many(notices: Iterable[Notice], *, publish: bool = True, claim_for: str = "") -> list[int]:
    """`notify` for many notices at once (a batch job's chunk): the same rules, rows and dedupe
    keys, in a fixed number of queries whatever the count (preferences, STOPs, devices, one
    INSERT, one SELECT). Returns the ids of the rows that may go now (pending, not held by quiet
    hours), including rows an earlier call with the same key wrote. `publish=False`: the caller is
    already a worker and sends them itself after its commit (`deliveries_send`); the sweep sends
    them if it dies first. `claim_for` (that worker's task id): new rows that may go now are
    written already claimed by it (one write per row fewer); if it dies, the redelivered task
    sends them (`deliveries_resume`), else the sweep after its stale window."""
    notices = list(notices)
    if not notices:
        return []
    now = timezone.now()
    lookups = _BulkLookups(notices)
    rows = []
    for n in notices:
        plan = _plan(n.kind, n.recipient, n.channels, n.deliver_by, now, lookups)
        if not plan.pairs:
            continue
        subject, body = render(n.kind, n.context or {})
        held = plan.not_before
        claimed = {"status": OutboxStatus.SENDING, "claimed_by": claim_for, "claimed_at": now, "attempts": 1}
        rows.extend(
            Delivery(
                kind=n.kind,
                channel=channel,
                recipient=n.recipient.user,
                address=address,
                subject=subject[:200],
                body=body,
                dedupe_key=n.dedupe_key,
                not_before=held,
                next_attempt_at=max(_sweep_after(now), held) if held else _sweep_after(now),
                **(claimed if claim_for and not held else {}),
            )
            for channel, address in plan.pairs
        )
    if not rows:
        return []
    wanted = {(r.dedupe_key, r.channel, r.address) for r in rows}
    with transaction.atomic():
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        mine = Q(status=OutboxStatus.SENDING, claimed_by=claim_for) if claim_for else Q(pk__in=[])
        found = Delivery.objects.filter(
            Q(status=OutboxStatus.PENDING) | mine, dedupe_key__in={r.dedupe_key for r in rows}
        )
        ready = [
            pk
            for pk, key, channel, address, not_before in found.order_by("pk").values_list(
                "pk", "dedupe_key", "channel", "address", "not_before"
            )
            if (key, channel, address) in wanted and (not_before is None or not_before <= now)
        ]
        if ready and publish:
            _publish_deliveries_on_commit(ready)
    return ready


def deliveries_send(ids: list[int], *, token: str = "") -> int:
    """Send these deliveries now, in this process (a worker that wrote them with
    `notify_many(publish=False)`, after its commit): claimed together by compare-and-swap under
    `token`, each sent and marked on its own. Returns how many were sent. Rows another worker
    holds, or already sent, are left alone; a crash leaves the rest to the redelivered task (same
    token: `deliveries_resume`) or to the sweep."""
    return outbox.perform_batch(Delivery, ids, token=token or f"local-{uuid.uuid4().hex}")


def deliveries_resume(*, token: str) -> int:
    """Send the deliveries still claimed by `token` (a task whose worker died, delivered again by
    the broker with the same id): at once, not after the stale window. The one in flight at the
    crash may have reached the provider: it is sent again (at least once). Returns how many were
    sent."""
    if not token:
        return 0
    ids = list(
        Delivery.objects.filter(status=OutboxStatus.SENDING, claimed_by=token)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return outbox.perform_batch(Delivery, ids, token=token) if ids else 0


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


def _publish_deliveries_on_commit(ids: list[int]) -> None:
    from notifications.tasks import send_deliveries  # lazy: the tasks module imports this app's outbox

    _publish_on_commit(send_deliveries, ids)


def _publish_on_commit(task, ids: list[int]) -> None:
    def publish():
        try:
            # No publish retries: a web request must not hang on a dead broker; the rows are
            # committed and the sweep sends them.
            task.apply_async(args=[ids], retry=False)
        except Exception:
            logger.warning("outbox enqueue failed task=%s rows=%d: the sweep will send them", task.name, len(ids))

    transaction.on_commit(publish)
