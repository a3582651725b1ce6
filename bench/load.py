"""A small closed-loop HTTP load generator (asyncio + httpx): N virtual users, each sending its
next request as soon as the previous answer arrives, for a fixed duration.

Each endpoint is described by a `Scenario`: a name and a function (user index, sequence number)
-> `Req` (method, path, headers, body) or None when the user has nothing left to send (booking
runs out of pre-computed slots). Latencies are wall-clock per request, queueing included.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class Req:
    method: str
    path: str
    headers: dict = field(default_factory=dict)
    body: bytes | None = None


@dataclass
class Scenario:
    name: str
    make: Callable[[int, int], Req | None]
    ok_statuses: tuple[int, ...] = (200,)
    # Statuses that are expected answers, not errors (booking: 409 when a slot was just taken).
    expected_statuses: tuple[int, ...] = ()
    note: str = ""


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    errors: int
    statuses: dict
    response_kb: float = 0.0
    note: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


async def _user(
    client, scenario: Scenario, index: int, deadline: float, latencies: list, statuses: Counter, sizes: list
):
    seq = 0
    while time.perf_counter() < deadline:
        req = scenario.make(index, seq)
        seq += 1
        if req is None:
            return
        started = time.perf_counter()
        try:
            response = await client.request(req.method, req.path, headers=req.headers, content=req.body)
            status = response.status_code
            sizes.append(len(response.content))
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        latencies.append(time.perf_counter() - started)
        statuses[status] += 1


async def run_scenario(base_url: str, scenario: Scenario, *, users: int, seconds: float, warmup: float = 1.0) -> Result:
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    timeout = httpx.Timeout(30.0)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as client:
        if warmup > 0:  # open the connections and warm the workers; not recorded
            end = time.perf_counter() + warmup
            await asyncio.gather(*(_user(client, scenario, i, end, [], Counter(), []) for i in range(users)))
        latencies: list[float] = []
        statuses: Counter = Counter()
        sizes: list[int] = []
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(_user(client, scenario, i, deadline, latencies, statuses, sizes) for i in range(users)))
        elapsed = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies)
    good = set(scenario.ok_statuses) | set(scenario.expected_statuses)
    errors = sum(n for status, n in statuses.items() if status not in good)
    return Result(
        name=scenario.name,
        requests=len(ms),
        seconds=round(elapsed, 2),
        rps=round(len(ms) / elapsed, 1) if elapsed else 0.0,
        p50_ms=round(percentile(ms, 0.50), 1),
        p95_ms=round(percentile(ms, 0.95), 1),
        p99_ms=round(percentile(ms, 0.99), 1),
        mean_ms=round(statistics.fmean(ms), 1) if ms else float("nan"),
        errors=errors,
        statuses={str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))},
        response_kb=round(statistics.fmean(sizes) / 1024, 1) if sizes else 0.0,
        note=scenario.note,
    )
