"""The worker side of the outbox: claim, perform outside any transaction, mark.

- **Claim**: one row by compare-and-swap (`pending -> sending`, or a row this same task id
  already holds: the broker delivers a killed worker's task again with the same id), or a batch
  for the sweep under `SELECT ... FOR UPDATE SKIP LOCKED`, so two workers never hold one row.
- **Perform** with no transaction open: a slow provider holds no lock and no connection state.
- **Mark** `sent` with the provider's id, or back to `pending` with exponential backoff
  (`NOTIFICATIONS_RETRY_BASE_SECONDS` doubling, capped at `NOTIFICATIONS_RETRY_MAX_SECONDS`), or
  `failed` on a permanent error or after `NOTIFICATIONS_MAX_ATTEMPTS`. Marks only land while the
  row is still claimed by this task.
- **Sweep**: rows left in `sending` for `NOTIFICATIONS_STALE_SENDING_SECONDS` (their worker died)
  go back to pending, and so at once do rows held by this very sweep's id (a redelivery after
  its worker died); pending rows past `next_attempt_at` are claimed and performed.

The guarantee is at least once, with deduplication: a row is never performed by two workers at
once and never again once marked; only a crash between a provider accepting the message and the
mark (milliseconds) repeats a send. docs/notifications.md#guarantees.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from smtplib import SMTPRecipientsRefused

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts import notifications as backends
from api.errors import DomainError
from notifications.errors import PermanentFailure
from notifications.models import Channel, Delivery, Device, OutboxEffect, OutboxStatus
from notifications.push import DeadToken, send_push

logger = logging.getLogger(__name__)


def _is_permanent(exc: BaseException) -> bool:
    if isinstance(exc, PermanentFailure | SMTPRecipientsRefused):
        return True

    if isinstance(exc, DomainError):  # a rule refused it: retrying gives the same answer
        return True
    # Twilio and HTTP clients carry the status: a 4xx other than 408/429 will not change.
    status = getattr(exc, "status", None) or getattr(getattr(exc, "response", None), "status_code", None)
    return isinstance(status, int) and 400 <= status < 500 and status not in (408, 409, 429)


def backoff(attempts: int) -> timedelta:
    base = settings.NOTIFICATIONS_RETRY_BASE_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), settings.NOTIFICATIONS_RETRY_MAX_SECONDS))


def _claimable(model, *, token: str, now: datetime) -> Q:
    """A pending row that is new or due, or a row this token already holds (its worker died and
    the broker redelivered the same task)."""
    mine = Q(status=OutboxStatus.PENDING) & (Q(attempts=0) | Q(next_attempt_at__lte=now))
    if model is Delivery:  # a row held for the recipient's quiet hours is nobody's before then
        mine &= Q(not_before__isnull=True) | Q(not_before__lte=now)
    if token:
        mine |= Q(status=OutboxStatus.SENDING, claimed_by=token)
    return mine


def claim_one(model, pk: int, *, token: str, now: datetime | None = None) -> bool:
    """Compare-and-swap one row to sending for `token` (see `_claimable`)."""
    now = now or timezone.now()
    return bool(
        model.objects.filter(Q(pk=pk) & _claimable(model, token=token, now=now)).update(
            status=OutboxStatus.SENDING, claimed_by=token, claimed_at=now, attempts=F("attempts") + 1
        )
    )


def release_stale(model, *, now: datetime | None = None) -> int:
    """Rows claimed longer ago than the stale window belong to a dead worker: pending again."""
    now = now or timezone.now()
    cut = now - timedelta(seconds=settings.NOTIFICATIONS_STALE_SENDING_SECONDS)
    released = model.objects.filter(status=OutboxStatus.SENDING, claimed_at__lt=cut).update(
        status=OutboxStatus.PENDING, claimed_by="", next_attempt_at=now
    )
    if released:
        logger.warning("outbox rows released from a dead worker model=%s count=%d", model.__name__, released)
    return released


def take_back(model, *, token: str, now: datetime | None = None) -> int:
    """Rows still claimed by `token`: this same task (same id) was running when its worker died
    and the broker delivered it again. Pending again at once, not after the stale window. The
    row that was in flight may have reached the provider: it is sent again (at least once)."""
    if not token:
        return 0
    return model.objects.filter(status=OutboxStatus.SENDING, claimed_by=token).update(
        status=OutboxStatus.PENDING, claimed_by="", next_attempt_at=now or timezone.now()
    )


def claim_due(model, *, token: str, limit: int, now: datetime | None = None) -> list[int]:
    """Claim up to `limit` due pending rows in one transaction (SKIP LOCKED: overlapping sweeps
    take different rows; on SQLite the database lock serialises writers instead)."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            model.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            model.objects.filter(pk__in=ids).update(
                status=OutboxStatus.SENDING, claimed_by=token, claimed_at=now, attempts=F("attempts") + 1
            )
    return ids


def _mark(model, pk: int, token: str, *, flush: bool = True, **fields) -> int:
    """Record a claimed row's outcome (only while `token` still holds it), in its own commit.

    `flush=False` (batch senders: `perform_batch`): on PostgreSQL that commit does not wait for
    its WAL flush (`set_config('synchronous_commit', 'off', true)` in the same statement, so for
    this one transaction only). The flush was most of a row's cost (~10 ms of a ~11 ms mark on
    this project's machine). The mark is visible to every session at once, so a worker crash
    loses nothing; only a crash of the database server itself can lose the marks of its last
    moments (up to 3 x wal_writer_delay, 0.6 s by default, never past the next synchronous commit
    such as any claim): those rows stay claimed and are sent again after the stale window (at
    least once, as after any crash). Claims stay synchronous, so no server crash can let two
    workers hold the same row."""
    rows = model.objects.filter(pk=pk, status=OutboxStatus.SENDING, claimed_by=token)
    if flush or connection.vendor != "postgresql" or connection.in_atomic_block:
        return rows.update(**fields)  # inside a caller's transaction: leave its durability alone
    quote, meta = connection.ops.quote_name, model._meta
    table = quote(meta.db_table)
    assignments = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in fields)
    values = [meta.get_field(name).get_db_prep_save(value, connection) for name, value in fields.items()]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM (SELECT set_config('synchronous_commit', 'off', true)) AS c "
            f"WHERE {table}.id = %s AND {table}.status = %s AND {table}.claimed_by = %s",
            [*values, pk, OutboxStatus.SENDING.value, token],
        )
        return cursor.rowcount


def _perform_push(row: Delivery) -> str:
    """The device is looked up now (the token may have been refreshed since the row was written);
    a device gone, or a token the provider calls dead (then deleted), fails the row for good."""
    device = Device.objects.filter(pk=int(row.address.removeprefix("device:") or 0)).first()
    if device is None:
        raise PermanentFailure("device unregistered")
    try:
        return send_push(token=device.token, platform=device.platform, title=row.subject, body=row.body) or ""
    except DeadToken:
        deleted, _ = Device.objects.filter(pk=device.pk, token=device.token).delete()
        logger.info("push token reported dead device_id=%s deleted=%s", device.pk, bool(deleted))
        raise


def _perform_delivery(row: Delivery) -> str:
    if row.channel == Channel.PUSH:
        return _perform_push(row)
    if row.channel == Channel.SMS:
        return backends.send_sms(to=row.address, body=row.body) or ""
    if row.channel == Channel.EMAIL:
        backends.send_email(to=row.address, subject=row.subject, body=row.body)
        return ""
    raise PermanentFailure(f"unknown channel {row.channel}")


def _perform_effect(row: OutboxEffect) -> str:
    result = import_string(row.handler)(**(row.args or {}))
    return "" if result is None else str(result)[:64]


def perform_claimed(model, pk: int, *, token: str) -> bool:
    """Perform one row this caller claimed and mark the outcome. True when it was sent/done."""
    row = model.objects.filter(pk=pk, status=OutboxStatus.SENDING, claimed_by=token).first()
    if row is None:
        return False
    return _perform_row(model, row, token=token)


def _perform_row(model, row, *, token: str, flush: bool = True) -> bool:
    pk = row.pk
    try:
        outcome = _perform_delivery(row) if model is Delivery else _perform_effect(row)
    except Exception as exc:
        now = timezone.now()
        name = type(exc).__name__[:120]
        what = (model.__name__, pk, row.attempts, name)
        if _is_permanent(exc) or row.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
            _mark(model, pk, token, flush=flush, status=OutboxStatus.FAILED, last_error=name, claimed_by="")
            logger.error("outbox row failed model=%s id=%s attempts=%s error=%s", *what)
        else:
            _mark(
                model,
                pk,
                token,
                flush=flush,
                status=OutboxStatus.PENDING,
                last_error=name,
                claimed_by="",
                next_attempt_at=now + backoff(row.attempts),
            )
            logger.warning("outbox row will retry model=%s id=%s attempts=%s error=%s", *what)
        return False
    done = {"provider_id": outcome[:128]} if model is Delivery else {"result": outcome}
    _mark(model, pk, token, flush=flush, status=OutboxStatus.SENT, sent_at=timezone.now(), last_error="", **done)
    logger.info("outbox row sent model=%s id=%s", model.__name__, pk)
    return True


def perform(model, ids: list[int], *, token: str) -> int:
    """The fast path: claim and perform each of these rows. Returns how many were sent/done."""
    token = token or f"local-{uuid.uuid4().hex}"
    done = 0
    for pk in ids:
        if claim_one(model, pk, token=token):
            done += perform_claimed(model, pk, token=token)
    return done


def perform_batch(model, ids: list[int], *, token: str) -> int:
    """`perform` for a batch job's chunk: the rows are claimed by one compare-and-swap UPDATE
    (the same conditions as `claim_one`) and loaded by one SELECT, then each is performed and
    marked on its own without waiting for the WAL flush (`_mark`). Stopped mid-chunk, the rows not
    reached go back to pending."""
    if not ids:
        return 0
    now = timezone.now()
    # Rows this token holds already (written claimed, or a redelivery) are not written again.
    model.objects.filter(Q(pk__in=ids) & _claimable(model, token="", now=now)).update(
        status=OutboxStatus.SENDING, claimed_by=token, claimed_at=now, attempts=F("attempts") + 1
    )
    rows = list(model.objects.filter(pk__in=ids, status=OutboxStatus.SENDING, claimed_by=token).order_by("pk"))
    done = 0
    for i, row in enumerate(rows):
        try:
            done += _perform_row(model, row, token=token, flush=False)
        except BaseException:
            model.objects.filter(
                pk__in=[r.pk for r in rows[i + 1 :]], status=OutboxStatus.SENDING, claimed_by=token
            ).update(status=OutboxStatus.PENDING, claimed_by="", attempts=F("attempts") - 1)
            raise
    return done


def sweep(*, token: str, limit: int | None = None, now: datetime | None = None) -> dict[str, int]:
    """The slow path (beat): release dead workers' rows, then claim and perform a chunk of due
    rows of each model. Returns how many were claimed per model (a full chunk means more may be due)."""
    limit = limit or settings.NOTIFICATIONS_SWEEP_CHUNK
    token = token or f"local-{uuid.uuid4().hex}"
    claimed = {}
    for model in (Delivery, OutboxEffect):
        release_stale(model, now=now)
        take_back(model, token=token, now=now)
        ids = claim_due(model, token=token, limit=limit, now=now)
        claimed[model.__name__] = len(ids)
        for pk in ids:
            try:
                perform_claimed(model, pk, token=token)
            except BaseException:
                # Stopped mid-chunk (a deploy's SIGTERM): hand back what was not reached.
                model.objects.filter(
                    pk__in=ids, status=OutboxStatus.SENDING, claimed_by=token, sent_at__isnull=True
                ).exclude(pk=pk).update(status=OutboxStatus.PENDING, claimed_by="", attempts=F("attempts") - 1)
                raise
    return claimed
