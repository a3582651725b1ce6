"""Outgoing messages to people: SMS through a pluggable backend, email through Django's.

No PHI in any body: say that something happened and to open the app, never what or why
("You have a visit tomorrow at 3:00 PM. Open the app for details.").

SMS_BACKEND: "console" (default, prints), "locmem" (tests: `sms_outbox`), "twilio" (real), or the
dotted path of a class with a `send(to, body) -> provider id` method.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import send_mail

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SentSMS:
    to: str
    body: str
    provider_id: str


sms_outbox: list[SentSMS] = []


class ConsoleSMSBackend:
    def send(self, to: str, body: str) -> str:
        provider_id = f"console-{uuid.uuid4().hex[:12]}"
        print(f"[sms to ...{to[-4:]}] {body}")  # noqa: T201 - the console backend's whole job
        return provider_id


class LocMemSMSBackend:
    def send(self, to: str, body: str) -> str:
        provider_id = f"locmem-{len(sms_outbox) + 1}"
        sms_outbox.append(SentSMS(to=to, body=body, provider_id=provider_id))
        return provider_id


class TwilioSMSBackend:
    """Twilio's own SDK; `http_client` lets tests swap the transport."""

    def __init__(self, http_client=None):
        from twilio.rest import Client

        if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and settings.TWILIO_FROM_NUMBER):
            raise ImproperlyConfigured(
                "SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER."
            )
        self.client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)

    def send(self, to: str, body: str) -> str:
        message = self.client.messages.create(to=to, from_=settings.TWILIO_FROM_NUMBER, body=body)
        return message.sid


_BACKENDS = {"console": ConsoleSMSBackend, "locmem": LocMemSMSBackend, "twilio": TwilioSMSBackend}


def sms_backend():
    name = settings.SMS_BACKEND
    if "." in name:  # a dotted path: a provider of one's own (tests use a slow, file-backed one)
        from django.utils.module_loading import import_string

        return import_string(name)()
    try:
        return _BACKENDS[name]()
    except KeyError as exc:
        raise ImproperlyConfigured(f"Unknown SMS_BACKEND {name!r}") from exc


def send_sms(*, to: str, body: str) -> str:
    """Send one SMS; returns the provider's message id. Raises on transport errors (tasks retry)."""
    provider_id = sms_backend().send(str(to), body)
    logger.info("sms sent provider_id=%s", provider_id)
    return provider_id


def send_email(*, to: list[str] | str, subject: str, body: str) -> None:
    recipients = [to] if isinstance(to, str) else list(to)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
    logger.info("email sent recipients=%d", len(recipients))
