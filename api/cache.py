"""Django's Redis cache with one redis-py client per connection pool instead of one per call.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` object for every cache call.
With redis-py 8 that constructor fills a case-insensitive table of ~170 response callbacks, so
each cache call paid ~0.2 ms of Python before any byte went to Redis: measured with
`bench.profile --cprofile` on the availability day view (seven cache calls a request), 1,183
dictionary writes per request in `redis.client.Redis.__init__` alone (docs/performance.md#profile).

A `redis.Redis` object holds no connection of its own: it borrows one from its pool for each
command, and the pool is thread-safe and resets itself in a forked child. So one client per pool
behaves exactly like a new one per call. Everything else is Django's backend unchanged, but
for the key check (validate_key below).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusedRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class ReusedClientRedisCache(RedisCache):
    """settings.CACHES backend: `api.cache.ReusedClientRedisCache`."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient

    def validate_key(self, key):
        """Django checks every key, character by character, for what memcached would refuse
        (over 250 characters, spaces, control characters) and warns. Redis takes any key, and
        the availability search reads ~50 version keys a request: the check was ~10% of the day
        view's CPU. The local-memory cache of development and tests still checks them."""


# --- one round trip for the small keys a request reads one by one ------------------------------

_PREFETCHED: ContextVar[dict | None] = ContextVar("api_cache_prefetched", default=None)


@contextmanager
def prefetched(keys: Iterable[str]) -> Iterator[dict]:
    """Read `keys` from the default cache in one round trip for the block: the readers of those
    keys (version tokens: scheduling.appointment_types, practice.search_context,
    scheduling.availability_cache.versions) take the value from `prefetched_value` and ask the
    cache only for a key it does not hold. The availability search read four such keys in four
    round trips (docs/performance.md#figures). A value is read a little earlier than its reader
    would have read it, never after: a token is still read before the rows it names."""
    keys = list(dict.fromkeys(keys))
    found = cache.get_many(keys) if keys else {}
    token = _PREFETCHED.set(found)
    try:
        yield found
    finally:
        _PREFETCHED.reset(token)


def prefetched_value(key: str):
    """The value the enclosing `prefetched` block read for `key`; None when there is no block or
    the cache held nothing under it (the reader then asks the cache itself)."""
    values = _PREFETCHED.get()
    return values.get(key) if values else None
