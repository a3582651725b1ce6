"""In-process cost of each benchmark endpoint, as a ratio to the floor (docs/performance.md#profile).

    .venv/bin/python -m bench.profile [--only caseload,delivery_board] [--calls 200] [--cprofile 25]

The HTTP benchmark (bench.run) measures throughput under gunicorn with 20 users; on two cores
its figures move by tens of percent with whatever else the machine does. This tool asks the same
requests (bench.run's scenarios, against the same database and bench.settings) through Django's
WSGI handler in this process, one at a time, and reports per endpoint the median and p90 CPU
time, wall time and the statements sent. The CPU time is what a gunicorn worker spends on the
request (the database's share is the gap to wall time), which is what the throughput ratios
follow on a server where the database has its own core. When PostgreSQL runs on this machine,
it also reports the CPU its backend process spent per request (`db cpu ms`, from /proc, over all
the calls) and the floor's ratio with both sides counted (`floor/all`): on two cores shared by
the API, the database and the load generator, that is the ratio the bench follows.
`--cprofile N` prints each endpoint's N most expensive functions (cumulative), to find what to
change next.

Writes are measured only when named (`--only booking`): each call books a distinct free slot
of the bench database, as `bench.run` does, so it changes the data; the carrier webhook is
left out.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SORT = os.environ.get("BENCH_PROFILE_SORT", "cumulative").split(",")
WRITES = ("booking",)
READS = (
    "floor",
    "availability_day",
    "availability_strip",
    "availability",
    "caseload",
    "patient_home",
    "delivery_board",
)


def say(text: str) -> None:
    sys.stdout.write(text + "\n")


def _environ(req) -> dict:
    from urllib.parse import urlsplit

    parts = urlsplit(req.path)
    environ = {
        "REQUEST_METHOD": req.method,
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(req.body or b""),
        "CONTENT_LENGTH": str(len(req.body or b"")),
        "HTTP_HOST": "127.0.0.1",
    }
    for name, value in req.headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE",) else f"HTTP_{key}"] = value
    return environ


def _call(app, req) -> int:
    status = []

    def start_response(line, headers, exc_info=None):
        status.append(int(line.split(" ", 1)[0]))

    body = app(_environ(req), start_response)
    for _ in body:
        pass
    if hasattr(body, "close"):
        body.close()
    return status[0]


def _backend_cpu_seconds(connection) -> float | None:
    """CPU time so far of this connection's PostgreSQL backend process, when the server runs on
    this machine (Linux /proc); None otherwise. In clock ticks (10 ms): read over many calls."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def measure(app, scenario, calls: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(20):  # warm: caches, connections, the first request's imports
        _call(app, scenario.make(i, i))
    database_cpu = _backend_cpu_seconds(connection)
    cpu, wall, statements = [], [], []
    for i in range(calls):
        req = scenario.make(i, i)
        with CaptureQueriesContext(connection) as ctx:
            c0, w0 = time.process_time(), time.perf_counter()
            status = _call(app, req)
            c1, w1 = time.process_time(), time.perf_counter()
        if status not in scenario.ok_statuses + scenario.expected_statuses:
            raise SystemExit(f"bench.profile: {scenario.name} answered {status}")
        cpu.append((c1 - c0) * 1000)
        wall.append((w1 - w0) * 1000)
        statements.append(len(ctx.captured_queries))

    database_cpu_after = _backend_cpu_seconds(connection) if database_cpu is not None else None

    def p90(xs):
        return statistics.quantiles(xs, n=10)[-1]

    return {
        "db_cpu_ms": round((database_cpu_after - database_cpu) * 1000 / calls, 2) if database_cpu_after else None,
        "cpu_ms": round(statistics.median(cpu), 2),
        "cpu_p90_ms": round(p90(cpu), 2),
        "wall_ms": round(statistics.median(wall), 2),
        "statements": statistics.median(statements),
    }


def _with_database(row: dict) -> float | None:
    """The request's CPU on both sides: this process's median plus its database backend's mean."""
    return row["cpu_ms"] + row["db_cpu_ms"] if row.get("db_cpu_ms") is not None else None


def profile(app, scenario, calls: int, top: int) -> str:
    profiler = cProfile.Profile(time.process_time)  # CPU time: waits on the database and Redis do not count
    profiler.enable()
    for i in range(calls):
        _call(app, scenario.make(i, i))
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(*SORT).print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated endpoint names (default: every read)")
    parser.add_argument("--calls", type=int, default=200, help="measured calls per endpoint (default 200)")
    parser.add_argument("--cprofile", type=int, default=0, metavar="N", help="print the N costliest functions")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    from bench.run import Plan, scenarios

    wanted = [n for n in (args.only.split(",") if args.only else READS) if n]
    unknown = set(wanted) - set(READS) - set(WRITES)
    if unknown:
        raise SystemExit(f"bench.profile: not an endpoint it measures: {', '.join(sorted(unknown))}")
    from django.core.cache import cache

    # As bench.run: the generator writes past the signals that invalidate cached answers, and
    # another bench database may have used the same Redis database.
    cache.clear()
    app = get_wsgi_application()
    plan = Plan(users=20)
    by_name = {s.name: s for s in scenarios(plan, settings.EASYPOST_WEBHOOK_SECRET)}
    floor = measure(app, by_name["floor"], args.calls)
    rows = {"floor": floor}
    for name in wanted:
        if name != "floor":
            rows[name] = measure(app, by_name[name], args.calls)
    say(
        f"{'endpoint':<22}{'cpu ms':>9}{'cpu p90':>9}{'wall ms':>9}{'stmts':>7}{'floor/cpu':>11}"
        f"{'db cpu ms':>11}{'floor/all':>11}"
    )
    for name, row in rows.items():
        ratio = floor["cpu_ms"] / row["cpu_ms"] if row["cpu_ms"] else float("nan")
        both = _with_database(floor), _with_database(row)
        say(
            f"{name:<22}{row['cpu_ms']:>9.2f}{row['cpu_p90_ms']:>9.2f}{row['wall_ms']:>9.2f}"
            f"{row['statements']:>7.0f}{ratio:>11.2f}"
            + (f"{row['db_cpu_ms']:>11.2f}{both[0] / both[1]:>11.2f}" if None not in both else "")
        )
    if args.cprofile:
        for name in wanted:
            say(f"\n--- {name} ---")
            say(profile(app, by_name[name], min(args.calls, 100), args.cprofile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
