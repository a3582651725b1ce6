"""Failures the outbox treats as permanent: the row is marked failed, never retried."""

from __future__ import annotations


class PermanentFailure(Exception):
    """Raise from a sender or effect handler when retrying cannot help (a refused address, a
    record that no longer exists). Anything else is retried with backoff until attempts run out."""
