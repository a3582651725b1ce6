"""The version of what an availability search reads from this app: the active physicians, their
profiles (zone, new-patient settings) and their state licences (docs/availability.md#caching).

The scheduling app caches that "search context" under this version; every write here that can
change it replaces the version after its commit (model signals in apps.py, and the expiry job,
whose compare-and-swap UPDATE sends no signal), so a cached context is the live one. The token is
random: a cache that forgot it hands out a new one, which only costs a re-read.
"""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.db import transaction

from api.cache import prefetched_value

KEY = "practice:search-context:v"
_SECONDS = 7 * 24 * 3600


def version() -> str:
    token = prefetched_value(KEY) or cache.get(KEY)
    if token is None:
        cache.add(KEY, uuid.uuid4().hex, _SECONDS)  # keeps a token another process set meanwhile
        token = cache.get(KEY) or uuid.uuid4().hex
    return token


def changed() -> None:
    """Replace the version once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: cache.set(KEY, uuid.uuid4().hex, _SECONDS))
