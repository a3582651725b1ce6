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
