"""Push devices: register (or move) a token, unregister it (docs/notifications.md#push)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from notifications.models import Device

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registered:
    device: Device
    created: bool


@transaction.atomic
def device_register(*, user, platform: str, token: str, app_version: str = "") -> Registered:
    """One row per token. The same token again updates it (platform, version, last seen) and
    moves it to this user: whoever signed in on the device last gets its pushes."""
    existing = Device.objects.select_for_update().filter(token=token).first()
    if existing is None:
        try:
            with transaction.atomic():
                device = Device.objects.create(user=user, platform=platform, token=token, app_version=app_version)
            logger.info("push device registered device_id=%s platform=%s", device.pk, platform)
            return Registered(device, True)
        except IntegrityError:  # registered concurrently
            existing = Device.objects.select_for_update().get(token=token)
    existing.user, existing.platform, existing.app_version = user, platform, app_version
    existing.save(update_fields=["user", "platform", "app_version", "last_seen_at"])
    return Registered(existing, False)


@transaction.atomic
def device_unregister(*, user, token: str) -> int:
    """Sign-out or notifications switched off in the app: the caller's own token only (another
    user's is left alone, and the answer is the same)."""
    deleted, _ = Device.objects.filter(user=user, token=token).delete()
    return deleted
