"""Availability answers, cached per physician and invalidated by version (docs/performance.md).

An availability search is the practice's hottest read (every prospective patient, every
reschedule) and its answer is large: 50 physicians x 14 days is ~13,000 slots. Computing it is
pure Python over a handful of rows, so the work is cached, per physician, as the JSON text of that
physician's entry in the answer.

A cached entry is exact, never "fresh enough":
- its key holds everything the entry is computed from that a request knows without reading it:
  the physician's *version*, the appointment type's length and buffer, the physician's time zone,
  the patient's zone, the dates asked for, the licence windows (from the search context, itself
  cached under the practice app's version, bumped by every licence write: a new, expired or
  suspended licence changes the key; docs/availability.md#caching), the grid and lead-time settings, and the earliest
  bookable instant rounded up to the slot grid (slots start on the grid, so every "now" in one
  grid step gives the same slots);
- the physician's version is a random token in the cache, replaced after every commit that
  changes what the entry is computed from: an appointment of theirs (booked, moved, cancelled,
  completed), their weekly hours, their exceptions. Saves and deletes go through model signals
  (apps.py), so the admin and the services are covered alike. The token is replaced *after* the
  commit, so a reader that sees the new token reads the committed rows.
A missed invalidation cannot double-book: booking re-checks the slot against the database under
the physician's row lock. TTL bounds any such staleness to SCHEDULING_AVAILABILITY_CACHE_SECONDS.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from api.cache import prefetched_value

# Part of every key: changing the entry's format means changing this. Tests give each test its own.
NAMESPACE = "avail1"
_VERSION_SECONDS = 7 * 24 * 3600


def enabled() -> bool:
    return settings.SCHEDULING_AVAILABILITY_CACHE_SECONDS > 0


def version_key(physician_id: int) -> str:
    return f"{NAMESPACE}:v:{physician_id}"


def generation_key() -> str:
    return f"{NAMESPACE}:g"


def physician_changed(physician_id: int | None) -> None:
    """Invalidate the physician's cached availability once the current transaction commits: a new
    token for them and a new generation, in one atomic MSET."""
    if physician_id is None or not enabled():
        return
    transaction.on_commit(
        lambda: cache.set_many(
            {version_key(physician_id): uuid.uuid4().hex, generation_key(): uuid.uuid4().hex}, _VERSION_SECONDS
        )
    )


def generation() -> str:
    """A token replaced with every physician's (physician_changed): it names the state of all
    their availability at once, so a whole answer can be named without reading one token per
    physician (scheduling.selectors._answer_name). A forgotten generation is a new one."""
    key = generation_key()
    found = prefetched_value(key) or cache.get(key)
    if found is None:
        cache.add(key, uuid.uuid4().hex, _VERSION_SECONDS)  # keeps one another process set meanwhile
        found = cache.get(key) or uuid.uuid4().hex
    return found


def versions(physician_ids: Iterable[int]) -> dict[int, str]:
    """Each physician's current token (one round trip, none for those an enclosing
    api.cache.prefetched block read; a new token for one the cache forgot)."""
    keys = {version_key(pid): pid for pid in physician_ids}
    found = {key: token for key in keys if (token := prefetched_value(key))}
    if len(found) < len(keys):
        found.update(cache.get_many([key for key in keys if key not in found]))
    missing = {key: uuid.uuid4().hex for key in keys if key not in found}
    if missing:
        # add() keeps a token another process set meanwhile; read back what won.
        for key, token in missing.items():
            cache.add(key, token, _VERSION_SECONDS)
        found.update(cache.get_many(list(missing)))
    return {pid: found.get(key) or missing[key] for key, pid in keys.items()}


def entry_key(*parts: object) -> str:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
    return f"{NAMESPACE}:e:{digest}"


class _Recent:
    """This process's most recently used entries, in front of the shared cache, bounded by their
    total size. Safe because an entry's key names its version: a key's text never changes, it is
    only no longer asked for. Spares moving ~2 MB from Redis for a 50-physician answer."""

    def __init__(self, max_chars: int, size: Callable[[object], int] = len):
        self.max_chars = max_chars
        self.size = size  # a value's characters
        self.chars = 0
        self.items: OrderedDict[str, object] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str):
        return self.get_many([key]).get(key)

    def set(self, key: str, value: object) -> None:
        self.set_many({key: value})

    def get_many(self, keys: list[str]) -> dict:
        found = {}
        with self.lock:
            for key in keys:
                text = self.items.get(key)
                if text is not None:
                    self.items.move_to_end(key)
                    found[key] = text
        return found

    def set_many(self, entries: dict) -> None:
        with self.lock:
            for key, value in entries.items():
                old = self.items.pop(key, None)
                self.chars += self.size(value) - (self.size(old) if old is not None else 0)
                self.items[key] = value
            while self.chars > self.max_chars and self.items:
                _, value = self.items.popitem(last=False)
                self.chars -= self.size(value)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.chars = 0


# ~32 MB of JSON text per process: a dozen full 50-physician, 14-day answers.
recent = _Recent(max_chars=32 * 1024 * 1024)


# Whole answers, gzipped, by their name (entries' versions + the page's head): ~8 MB per process.
_compressed = _Recent(max_chars=8 * 1024 * 1024)


def compressed_answer(name: str, body: str) -> bytes:
    key = entry_key(name)
    found = _compressed.get_many([key]).get(key)
    if found is None:
        found = gzip.compress(body.encode(), compresslevel=5, mtime=0)
        _compressed.set_many({key: found})
    return found


class _Objects:
    """A few recently used objects of this process (search contexts), by key; keys name versions."""

    def __init__(self, max_items: int):
        self.max_items = max_items
        self.items: OrderedDict[str, object] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str):
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def set(self, key: str, value: object) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.max_items:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


contexts = _Objects(max_items=32)
# Day strips by the keys of the entries they summarise (scheduling.selectors.availability_days).
strips = _Objects(max_items=512)


def _answer_chars(answer) -> int:
    texts = getattr(answer, "texts", None)
    return sum(map(len, texts)) + 64 if texts is not None else 64 * len(answer) + 64


# Whole answers (a day view's entries, a strip) by their name (scheduling.selectors._answer_name,
# which names every input of every entry): ~16 MB per process, each until the cache's TTL.
_answers = _Recent(max_chars=16 * 1024 * 1024, size=lambda held: _answer_chars(held[1]))


def get_answer(name: str):
    held = _answers.get(name)
    return held[1] if held is not None and held[0] > time.monotonic() else None


def set_answer(name: str, answer: object) -> None:
    _answers.set(name, (time.monotonic() + settings.SCHEDULING_AVAILABILITY_CACHE_SECONDS, answer))


def forget_answers() -> None:
    """This process's whole answers (tests: another process)."""
    _answers.clear()


def get_object(key: str):
    """An object cached under `key`: this process's copy, else the shared cache's."""
    found = contexts.get(key)
    if found is None:
        found = cache.get(key)
        if found is not None:
            contexts.set(key, found)
    return found


def set_object(key: str, value: object) -> None:
    cache.set(key, value, settings.SCHEDULING_AVAILABILITY_CACHE_SECONDS)
    contexts.set(key, value)


def get_entries(keys: list[str]) -> dict[str, str]:
    if not keys:
        return {}
    found = recent.get_many(keys)
    missing = [key for key in keys if key not in found]
    if missing:
        shared = cache.get_many(missing)
        recent.set_many(shared)
        found.update(shared)
    return found


def set_entries(entries: dict[str, str]) -> None:
    if entries:
        cache.set_many(entries, settings.SCHEDULING_AVAILABILITY_CACHE_SECONDS)
        recent.set_many(entries)


# --- one computation per cold search (docs/availability.md#cold) ------------------------------
# A search whose entries are not cached computes them: 14 days of 200 physicians take ~1.8 s of
# CPU. Before this, twenty patients asking at once (after a deploy, a cache flush, the morning's
# first searches) each computed the same entries, sharing one core: every one of them waited
# ~20x as long, and the growth benchmark at scale 5 measured 1.9 requests/s. Now the first
# computes and the others wait for its entries, polling the cache; a waiter whose computer died
# (its lock expires) or takes too long computes what is still missing itself.
LOCK_SECONDS = 30
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05


def computed_once(keys: list[str], compute: Callable[[list[str]], dict[str, str]]) -> dict[str, str]:
    """The entries of `keys` (none cached when called), computed by `compute(keys)` in one request
    at a time across processes, and stored."""
    if not keys:
        return {}
    lock = entry_key("computing", *sorted(keys))
    if cache.add(lock, 1, LOCK_SECONDS):
        try:
            entries = compute(keys)
            set_entries(entries)
            return entries
        finally:
            cache.delete(lock)
    found: dict[str, str] = {}
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        done = cache.get(lock) is None  # before reading: a finished computer stored its entries first
        found.update(get_entries([k for k in keys if k not in found]))
        if done or len(found) == len(keys):
            break
    missing = [k for k in keys if k not in found]
    if missing:
        computed = compute(missing)
        set_entries(computed)
        found.update(computed)
    return found
