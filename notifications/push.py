"""Push notifications to the apps, beside the SMS and email backends (docs/notifications.md#push).

PUSH_BACKEND: "console" (default, prints), "locmem" (tests: `push_outbox`), "fcm" (Firebase Cloud
Messaging through pyfcm: Android, iOS through FCM's APNs bridge, and web), or the dotted path of a
class with a `send(*, token, platform, title, body) -> provider id` method.

A backend raises `DeadToken` when the provider says the token no longer exists (the app was
uninstalled, or the token was replaced): the outbox deletes the device and fails the row for good.
No PHI in any title or body (the kinds' texts), and no data payload.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from notifications.errors import PermanentFailure

logger = logging.getLogger(__name__)


class DeadToken(PermanentFailure):
    """The provider no longer knows this token: delete the device, never retry."""


@dataclass(frozen=True)
class SentPush:
    token: str
    platform: str
    title: str
    body: str
    provider_id: str


push_outbox: list[SentPush] = []


class ConsolePushBackend:
    def send(self, *, token: str, platform: str, title: str, body: str) -> str:
        print(f"[push to {platform} ...{token[-6:]}] {title}: {body}")  # noqa: T201 - the console backend's job
        return f"console-{uuid.uuid4().hex[:12]}"


class LocMemPushBackend:
    """Tests: keeps what was sent; a token listed in `dead_tokens` is answered as unregistered."""

    dead_tokens: set[str] = set()

    def send(self, *, token: str, platform: str, title: str, body: str) -> str:
        if token in self.dead_tokens:
            raise DeadToken("unregistered")
        provider_id = f"locmem-push-{len(push_outbox) + 1}"
        push_outbox.append(SentPush(token, platform, title, body, provider_id))
        return provider_id


class FCMPushBackend:
    """Firebase Cloud Messaging (HTTP v1) through pyfcm. `adapter` (a requests transport adapter)
    and `credentials` (google-auth credentials) let tests swap the transport and the OAuth step."""

    def __init__(self, *, adapter=None, credentials=None):
        from pyfcm import FCMNotification

        project_id = settings.FCM_PROJECT_ID
        if not project_id or not (settings.FCM_SERVICE_ACCOUNT_FILE or credentials is not None):
            raise ImproperlyConfigured("PUSH_BACKEND=fcm needs FCM_PROJECT_ID and FCM_SERVICE_ACCOUNT_FILE.")
        self.client = FCMNotification(
            service_account_file=settings.FCM_SERVICE_ACCOUNT_FILE or None,
            project_id=project_id,
            credentials=credentials,
            adapter=adapter,
        )

    def send(self, *, token: str, platform: str, title: str, body: str) -> str:
        from pyfcm.errors import FCMNotRegisteredError, FCMSenderIdMismatchError, InvalidDataError

        try:
            result = self.client.notify(fcm_token=token, notification_title=title, notification_body=body)
        except FCMNotRegisteredError as exc:  # 404 UNREGISTERED: the app is gone from that device
            raise DeadToken("unregistered") from exc
        except (InvalidDataError, FCMSenderIdMismatchError) as exc:  # 400/403: retrying cannot help
            raise PermanentFailure(type(exc).__name__) from exc
        return str((result or {}).get("name", ""))[-128:]


_BACKENDS = {"console": ConsolePushBackend, "locmem": LocMemPushBackend, "fcm": FCMPushBackend}


def push_backend():
    name = settings.PUSH_BACKEND
    if "." in name:
        return import_string(name)()
    try:
        return _BACKENDS[name]()
    except KeyError as exc:
        raise ImproperlyConfigured(f"Unknown PUSH_BACKEND {name!r}") from exc


def send_push(*, token: str, platform: str, title: str, body: str) -> str:
    """Send one push; returns the provider's message id. Raises DeadToken, or anything else to retry."""
    provider_id = push_backend().send(token=token, platform=platform, title=title, body=body)
    logger.info("push sent platform=%s", platform)
    return provider_id
