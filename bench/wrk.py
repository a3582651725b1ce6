"""Drive a scenario with wrk (https://github.com/wg/wrk; Debian package `wrk`): a maintained C
load generator that saturates the API's floor from one core, where a Python client would be the
bottleneck. The method is the hand-written client's (bench/load.py): N closed-loop users, each a
keep-alive connection sending its next request when the answer arrives, for a fixed time after a
short warm-up; latencies per request, queueing included.

The requests are made in Python (the scenario's `make(user, seq)`, a few per user), written as raw
HTTP/1.1 to a file, and replayed in turn by a small Lua script (each connection starts at its own
place in the list). The script counts statuses and prints one JSON line with the figures. One-shot
writes (booking, webhooks: every body distinct) stay on bench/load.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from bench.load import Req, Result, Scenario

MARK = "BENCH-JSON "

SCRIPT = r"""
local reqs = {}
local index = 0
statuses = {}
local threads = {}

local function load(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  local pos = 1
  while pos <= #data do
    local nl = data:find("\n", pos, true)
    local len = tonumber(data:sub(pos, nl - 1))
    reqs[#reqs + 1] = data:sub(nl + 1, nl + len)
    pos = nl + len + 1
  end
end

function setup(thread)
  thread:set("tid", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  load(args[1])
  index = (tid or 0) * 7919
end

function request()
  index = index + 1
  return reqs[(index % #reqs) + 1]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for code, n in pairs(s) do counts[tostring(code)] = (counts[tostring(code)] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(counts) do parts[#parts + 1] = string.format('"%s":%d', code, n) end
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"mean_us":%f,'
      .. '"connect":%d,"read":%d,"write":%d,"timeout":%d,"statuses":{%s}}\n',
    "__MARK__", summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.mean, e.connect, e.read, e.write, e.timeout, table.concat(parts, ",")))
end
""".replace("__MARK__", MARK)


def available() -> bool:
    return shutil.which("wrk") is not None


def raw(req: Req, host: str) -> bytes:
    """One HTTP/1.1 request as bytes (what wrk sends)."""
    lines = [f"{req.method} {req.path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in req.headers.items()]
    if req.body is not None:
        lines.append(f"Content-Length: {len(req.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (req.body or b"")


def requests_file(scenario: Scenario, *, users: int, per_user: int, host: str, path: Path) -> int:
    """Write users x per_user requests, user-interleaved, as `<length>\\n<bytes>` records."""
    count = 0
    with path.open("wb") as f:
        for seq in range(per_user):
            for user in range(users):
                req = scenario.make(user, seq)
                if req is None:
                    continue
                data = raw(req, host)
                f.write(f"{len(data)}\n".encode() + data)
                count += 1
    return count


def parse(stdout: str, scenario: Scenario, seconds: float) -> Result:
    line = next((ln for ln in stdout.splitlines() if ln.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures: {stdout[-500:]}")
    figures = json.loads(line[len(MARK) :])
    statuses = {str(k): v for k, v in sorted(figures["statuses"].items())}
    for name in ("connect", "read", "write", "timeout"):
        if figures[name]:
            statuses[name] = figures[name]
    good = {str(s) for s in (*scenario.ok_statuses, *scenario.expected_statuses)}
    errors = sum(n for status, n in statuses.items() if status not in good)
    elapsed = figures["duration_us"] / 1e6 or seconds
    requests = figures["requests"]
    return Result(
        name=scenario.name,
        requests=requests,
        seconds=round(elapsed, 2),
        rps=round(requests / elapsed, 1) if elapsed else 0.0,
        p50_ms=round(figures["p50_us"] / 1000, 1),
        p95_ms=round(figures["p95_us"] / 1000, 1),
        p99_ms=round(figures["p99_us"] / 1000, 1),
        mean_ms=round(figures["mean_us"] / 1000, 1),
        errors=errors,
        statuses=statuses,
        # wrk counts the bytes read, headers included.
        response_kb=round(figures["bytes"] / requests / 1024, 1) if requests else 0.0,
        note=scenario.note,
    )


def run_scenario(
    base_url: str, scenario: Scenario, *, users: int, seconds: float, warmup: float = 1.0, per_user: int = 8
) -> Result:
    url = urlsplit(base_url)
    host = f"{url.hostname}:{url.port or 80}"
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script, reqs = Path(tmp) / "replay.lua", Path(tmp) / "requests.bin"
        script.write_text(SCRIPT)
        if not requests_file(scenario, users=users, per_user=per_user, host=host, path=reqs):
            raise RuntimeError(f"{scenario.name}: no requests to send")

        def wrk(duration: float) -> str:
            # One thread: the load generator stays on its one core (bench/run.py pins this process
            # and so its children). Connections = users.
            cmd = ["wrk", "-t1", f"-c{users}", f"-d{max(1, round(duration))}s", "--timeout", "30s"]
            cmd += ["-s", str(script), base_url, "--", str(reqs)]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr[-500:]}")
            return done.stdout

        if warmup > 0:
            wrk(warmup)
        return parse(wrk(seconds), scenario, seconds)
