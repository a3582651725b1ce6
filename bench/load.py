"""A small closed-loop HTTP load generator: N virtual users, each with its own keep-alive
connection, sending its next request as soon as the previous answer arrives, for a fixed duration.

It speaks HTTP/1.1 over asyncio streams itself instead of using an HTTP client library: on one
core httpx tops out near 275 requests per second against a server that answers instantly (and
124 per second for 2 MB answers), so it, not the API, set the figures; this client does ~17,000
tiny and ~640 2 MB answers per second on the same core (README "Performance": how it was found).

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
from urllib.parse import urlsplit


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
    # Requests that may be sent again (reads): replayed by wrk (bench/wrk.py). One-shot writes
    # (every body distinct) and windows never asked before stay on this client.
    replay: bool = True


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


# What a broken exchange raises: counted as an error named after it; the connection is reopened.
FAILURES = (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError)


class Connection:
    """One keep-alive HTTP/1.1 connection; reopened after the server closes it or an error."""

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, req: Req) -> tuple[int, int]:
        """(status, body length)."""
        try:
            return await asyncio.wait_for(self._request(req), self.timeout)
        except FAILURES:
            self.close()
            raise

    async def _request(self, req: Req) -> tuple[int, int]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{req.method} {req.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in req.headers.items()]
        if req.body is not None:
            lines.append(f"Content-Length: {len(req.body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (req.body or b""))
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].split(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        if headers.get(b"transfer-encoding") == b"chunked":
            size = 0
            while True:
                chunk = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(chunk + 2)
                size += chunk
                if chunk == 0:
                    break
        else:
            size = len(await self.reader.readexactly(int(headers.get(b"content-length", b"0"))))
        if headers.get(b"connection") == b"close":
            self.close()
        return status, size

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _user(
    base_url: str, scenario: Scenario, index: int, deadline: float, latencies: list, statuses: Counter, sizes: list
):
    url = urlsplit(base_url)
    connection = Connection(url.hostname, url.port or 80, timeout=30.0)
    seq = 0
    try:
        while time.perf_counter() < deadline:
            req = scenario.make(index, seq)
            seq += 1
            if req is None:
                return
            started = time.perf_counter()
            try:
                status, size = await connection.request(req)
                sizes.append(size)
            except FAILURES as exc:
                status = type(exc).__name__
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
    finally:
        connection.close()


async def run_scenario(base_url: str, scenario: Scenario, *, users: int, seconds: float, warmup: float = 1.0) -> Result:
    if warmup > 0:  # open the connections and warm the workers; not recorded
        end = time.perf_counter() + warmup
        await asyncio.gather(*(_user(base_url, scenario, i, end, [], Counter(), []) for i in range(users)))
    latencies: list[float] = []
    statuses: Counter = Counter()
    sizes: list[int] = []
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_user(base_url, scenario, i, deadline, latencies, statuses, sizes) for i in range(users)))
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
