"""The daily credential expiry watch (docs/credentials.md#expiry): expired credentials leave availability at once,
and staff hear about upcoming expiries CREDENTIAL_EXPIRY_WARNING_DAYS ahead, once per credential and
expiry date (a renewal with a new date is warned about again when its time comes).

The licensing rule also checks dates itself, so a credential is refused the day after its expiry
even before this task has run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.services import notify
from practice import search_context
from practice.models import (
    CredentialChange,
    CredentialExpiryNotice,
    CredentialStatus,
    DEARegistration,
    NJCDSRegistration,
    StateLicense,
)

logger = logging.getLogger(__name__)

CREDENTIAL_MODELS = (StateLicense, DEARegistration, NJCDSRegistration)


def practice_today() -> dt.date:
    return timezone.now().astimezone(ZoneInfo(settings.PRACTICE_TIME_ZONE)).date()


def credentials_mark_expired(*, today: dt.date) -> int:
    """Active credentials whose expiry date has passed become `expired` (a credential is valid on its
    expiry day). Compare-and-swap on the status, so two runs mark and log each credential once."""
    marked = 0
    for model in CREDENTIAL_MODELS:
        due = list(
            model.objects.filter(status=CredentialStatus.ACTIVE, expires_on__lt=today).values_list("pk", "physician_id")
        )
        for pk, physician_id in due:
            with transaction.atomic():
                changed = model.objects.filter(pk=pk, status=CredentialStatus.ACTIVE, expires_on__lt=today).update(
                    status=CredentialStatus.EXPIRED, updated_at=timezone.now()
                )
                if changed:
                    if model is StateLicense:
                        # An UPDATE sends no signal: the licence leaves cached searches here.
                        search_context.changed()
                    CredentialChange.objects.create(
                        actor=None,
                        physician_id=physician_id,
                        credential_type=model._meta.model_name,
                        credential_id=pk,
                        action=CredentialChange.Action.EXPIRE,
                        changes={"status": [CredentialStatus.ACTIVE, CredentialStatus.EXPIRED]},
                    )
                    marked += 1
    if marked:
        logger.info("credentials marked expired count=%d", marked)
    return marked


def _describe(credential) -> str:
    """No names: the kind, state, id and date, and where staff find it."""
    meta = credential._meta
    state = getattr(credential, "state", "NJ")
    admin_path = f"/admin/{meta.app_label}/{meta.model_name}/{credential.pk}/change/"
    return (
        f"- {credential.kind_label} ({state}) #{credential.pk} of physician #{credential.physician_id} "
        f"expires on {credential.expires_on.isoformat()}: {admin_path}"
    )


def credentials_warn_expiring(*, today: dt.date, window_days: int | None = None) -> int:
    """Email staff about active credentials expiring within the window; returns how many were included.

    One CredentialExpiryNotice row per (credential, expiry date) is the idempotency key; its
    `sent_at` (the moment the warning was queued) is claimed by compare-and-swap in the same
    transaction that writes the email to the notifications outbox, so overlapping runs warn about
    each credential once, and a failed send is retried by the outbox.
    """
    window_days = settings.CREDENTIAL_EXPIRY_WARNING_DAYS if window_days is None else window_days
    horizon = today + dt.timedelta(days=window_days)
    by_key = {}
    for model in CREDENTIAL_MODELS:
        for credential in model.objects.filter(
            status=CredentialStatus.ACTIVE, expires_on__gte=today, expires_on__lte=horizon
        ).order_by("expires_on", "pk"):
            key = (model._meta.model_name, credential.pk, credential.expires_on)
            by_key[key] = credential
            try:
                with transaction.atomic():
                    CredentialExpiryNotice.objects.get_or_create(
                        credential_type=key[0], credential_id=key[1], expires_on=key[2]
                    )
            except IntegrityError:  # a concurrent run created it
                pass

    pending = CredentialExpiryNotice.objects.filter(sent_at__isnull=True, expires_on__gte=today).order_by("expires_on")
    now = timezone.now()
    with transaction.atomic():
        claimed = []
        for notice in pending:
            credential = by_key.get((notice.credential_type, notice.credential_id, notice.expires_on))
            if credential is None:  # renewed, deactivated or already past since the row was made
                continue
            if CredentialExpiryNotice.objects.filter(pk=notice.pk, sent_at__isnull=True).update(sent_at=now):
                claimed.append((notice.pk, credential))
        if not claimed:
            return 0
        context = {
            "count": len(claimed),
            "days": window_days,
            "lines": "\n".join(_describe(credential) for _, credential in claimed),
        }
        batch = hashlib.sha256(",".join(str(pk) for pk, _ in claimed).encode()).hexdigest()[:24]
        key = f"credential-expiry:{batch}"
        for address in settings.CARE_TEAM_ALERT_EMAILS:
            notify(kind="credential_expiry", recipient=address, context=context, dedupe_key=key)
    logger.info("credential expiry warning queued count=%d", len(claimed))
    return len(claimed)


def credential_expiry_watch(*, today: dt.date | None = None) -> dict[str, int]:
    today = today or practice_today()
    expired = credentials_mark_expired(today=today)
    warned = credentials_warn_expiring(today=today)
    return {"expired": expired, "warned": warned}
