"""A cold search is computed once (scheduling/availability_cache.computed_once): concurrent
identical searches wait for the first one's entries instead of each computing them; a waiter
whose computer died or is gone computes what is still missing itself."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.cache import cache

from scheduling import availability_cache


@pytest.fixture(autouse=True)
def fresh():
    cache.clear()
    availability_cache.recent.clear()
    yield
    cache.clear()
    availability_cache.recent.clear()


def _slow(calls: list, seconds: float = 0.3):
    def compute(keys):
        calls.append(list(keys))
        time.sleep(seconds)
        return {k: f"text of {k}" for k in keys}

    return compute


def test_concurrent_identical_searches_compute_once():
    calls: list = []
    results = []
    keys = [f"{availability_cache.NAMESPACE}:e:{i}" for i in range(5)]
    threads = [
        threading.Thread(target=lambda: results.append(availability_cache.computed_once(keys, _slow(calls))))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(results) == 8 and all(r == {k: f"text of {k}" for k in keys} for r in results)
    assert availability_cache.get_entries(keys) == results[0]  # stored for the next search


def test_a_waiter_computes_what_a_dead_computer_left(monkeypatch):
    monkeypatch.setattr(availability_cache, "WAIT_SECONDS", 0.3)
    keys = ["avail-test:a", "avail-test:b"]
    cache.add(availability_cache.entry_key("computing", *sorted(keys)), 1, 30)  # held by a killed worker
    calls: list = []
    started = time.monotonic()
    assert availability_cache.computed_once(keys, _slow(calls, 0)) == {k: f"text of {k}" for k in keys}
    assert calls == [keys] and time.monotonic() - started < 2


def test_a_waiter_takes_what_was_stored_and_computes_only_the_rest():
    keys = ["avail-test:a", "avail-test:b"]
    lock = availability_cache.entry_key("computing", *sorted(keys))
    cache.add(lock, 1, 30)
    availability_cache.set_entries({"avail-test:a": "stored"})
    threading.Timer(0.2, lambda: cache.delete(lock)).start()  # the computer ends with "b" missing
    calls: list = []
    assert availability_cache.computed_once(keys, _slow(calls, 0)) == {
        "avail-test:a": "stored",
        "avail-test:b": "text of avail-test:b",
    }
    assert calls == [["avail-test:b"]]


def test_nothing_to_compute_takes_no_lock():
    assert availability_cache.computed_once([], _slow([])) == {}
