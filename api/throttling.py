"""Rate limits that hold when a client sends its requests at once (docs/security.md#throttles).

DRF's `ScopedRateThrottle` keeps each client's request times as a list in the cache: it reads
the list, decides, and writes the list back. Two requests of one client served at the same time
read the same list, and the second write drops the first request's time. A client that sends its
requests in parallel, which is what an attacker with a script does, is counted less than it
sends (tests/security/test_throttles.py measures both).

This throttle keeps DRF's rule (at most N requests in any window of the rate's length, a refused
request not counted, `Retry-After` when the oldest counted request leaves the window) and makes
the decision atomic:

- on Redis (production): one Lua script per request, on a sorted set of request times per
  client and scope. It removes the times that left the window, counts, and adds this request
  only if the count allows it, in one round trip where DRF took two (a GET and a SET);
- on any other cache (the local-memory cache of development and the tests): DRF's list, read and
  written under one lock of this process (that cache is this process's own).
"""

from __future__ import annotations

import threading
import uuid

from django.core.cache import caches
from rest_framework import throttling

from api.cache import ReusedClientRedisCache

# KEYS[1]: the client's key. ARGV: now (seconds), window (seconds), limit, a unique member.
# Returns {allowed (1/0), the oldest counted time as text (when refused)}.
_SLIDING_WINDOW = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, oldest[2]}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return {1, false}
"""

_LOCAL = threading.Lock()
_scripts: dict[int, object] = {}


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    """DRF's scoped throttle (the view's `throttle_scope`, its rate from DEFAULT_THROTTLE_RATES),
    decided atomically. Views use it in `throttle_classes` as they would DRF's."""

    def allow_request(self, request, view):
        # As DRF's: the scope and rate come from the view.
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        backend = caches["default"]
        if isinstance(backend, ReusedClientRedisCache):
            self.now = self.timer()
            return self._allow_on_redis(backend)
        with _LOCAL:
            return super(throttling.ScopedRateThrottle, self).allow_request(request, view)

    def _allow_on_redis(self, backend: ReusedClientRedisCache) -> bool:
        key = backend.make_and_validate_key(self.key)
        client = backend._cache.get_client(key, write=True)
        script = _scripts.get(id(client))
        if script is None:
            script = _scripts.setdefault(id(client), client.register_script(_SLIDING_WINDOW))
        allowed, oldest = script(keys=[key], args=[repr(self.now), self.duration, self.num_requests, uuid.uuid4().hex])
        if allowed:
            return True
        # What DRF's wait() reads: a full window, newest first, ending with the oldest request.
        self.history = [self.now] * (self.num_requests - 1) + [float(oldest)]
        return self.throttle_failure()
