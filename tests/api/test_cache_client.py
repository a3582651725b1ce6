"""api.cache: Django's Redis cache with one redis-py client per pool (docs/performance.md#profile)."""

from __future__ import annotations

import os
import threading

import pytest

from api.cache import ReusedClientRedisCache

REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL.startswith("redis"), reason="needs REDIS_URL (CI's Redis run)")


def _cache(prefix: str) -> ReusedClientRedisCache:
    return ReusedClientRedisCache(REDIS_URL, {"KEY_PREFIX": prefix})


def test_one_client_per_pool_without_a_server():
    cache = ReusedClientRedisCache("redis://127.0.0.1:1/0", {})
    client = cache._cache
    assert client.get_client("a") is client.get_client("b") is client.get_client(None, write=True)


@needs_redis
def test_behaves_like_djangos_backend():
    cache = _cache("t-reused")
    cache.set("k", {"a": 1}, 30)
    cache.set_many({"n": 5, "s": "x"}, 30)
    assert cache.get("k") == {"a": 1}
    assert cache.get_many(["k", "n", "s", "missing"]) == {"k": {"a": 1}, "n": 5, "s": "x"}
    assert cache.add("k", 2, 30) is False
    assert cache.incr("n") == 6
    assert cache.delete("k") is True
    assert cache.get("k", "gone") == "gone"
    cache.delete_many(["n", "s"])


@needs_redis
def test_shared_client_is_safe_across_threads():
    cache = _cache("t-reused-threads")
    errors = []

    def work(n: int):
        try:
            for i in range(200):
                cache.set(f"{n}:{i}", i, 30)
                if cache.get(f"{n}:{i}") != i:
                    errors.append((n, i))
        except Exception as exc:  # pragma: no cover - the failure being tested for
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    cache.delete_many([f"{n}:{i}" for n in range(8) for i in range(200)])


def test_keys_are_not_checked_for_memcached(recwarn):
    cache = ReusedClientRedisCache("redis://127.0.0.1:1/0", {})
    cache.validate_key("a key with spaces " + "x" * 300)
    assert not [w for w in recwarn if "memcached" in str(w.message).lower()]
