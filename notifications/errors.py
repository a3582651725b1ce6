"""Failures the outbox treats as permanent: the row is marked failed, never retried."""

from __future__ import annotations

from api.errors import Conflict


class PermanentFailure(Exception):
    """Raise from a sender or effect handler when retrying cannot help (a refused address, a
    record that no longer exists). Anything else is retried with backoff until attempts run out."""


class SmsStopped(Conflict):
    """The phone number answered STOP at the carrier: only START from that phone turns texts on."""

    code = "sms_stopped"
    default_message = "Your number replied STOP. Text START to our number to receive texts again."
