"""The bookable appointment types, cached (docs/write-budgets.md#booking).

Every booking and every availability search reads its appointment type; the rows change only in
the admin (a duration, a buffer, a type switched off) and in data migrations. They are cached in
Django's cache (Redis in production, shared by every process) under a *version* token:

- the entry's key names the token (`apptypes1:types:<token>`), so a reader never sees an entry
  of an older version;
- a save or delete of an AppointmentType (the admin, a service, a fixture: model signals,
  apps.py) replaces the token at once and again after the commit. The bump after the commit is
  the one that matters: a reader that cached the old rows between the first bump and the commit
  did so under a token nobody asks for afterwards. The bump at once makes a change visible inside
  its own transaction;
- `migrate` replaces it too (data migrations use historical models, which send no signals to
  these receivers);
- entries expire after ENTRY_SECONDS whatever happens, which bounds a change made without
  signals (`QuerySet.update()` on the table: do not) and, with the per-process local-memory cache
  of development, what another process sees. A process keeps the entry it last read for as long
  again (no round trip for it while the version stays), so such a change shows within twice that.
"""

from __future__ import annotations

import pickle
import time
import uuid

from django.core.cache import cache
from django.db import transaction

from api.cache import prefetched_value
from scheduling.models import AppointmentType

# Part of every key: changing what is cached means changing this. Tests give each test its own.
NAMESPACE = "apptypes1"
ENTRY_SECONDS = 300
_VERSION_SECONDS = 7 * 24 * 3600


def version_key() -> str:
    return f"{NAMESPACE}:v"


def _bump() -> None:
    cache.set(version_key(), uuid.uuid4().hex, _VERSION_SECONDS)


def types_changed() -> None:
    """An appointment type was saved or deleted (or migrations ran): readers re-read the rows."""
    _bump()
    transaction.on_commit(_bump)


def _version() -> str:
    token = prefetched_value(version_key()) or cache.get(version_key())
    if token is None:
        # add() keeps a token another process set meanwhile; read back what won.
        cache.add(version_key(), uuid.uuid4().hex, _VERSION_SECONDS)
        token = cache.get(version_key()) or uuid.uuid4().hex
    return token


# The entry as this process last read it: (key, pickled types, monotonic expiry). The key names
# the version, so the text under a key never changes; kept no longer than the shared entry may be.
_recent: list[tuple[str, bytes, float]] = []


def active_types() -> dict[str, AppointmentType]:
    """code -> the active AppointmentType (copies: each call unpickles a fresh set). The version is
    read from the shared cache on every call; the entry, when this process already holds the
    one it names, from memory (one round trip to Redis fewer per search and booking)."""
    key = f"{NAMESPACE}:types:{_version()}"
    recent = _recent[0] if _recent else None
    if recent is not None and recent[0] == key and recent[2] > time.monotonic():
        return pickle.loads(recent[1])  # noqa: S301 - bytes this process pickled itself
    types = cache.get(key)
    if types is None:
        types = {row.code: row for row in AppointmentType.objects.filter(is_active=True)}
        cache.set(key, types, ENTRY_SECONDS)
    _recent[:] = [(key, pickle.dumps(types), time.monotonic() + ENTRY_SECONDS)]
    return types
