"""Rate limits under parallel requests (api/throttling.py): exactly the limit gets through when a
client sends everything at once, on Redis (the PostgreSQL + Redis run) and on the local-memory
cache alike; a refused request is not counted; Retry-After is when the oldest counted request
leaves the window."""

import threading

import pytest
import time_machine
from django.core.cache import cache
from django.test import RequestFactory
from rest_framework import throttling as drf_throttling
from rest_framework.request import Request

from api.throttling import ScopedRateThrottle


class _View:
    throttle_scope = "probe"


@pytest.fixture
def limit(monkeypatch):
    def set_rate(rate: str):
        rates = {"probe": rate, "availability": rate}
        monkeypatch.setattr(drf_throttling.ScopedRateThrottle, "THROTTLE_RATES", rates)

    cache.clear()
    return set_rate


def _request(address="203.0.113.7"):
    return Request(RequestFactory().get("/probe/", REMOTE_ADDR=address))


def _at_once(throttle_class, n: int) -> int:
    """n requests of one client decided by n threads released together: how many got through."""
    gate, allowed, lock = threading.Barrier(n), [], threading.Lock()

    def one():
        throttle = throttle_class()
        gate.wait()
        ok = throttle.allow_request(_request(), _View())
        with lock:
            allowed.append(ok)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(allowed)


def test_parallel_requests_get_exactly_the_limit(limit):
    limit("10/min")
    assert _at_once(ScopedRateThrottle, 40) == 10
    assert _at_once(ScopedRateThrottle, 40) == 0  # the window is full: nothing more


def test_drf_counted_parallel_requests_less_than_they_were(limit):
    """What the throttle replaced: DRF's read-decide-write lets more than the limit through when
    the requests overlap. Forced here by making every request read before any writes."""
    limit("10/min")
    gate = threading.Barrier(20)
    real_get = cache.get

    def get(key, default=None, version=None):
        found = real_get(key, default, version)
        gate.wait()  # everyone has read the (empty) history before anyone writes
        return found

    class Drf(drf_throttling.ScopedRateThrottle):
        pass

    Drf.cache = type("SlowCache", (), {"get": staticmethod(get), "set": staticmethod(cache.set)})()
    assert _at_once(Drf, 20) == 20  # twice the limit
    cache.clear()
    assert _at_once(ScopedRateThrottle, 20) == 10


def test_a_refused_request_is_not_counted_and_retry_after_is_the_oldest_leaving(limit):
    limit("3/min")
    throttle = ScopedRateThrottle()
    with time_machine.travel(1_900_000_000.0, tick=False) as clock:
        for _ in range(3):
            assert throttle.allow_request(_request(), _View()) is True
            clock.shift(10)
        assert throttle.allow_request(_request(), _View()) is False
        assert throttle.wait() == pytest.approx(30, abs=0.01)  # the first, sent 30 s ago, leaves at 60
        clock.shift(31)  # the first has left; the refusal was not counted
        assert throttle.allow_request(_request(), _View()) is True
        assert throttle.allow_request(_request(), _View()) is False
        assert throttle.allow_request(_request("198.51.100.9"), _View()) is True  # another client


def test_a_throttled_view_answers_429_with_retry_after(limit, anon_client):
    limit("2/min")
    statuses = [anon_client.get("/api/v1/availability/", {"zip": "33101"}).status_code for _ in range(3)]
    refused = anon_client.get("/api/v1/availability/", {"zip": "33101"})
    assert statuses[2] == 429 and 429 not in statuses[:2]
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60


def test_the_redis_throttle_is_one_round_trip(limit, monkeypatch):
    from django.core.cache import caches

    from api.cache import ReusedClientRedisCache

    backend = caches["default"]
    if not isinstance(backend, ReusedClientRedisCache):
        pytest.skip("needs Redis (run by .ci/run with REDIS_URL set)")
    limit("5/s")
    client = backend._cache.get_client("probe", write=True)
    sent = []
    real = client.execute_command
    monkeypatch.setattr(client, "execute_command", lambda *a, **k: sent.append(a[0]) or real(*a, **k))
    assert ScopedRateThrottle().allow_request(_request(), _View()) is True  # the script may be loaded first
    sent.clear()
    assert ScopedRateThrottle().allow_request(_request(), _View()) is True
    assert sent == ["EVALSHA"]
