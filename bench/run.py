"""The benchmark: `make bench` (or `.venv/bin/python -m bench.run`).

Needs PostgreSQL and Redis on 127.0.0.1 (5432 and 6379); says so and exits 2 when they are not
there. In one run it:
1. makes sure the bench database exists, is migrated and holds the generated practice
   (`manage.py generate_practice --if-missing`: skipped when already generated);
2. starts the API under gunicorn (bench.settings: production settings with dummy secrets and
   the framework-floor route) on 127.0.0.1:<free port>, pinned to core 0, and pins itself (the
   load generator) to core 1;
3. runs each endpoint for a fixed time with N closed-loop users (reads through wrk when it is
   installed, bench/wrk.py; one-shot writes through bench/load.py) and prints requests/s,
   p50/p95/p99 and errors, with each endpoint's throughput as a ratio to the floor;
   with --growth, the same for availability, caseload and the board at each scale
   (docs/performance.md#growth);
4. the batch figures: 10,000 due reminders dispatched by a real Celery worker through Redis,
   and 10,000 shipment updates applied by the tracking service;
5. writes everything to bench-results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import deque
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/practice_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"

# The goals (docs/performance.md#goals): throughput as a ratio to the floor of the same run.
GOALS = {
    "ratios": {
        "availability_day": 0.35,
        "availability_strip": 0.30,
        "caseload": 0.30,
        "delivery_board": 0.30,
        "booking": 0.20,
        "patient_home": 0.35,
    },
    "availability_p95_ms": 100.0,
    "any_p95_ms": 250.0,
    "reminders_seconds": 10.0,
}
FLOORS = ("floor", "floor_again")
# The board's deep page: its throughput within 1.5 x of page 1's (keyset pages cost the same).
DEEP_PAGE = 500
DEEP_PAGE_WITHIN = 1.5
# What the growth table follows from scale to scale (docs/performance.md#growth).
GROWTH_ENDPOINTS = ("availability_day", "availability_strip", "caseload", "delivery_board")


def say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 2) -> None:
    sys.stderr.write(f"bench: {message}\n")
    sys.exit(code)


# --- preflight -------------------------------------------------------------------------------
def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def preflight(database_url: str, redis_url: str) -> None:
    db, redis = urlparse(database_url), urlparse(redis_url)
    if db.scheme not in ("postgres", "postgresql", "pgsql"):
        fail(f"the benchmark needs PostgreSQL: DATABASE_URL is {db.scheme}://...")
    missing = []
    if not _reachable(db.hostname or "127.0.0.1", db.port or 5432):
        missing.append(f"PostgreSQL on {db.hostname}:{db.port or 5432}")
    if not _reachable(redis.hostname or "127.0.0.1", redis.port or 6379):
        missing.append(f"Redis on {redis.hostname}:{redis.port or 6379}")
    if missing:
        fail(
            "needs PostgreSQL and Redis running on 127.0.0.1 (DATABASE_URL, REDIS_URL); not reachable: "
            + ", ".join(missing)
            + ". Start them (e.g. `sudo service postgresql start; sudo service redis-server start`) and run again."
        )
    if shutil.which("gunicorn", path=str(VENV_BIN)) is None:
        fail(f"gunicorn not found in {VENV_BIN}: run from the project's virtualenv (make bench does).")


def ensure_database(database_url: str) -> None:
    import psycopg

    url = urlparse(database_url)
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            say(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def settle(database_url: str) -> None:
    """Let PostgreSQL finish what the rebuild left it before anything is measured: the rebuild
    rewrites every caseload row (20,000 at scale 1, 100,000 at scale 5), and the autovacuum of
    those dead rows and the checkpoint of the dirty pages then ran during the first endpoints,
    on the measured machine (the first floor of a run came out ~40% under the last). A running
    practice has had both done."""
    import psycopg

    started = time.monotonic()
    url = database_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        # The caseload rows rewritten, and the profiles the generator inserted: the caseload's
        # order and size are index-only scans once the visibility map knows the pages.
        for table in ("scheduling_caseloadentry", "patients_patientprofile"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
        try:
            conn.execute("CHECKPOINT")  # needs a superuser (the bench's postgres user is one)
        except psycopg.Error as exc:
            say(f"settle: no CHECKPOINT ({type(exc).__name__}); measuring anyway")
    elapsed = time.monotonic() - started
    say(f"settle: caseload rows and profiles vacuumed and analysed, checkpoint done: {elapsed:.1f} s")


def manage(*args: str, env: dict) -> None:
    """A management command on the bench database. Migrating and generating a practice are
    maintenance, not requests: no per-statement timeout (bench.settings keeps production's)."""
    started = time.monotonic()
    env = {**env, "DATABASE_STATEMENT_TIMEOUT_MS": "0"}
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)
    if args[0] == "migrate":
        say(f"migrate: {time.monotonic() - started:.1f} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin(pid: int, core: int) -> str:
    """Pin a process to one core when the machine has more than one; returns a description."""
    cores = os.cpu_count() or 1
    if cores < 2 or not hasattr(os, "sched_setaffinity"):
        return "not pinned (one core or no affinity support)"
    os.sched_setaffinity(pid, {core})
    return f"core {core}"


# --- the data the requests need ----------------------------------------------------------------
BENCH_BOOKING_KEY = "bench-"  # the idempotency keys' prefix of the bookings the bench makes


def _forget_bench_bookings() -> None:
    """Delete the visits earlier runs (and bench.profile) booked, through the ORM so that the
    caseload rows and the availability versions follow: every run books the same free slots for
    the same patients, instead of running out of patients with nothing booked yet."""
    from scheduling.models import Appointment

    Appointment.objects.filter(idempotency_key__startswith=BENCH_BOOKING_KEY).delete()


def _board_page_path(page: int) -> str | None:
    """The staff board's URL for page `page` of 20: the cursor after the last row of the page
    before it, as the board's `next` link would carry it (api.pagination.KeysetPagination)."""
    from api.pagination import KeysetPagination
    from prescriptions.apis import StaffDeliveryOrderListApi
    from prescriptions.models import DeliveryOrder

    path = "/api/v1/staff/delivery-orders/"
    ordering = StaffDeliveryOrderListApi.cursor_ordering
    fields = [f.lstrip("-") for f in ordering]
    last = DeliveryOrder.objects.order_by(*ordering).values_list(*fields)[(page - 1) * 20 - 1 : (page - 1) * 20]
    if not last:
        return None
    cursor = KeysetPagination.cursor(path=path, ordering=ordering, keys=list(last[0]))
    return f"{path}?{urlencode({'cursor': cursor})}"


class Plan:
    """Users, tokens and pre-computed request inputs, read from the bench database in-process."""

    def __init__(self, users: int):
        from django.db.models import Count, Q
        from django.utils import timezone
        from rest_framework_simplejwt.tokens import RefreshToken

        from accounts.models import User
        from prescriptions.models import DeliveryOrder

        self.users = users
        now = timezone.now()
        _forget_bench_bookings()

        def token(user) -> dict:
            return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}

        gen = "@gen.practice.example"
        patients = list(
            User.objects.filter(
                role="patient",
                email__endswith=gen,
                is_active=True,
                patient_profile__state="FL",
                subscriptions__status="active",
            )
            .annotate(upcoming=Count("appointments", filter=Q(appointments__starts_at__gte=now)))
            .order_by("id")[:4000]
        )
        if len(patients) < users * 2:
            fail("the bench database has too few generated patients: run `make generate` (or --reset).")
        # Readers: patients with upcoming visits (their home screen has something on it).
        readers = [p for p in patients if p.upcoming][:users]
        self.patient_headers = [token(p) for p in readers]
        physicians = list(User.objects.filter(role="physician", email__endswith=gen).order_by("id")[:users])
        self.physician_headers = [token(p) for p in physicians]
        staff = User.objects.filter(role="staff", email__endswith=gen).first()
        self.staff_headers = [token(staff)] if staff else []
        self.board_deep_path = _board_page_path(DEEP_PAGE)
        self.physician_count = User.objects.filter(role="physician", is_active=True).count()
        self.today = timezone.localdate()
        self.window = (self.today + timedelta(days=1), self.today + timedelta(days=14))
        self.bookers = [p for p in patients if not p.upcoming]
        self.booking = deque(self._booking_pairs(self.bookers, now))
        self.booking_total = len(self.booking)
        trackers = list(
            DeliveryOrder.objects.exclude(tracker_id="")
            .filter(status__in=["shipped", "in_transit", "out_for_delivery", "delivered"])
            .order_by("-id")
            .values_list("tracker_id", flat=True)[:5000]
        )
        if not trackers:
            fail("no delivery orders with carrier trackers in the bench database: run `make generate`.")
        self.trackers = trackers

    def _booking_pairs(self, bookers, now) -> list[tuple[dict, str, str]]:
        """Distinct (patient token, physician public id, slot) triples that should all succeed:
        follow-up visits from availability, at most three per patient (the booking limit), slots
        of one physician at least an hour apart (no buffer overlap), for patients in good standing
        with no visit booked yet."""
        from django.conf import settings

        from scheduling import contracts
        from scheduling.selectors import appointment_type_get, availability_entries

        entries, _ = availability_entries(
            start=self.window[0],
            end=self.window[1],
            appointment_type=appointment_type_get(code="follow_up"),
            state="FL",
            viewer_tz=contracts.zone("America/New_York"),
            patient=None,
            now=now,
        )
        per_physician = []
        for entry in map(json.loads, entries):
            chosen, last = [], None
            for slot in entry["slots"]:
                starts_at = datetime.fromisoformat(slot["starts_at_utc"])
                if last is None or starts_at - last >= timedelta(minutes=60):
                    chosen.append(starts_at)
                    last = starts_at
            per_physician.append([(entry["physician"]["id"], s) for s in chosen])
        # Interleave physicians so concurrent bookings mostly hit different physicians' locks.
        slots = [s for group in itertools.zip_longest(*per_physician) for s in group if s is not None]
        from rest_framework_simplejwt.tokens import RefreshToken

        limit = settings.SCHEDULING_MAX_FUTURE_BOOKINGS
        chosen = slots[: len(bookers) * limit]
        # Patients in turn (each at most `limit` times): the bookings in flight at once are
        # different patients', as in a practice. One patient's bookings serialise on their row
        # lock (the free consultation, the limit), so three of them in a row would measure that
        # lock's queue instead of the booking.
        patients = bookers[: -(-len(chosen) // limit)] if chosen else []
        headers = [{"Authorization": f"Bearer {RefreshToken.for_user(p).access_token}"} for p in patients]
        return [
            (headers[i % len(patients)], physician, starts_at.astimezone(UTC).isoformat().replace("+00:00", "Z"))
            for i, (physician, starts_at) in enumerate(chosen)
        ]


def scenarios(plan: Plan, webhook_secret: str):
    from bench.load import Req, Scenario

    def rotate(headers_list):
        return lambda i, seq: headers_list[i % len(headers_list)]

    floor_headers = rotate(plan.patient_headers)
    patient_headers = rotate(plan.patient_headers)
    physician_headers = rotate(plan.physician_headers)
    staff_headers = rotate(plan.staff_headers * plan.users)
    start, end = plan.window
    availability_path = f"/api/v1/availability/?start={start}&end={end}&appointment_type=follow_up&page_size=50"
    day_path = f"/api/v1/availability/?date={start}&appointment_type=follow_up&page_size=50"
    strip_path = f"/api/v1/availability/days/?start={start}&end={end}&appointment_type=follow_up"
    GZIP = {"Accept-Encoding": "gzip"}  # what the apps' HTTP stacks (URLSession, OkHttp) send by default
    windows = itertools.count(1)

    def availability_cold(i, seq):
        # A window not asked for before in this run (the cache was emptied at the start): every
        # request computes all physicians' slots, as after a change to every physician at once.
        first = start + timedelta(days=next(windows))
        path = f"/api/v1/availability/?start={first}&end={first + (end - start)}&appointment_type=follow_up"
        return Req("GET", path + "&page_size=50", {**patient_headers(i, seq), **GZIP})

    def book(i, seq):
        if not plan.booking:
            return None
        headers, physician, starts_at = plan.booking.popleft()
        body = json.dumps(
            {
                "physician": physician,
                "appointment_type": "follow_up",
                "starts_at": starts_at,
                "idempotency_key": f"{BENCH_BOOKING_KEY}{uuid.uuid4().hex}",
            }
        ).encode()
        return Req("POST", "/api/v1/appointments/", {**headers, "Content-Type": "application/json"}, body)

    counter = itertools.count()
    statuses = ["in_transit", "out_for_delivery", "in_transit", "delivered"]

    def webhook(i, seq):
        n = next(counter)
        tracker = plan.trackers[n % len(plan.trackers)]
        stamp = (datetime.now(UTC) + timedelta(microseconds=n)).isoformat().replace("+00:00", "Z")
        body = json.dumps(
            {
                "id": f"evt_bench_{uuid.uuid4().hex}",
                "object": "Event",
                "description": "tracker.updated",
                "result": {
                    "id": tracker,
                    "object": "Tracker",
                    "tracking_code": "9400100000000000000000",
                    "carrier": "USPS",
                    "status": statuses[n % len(statuses)],
                    "updated_at": stamp,
                },
            }
        ).encode()
        signature = "hmac-sha256-hex=" + hmac.new(webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        return Req(
            "POST", "/webhooks/easypost/", {"X-Hmac-Signature": signature, "Content-Type": "application/json"}, body
        )

    return [
        Scenario("floor", lambda i, s: Req("GET", "/bench/floor/", floor_headers(i, s)), note="GET /bench/floor/"),
        Scenario(
            "availability_day",
            lambda i, s: Req("GET", day_path, {**patient_headers(i, s), **GZIP}),
            note=f"GET /api/v1/availability/?date= follow-up, one day, {plan.physician_count} physicians, FL patient",
        ),
        Scenario(
            "availability_strip",
            lambda i, s: Req("GET", strip_path, {**patient_headers(i, s), **GZIP}),
            note="GET /api/v1/availability/days/ follow-up, the 14-day strip, FL patient",
        ),
        Scenario(
            "availability",
            lambda i, s: Req("GET", availability_path, {**patient_headers(i, s), **GZIP}),
            note=f"GET /api/v1/availability/ (deprecated window form) follow-up, 14 days, {plan.physician_count} "
            "physicians, FL patient",
        ),
        Scenario(
            "availability_cold",
            availability_cold,
            note="the window form, each request a new 14-day window: nothing from the availability cache",
            replay=False,
        ),
        Scenario(
            "booking",
            book,
            ok_statuses=(201,),
            expected_statuses=(409,),
            note="POST /api/v1/appointments/ distinct (physician, slot) per request",
            replay=False,
        ),
        Scenario(
            "caseload",
            lambda i, s: Req("GET", "/api/v1/physician/caseload/", physician_headers(i, s)),
            note="GET /api/v1/physician/caseload/ (page of 20)",
        ),
        Scenario(
            "patient_home",
            lambda i, s: Req("GET", "/api/v1/appointments/", patient_headers(i, s)),
            note="GET /api/v1/appointments/ as the patient (page of 20)",
        ),
        Scenario(
            "delivery_board",
            lambda i, s: Req("GET", "/api/v1/staff/delivery-orders/", staff_headers(i, s)),
            note="GET /api/v1/staff/delivery-orders/ (page of 20)",
        ),
        Scenario(
            "delivery_board_deep",
            lambda i, s: Req("GET", plan.board_deep_path, staff_headers(i, s)) if plan.board_deep_path else None,
            note=f"GET /api/v1/staff/delivery-orders/ page {DEEP_PAGE} (its cursor)",
        ),
        Scenario(
            "webhook",
            webhook,
            note="POST /webhooks/easypost/ signed tracker.updated for existing trackers",
            replay=False,
        ),
    ]


# --- gunicorn -------------------------------------------------------------------------------
@contextlib.contextmanager
def gunicorn(env: dict, *, workers: int, threads: int, log_path: Path):
    port = free_port()
    cmd = [
        str(VENV_BIN / "gunicorn"),
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--backlog",
        "256",
    ]
    log = open(log_path, "w")  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    where = "not pinned"
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                fail(f"gunicorn exited with {proc.returncode}; see {log_path}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                fail(f"gunicorn did not answer within 60 s; see {log_path}")
            time.sleep(0.3)
        # Pin the master and every worker (children of the master) to core 0.
        pids = [proc.pid] + [int(p) for p in _children(proc.pid)]
        for pid in pids:
            where = pin(pid, 0)
        yield f"http://127.0.0.1:{port}", where
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _children(pid: int) -> list[str]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return path.read_text().split() if path.exists() else []


# --- measuring -------------------------------------------------------------------------------
def client_name(choice: str) -> str:
    from bench import wrk

    if choice == "python":
        return "python"
    if wrk.available():
        return "wrk"
    if choice == "wrk":
        fail("wrk is not installed (Debian/Ubuntu: apt-get install -y wrk); or use --client python.")
    return "python"


def prime(base_url: str, scenario) -> float:
    """Send the scenario's first request alone and return its latency (ms): the steady state the
    measurement is about starts after it (the caches a running practice has warm; the cold cost
    is this figure, and `availability_cold`'s)."""
    import httpx

    req = scenario.make(0, 0)
    started = time.monotonic()
    httpx.request(req.method, base_url + req.path, headers=req.headers, content=req.body, timeout=300)
    return round((time.monotonic() - started) * 1000, 1)


def _with_board_again(wanted: list) -> list:
    """`wanted` with the board's page 1 measured again straight after page 500, when both run:
    the deep-page goal compares page 500 with the mean of page 1 before and after it, as the
    ratios use the floor's first and last, so the machine's drift between two windows does not
    land on one side (a run of 2026-12-01 gave 1.49 x where a quick run gave 1.03 x)."""
    names = [s.name for s in wanted]
    if "delivery_board" not in names or "delivery_board_deep" not in names:
        return list(wanted)
    board = wanted[names.index("delivery_board")]
    at = names.index("delivery_board_deep") + 1
    return [*wanted[:at], replace(board, name="delivery_board_again"), *wanted[at:]]


def measure(env: dict, args, wanted) -> tuple[dict, dict]:
    """Serve the API under gunicorn and run each scenario, then the floor again: {name: result}."""
    from bench import load, wrk

    client = client_name(args.client)
    results = {}
    var = ROOT / "var"
    with gunicorn(env, workers=args.workers, threads=args.threads, log_path=var / "bench-gunicorn.log") as (
        base_url,
        server_core,
    ):
        client_core = pin(0, 1)  # wrk, started from here, inherits the core
        pinning = {"server": server_core, "load_generator": client_core}
        say(f"gunicorn at {base_url} ({args.workers} x {args.threads} threads), {server_core}; load, {client_core}")
        # The floor runs first and again last: on a shared machine it drifts by tens of percent
        # within minutes, and the ratios divide by the mean of the two.
        floor_again = [replace(s, name="floor_again") for s in wanted if s.name == "floor"]
        for scenario in _with_board_again(wanted) + floor_again:
            first_ms = prime(base_url, scenario) if scenario.replay else None
            if client == "wrk" and scenario.replay:
                result = wrk.run_scenario(base_url, scenario, users=args.users, seconds=args.seconds)
            else:
                result = asyncio.run(load.run_scenario(base_url, scenario, users=args.users, seconds=args.seconds))
            results[scenario.name] = result.as_dict()
            results[scenario.name]["client"] = client if scenario.replay else "python"
            results[scenario.name]["first_request_ms"] = first_ms
            say(
                f"  {scenario.name:<19} {result.rps:8.1f} req/s  p50 {result.p50_ms:7.1f} ms  "
                f"p95 {result.p95_ms:7.1f} ms  errors {result.errors}  {result.statuses}"
            )
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return results, pinning


def scale_database_url(database_url: str, scale: float, main_scale: float) -> str:
    if scale == main_scale:
        return database_url
    url = urlparse(database_url)
    suffix = format(scale, "g").replace(".", "_")
    return url._replace(path=f"{url.path}_x{suffix}").geturl()


def growth(env: dict, args, database_url: str) -> dict:
    """The growth endpoints at each scale (its own database, generated when missing): {scale:
    {"sizes", "floor_rps", "endpoints"}}. The floor runs first and last at each scale too."""
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection

    rows = {}
    for scale in args.growth:
        url = scale_database_url(database_url, scale, args.scale)
        name = urlparse(url).path.lstrip("/")
        say(f"growth: scale {scale:g} in {name}")
        ensure_database(url)
        scale_env = {**env, "DATABASE_URL": url}
        manage("migrate", "--noinput", "-v", "0", env=scale_env)
        manage("generate_practice", "--if-missing", "--scale", str(scale), env=scale_env)
        manage("caseload_rebuild", env=scale_env)  # the steady state (docs/caseload.md)
        settle(url)
        connection.close()
        settings.DATABASES["default"]["NAME"] = name
        connection.settings_dict["NAME"] = name
        cache.clear()  # the generator writes past the signals that invalidate cached answers
        plan = Plan(args.users)
        wanted = [
            s for s in scenarios(plan, settings.EASYPOST_WEBHOOK_SECRET) if s.name in ("floor", *GROWTH_ENDPOINTS)
        ]
        sizes = _sizes()
        connection.close()
        timed = argparse.Namespace(**{**vars(args), "seconds": args.growth_seconds})
        results, _ = measure(scale_env, timed, wanted)
        floors = [results[n]["rps"] for n in FLOORS if n in results]
        rows[scale] = {"sizes": sizes, "floor_rps": round(statistics.fmean(floors), 1), "endpoints": results}
    connection.close()
    main_name = urlparse(database_url).path.lstrip("/")
    settings.DATABASES["default"]["NAME"] = main_name
    connection.settings_dict["NAME"] = main_name
    return rows


# --- batch figures --------------------------------------------------------------------------
def batch_reminders(env: dict, count: int, log_path: Path, worker_concurrency: int = 4) -> dict:
    """Create `count` due reminder rows, start a real Celery worker against Redis, enqueue one
    scan task (as beat would) and time it from that enqueue to the last row sent: the last of
    their notification outbox deliveries marked sent (a reminder row's own `sent` means handed to
    the outbox; the scan then sends its chunk's deliveries itself)."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from notifications.models import Delivery
    from scheduling.models import Appointment, Reminder
    from scheduling.tasks import send_due_reminders

    now = timezone.now()
    Reminder.objects.filter(kind__startswith="bench").delete()
    bench_deliveries = Delivery.objects.filter(dedupe_key__startswith="visit-reminder:", dedupe_key__contains=":bench:")
    bench_deliveries.delete()
    # Rows that are due (the scan sends them) on upcoming booked visits of patients with a phone.
    appointments = list(
        Appointment.objects.filter(status="booked", starts_at__gt=now + timedelta(hours=3))
        .order_by("starts_at")
        .values_list("id", flat=True)[: (count + 1) // 2]
    )
    rows = [
        Reminder(appointment_id=pk, channel=channel, kind="bench", due_at=now - timedelta(minutes=1))
        for pk in appointments
        for channel in ("email", "sms")
    ][:count]
    Reminder.objects.bulk_create(rows, batch_size=5000)
    ids = Reminder.objects.filter(kind="bench").values_list("id", flat=True)
    total = ids.count()
    other_due = Reminder.objects.filter(status="pending", due_at__lte=now).exclude(kind="bench").count()
    connection.close()
    worker_env = {**env, "CELERY_BROKER_URL": env["REDIS_URL"]}
    concurrency = str(worker_concurrency)
    log = open(log_path, "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [
            str(VENV_BIN / "celery"),
            "-A",
            "config",
            "worker",
            "--loglevel",
            "WARNING",
            "--concurrency",
            concurrency,
            "--pool",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=worker_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        from config.celery import app

        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=1.0):
            if worker.poll() is not None or time.monotonic() > deadline:
                fail(f"the Celery worker did not start; see {log_path}")
        import redis

        broker = redis.Redis.from_url(env["REDIS_URL"])
        from config.queues import queue_for

        queue = queue_for(send_due_reminders.name)  # the reminder scans' queue (config/queues.py)
        broker.delete(queue)  # scans left over by an earlier, interrupted run
        started = time.perf_counter()
        # One scan, as beat enqueues it once a minute: a scan that claims a full chunk enqueues
        # the next one, so the chain alone drains the burst across every worker process.
        send_due_reminders.delay()
        sent = 0
        while time.perf_counter() - started < 300:
            sent = bench_deliveries.filter(status="sent").count()
            if sent >= total:
                break
            # Rows the scan cancelled (no phone, a channel switched off) send nothing: done when
            # no bench row is left to hand over or to send.
            busy = ("pending", "sending")
            if not Reminder.objects.filter(kind="bench", status__in=busy).exists() and not (
                bench_deliveries.filter(status__in=busy).exists()
            ):
                break
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        # Counted again: the last delivery can be marked sent between the count above and the
        # check that nothing is left busy, which then ended the loop one short.
        sent = bench_deliveries.filter(status="sent").count()
        left_queued = broker.llen(queue)  # the chain's last scan, if still queued, finds nothing to send
        broker.delete(queue)
        connection.close()
        return {
            "reminders": total,
            "sent": sent,
            "seconds": round(seconds, 2),
            "per_second": round(sent / seconds, 1) if seconds else None,
            "scan_tasks_enqueued": 1,
            "chunk": settings.SCHEDULING_REMINDER_CHUNK,
            "scans_left_queued": left_queued,
            "worker_concurrency": int(concurrency),
            "other_due_rows_also_sent": other_due,
        }
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        log.close()


def batch_shipments(count: int) -> dict:
    """Apply `count` carrier updates through prescriptions.services.tracking.shipment_apply_update
    (what the webhook calls), in this process, one after another."""
    from collections import Counter

    from prescriptions.carriers import TrackerUpdate
    from prescriptions.models import DeliveryOrder, EventSource
    from prescriptions.services.tracking import shipment_apply_update

    # Orders in the carrier's hands first (their updates move them), then delivered ones (late or
    # repeated updates the state machine refuses): the mix a carrier's webhook stream brings.
    in_hands = DeliveryOrder.objects.exclude(tracker_id="").filter(status__in=["shipped", "in_transit"])
    trackers = list(in_hands.order_by("-id").values_list("tracker_id", flat=True)[: count // 3])
    trackers += list(
        DeliveryOrder.objects.exclude(tracker_id="")
        .exclude(status__in=["shipped", "in_transit"])
        .order_by("-id")
        .values_list("tracker_id", flat=True)[: max(1, count // 3 - len(trackers))]
    )
    if not trackers:
        return {"updates": 0}
    base = datetime.now(UTC)
    statuses = ["in_transit", "out_for_delivery", "delivered"]
    outcomes: Counter = Counter()
    run = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    for n in range(count):
        tracker = trackers[n % len(trackers)]
        update = TrackerUpdate(
            tracker_id=tracker,
            tracking_code="",
            carrier="USPS",
            status=statuses[(n // len(trackers)) % len(statuses)],
            updated_at=base + timedelta(seconds=n),
        )
        outcomes[shipment_apply_update(update=update, event_id=f"bench:{run}:{n}", source=EventSource.EASYPOST)] += 1
    seconds = time.perf_counter() - started
    return {
        "updates": count,
        "seconds": round(seconds, 2),
        "per_second": round(count / seconds, 1),
        "outcomes": dict(outcomes),
    }


# --- report ---------------------------------------------------------------------------------
def table(results: list[dict], floor_rps: float) -> str:
    head = (
        f"{'endpoint':<20}{'req/s':>9}{'ratio':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}{'KB':>8}"
        "  statuses"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        ratio = r["rps"] / floor_rps if floor_rps else float("nan")
        r["ratio_to_floor"] = round(ratio, 3)
        statuses = ", ".join(f"{k}:{v}" for k, v in r["statuses"].items())
        lines.append(
            f"{r['name']:<20}{r['rps']:>9.1f}{ratio:>8.2f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}"
            f"{r['p99_ms']:>9.1f}{r['errors']:>8}{r.get('response_kb', 0):>8.1f}  {statuses}"
        )
    return "\n".join(lines)


def goals(results: dict, batch: dict) -> list[dict]:
    out = []
    by = {r["name"]: r for r in results.values()}

    def add(goal, value, target, met):
        out.append({"goal": goal, "value": value, "target": target, "met": bool(met)})

    for name, target in GOALS["ratios"].items():
        if name in by:
            ratio = by[name]["ratio_to_floor"]
            add(f"{name} throughput >= {target} x floor", ratio, target, ratio >= target)
    if "delivery_board" in by and "delivery_board_deep" in by and by["delivery_board_deep"]["rps"]:
        page_one = [by[n]["rps"] for n in ("delivery_board", "delivery_board_again") if n in by]
        times = statistics.fmean(page_one) / by["delivery_board_deep"]["rps"]  # page 500's time per request
        add(
            f"delivery_board page {DEEP_PAGE} within {DEEP_PAGE_WITHIN:g} x page 1",
            round(times, 2),
            DEEP_PAGE_WITHIN,
            times <= DEEP_PAGE_WITHIN,
        )
    for name in ("availability_day", "availability_strip"):
        if name in by:
            p95, target = by[name]["p95_ms"], GOALS["availability_p95_ms"]
            add(f"{name} p95 < {target:g} ms", p95, target, p95 < target)
    for name, r in by.items():
        if name not in FLOORS:
            target = GOALS["any_p95_ms"]
            add(f"{name} p95 <= {target:g} ms", r["p95_ms"], target, r["p95_ms"] <= target)
    if "reminders" in batch:
        seconds, target = batch["reminders"]["seconds"], GOALS["reminders_seconds"]
        done = batch["reminders"]["sent"] >= batch["reminders"]["reminders"]
        add(
            f"{batch['reminders']['reminders']:,} reminders dispatched < {target:g} s",
            seconds,
            target,
            done and seconds < target,
        )
    return out


def growth_table(rows: dict) -> str:
    """{scale: {"sizes": {...}, "endpoints": {name: result}}} -> a small text table: req/s, p50 and
    the first (cold) request per endpoint per scale, and how much longer the median answer takes
    at the largest scale."""
    scales = sorted(rows)
    if not scales:
        return ""
    first, last = scales[0], scales[-1]
    width = 28
    head = f"{'':<20}" + "".join(f"{'x' + format(sc, 'g'):>{width}}" for sc in scales) + f"{'p50 growth':>12}"
    units = f"{'req/s   p50 ms  first ms':>{width}}"
    lines = [head, f"{'':<20}" + units * len(scales), "-" * len(head)]
    for size in ("physicians", "patients", "appointments", "delivery_orders"):
        lines.append(f"{size:<20}" + "".join(f"{rows[sc]['sizes'].get(size, 0):>{width},}" for sc in scales))
    lines.append(f"{'floor req/s':<20}" + "".join(f"{rows[sc].get('floor_rps', 0):>{width}.1f}" for sc in scales))
    for name in GROWTH_ENDPOINTS:
        cells = []
        for sc in scales:
            r = rows[sc]["endpoints"].get(name)
            cold = r.get("first_request_ms") if r else None
            cold_text = f"{cold:>10.0f}" if cold is not None else f"{'-':>10}"
            cells.append(f"{r['rps']:>9.1f}{r['p50_ms']:>9.1f}{cold_text}" if r else f"{'-':>{width}}")
        a, b = rows[first]["endpoints"].get(name), rows[last]["endpoints"].get(name)
        factor = f"{b['p50_ms'] / a['p50_ms']:.2f} x" if a and b and a["p50_ms"] else "-"
        lines.append(f"{name:<20}" + "".join(cells) + f"{factor:>12}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20, help="concurrent closed-loop users (default 20)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per endpoint (1-60)")
    parser.add_argument("--only", default="", help="comma-separated endpoint names (default: all)")
    # The Dockerfile's production command: 3 workers x 4 threads (gthread).
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (default 3)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4, gthread)")
    parser.add_argument("--scale", type=float, default=1.0, help="generate_practice --scale when generating")
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator for the reads: wrk (apt-get install wrk), the built-in Python client, or auto "
        "(wrk when installed); one-shot writes always use the built-in client",
    )
    parser.add_argument(
        "--growth",
        type=lambda text: sorted({float(x) for x in text.split(",") if x}),
        default=[],
        help="comma-separated scales (e.g. 1,5): the growth table of availability, caseload and the board, "
        "each scale in its own database (<name>_x<scale>; --scale's is the main one), generated when missing",
    )
    parser.add_argument("--growth-seconds", type=float, default=5.0, help="measured seconds per endpoint and scale")
    parser.add_argument("--skip-http", action="store_true", help="only the batch figures")
    parser.add_argument("--skip-batch", action="store_true", help="only the HTTP endpoints")
    parser.add_argument("--reminders", type=int, default=10_000)
    # docker-compose.yml runs the worker with --concurrency 4 (prefork).
    parser.add_argument("--worker-concurrency", type=int, default=4, help="Celery worker processes (default 4)")
    parser.add_argument("--shipments", type=int, default=10_000)
    parser.add_argument("--out", default="bench-results.json")
    parser.add_argument(
        "--generate-only", action="store_true", help="create, migrate and generate the database, then stop"
    )
    parser.add_argument(
        "--reset", action="store_true", help="with --generate-only: drop the bench data and generate again"
    )
    args = parser.parse_args(argv)
    args.seconds = min(60.0, max(1.0, args.seconds))
    started = time.monotonic()

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    preflight(database_url, redis_url)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL")})
    ensure_database(database_url)
    manage("migrate", "--noinput", "-v", "0", env=env)
    generate = ["generate_practice", "--reset" if args.reset and args.generate_only else "--if-missing"]
    if args.scale != 1.0:
        generate += ["--scale", str(args.scale)]
    manage(*generate, env=env)
    # The caseload read model as a running practice has it: rows current, kept so by the writes
    # (docs/caseload.md). Without it the first read of each physician's pages computes them.
    manage("caseload_rebuild", env=env)
    settle(database_url)
    if args.generate_only:
        return 0

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    report: dict = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu": _cpu_name(),
            # Other work on the machine skews every figure: the load average says how much there was.
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "database": urlparse(database_url).path.lstrip("/"),
        "users": args.users,
        "seconds_per_endpoint": args.seconds,
        "gunicorn": {"workers": args.workers, "threads": args.threads},
        "sizes": _sizes(),
        "endpoints": {},
        "batch": {},
    }
    say("data: " + ", ".join(f"{v:,} {k}" for k, v in report["sizes"].items()))
    say(f"machine: {os.cpu_count()} cores, {report['machine']['cpu']}, load average {os.getloadavg()[0]:.2f}")

    # The generator writes rows directly (no model signals): availability entries cached by an
    # earlier run could outlive the rows they were computed from. Start from an empty cache.
    from django.core.cache import cache

    cache.clear()

    if not args.skip_http:
        plan = Plan(args.users)
        say(
            f"plan: {len(plan.patient_headers)} patients, {len(plan.physician_headers)} physicians, 1 staff; "
            f"{plan.booking_total} distinct bookable (physician, slot) pairs; {len(plan.trackers)} trackers"
        )
        connection.close()
        wanted = [s for s in scenarios(plan, settings.EASYPOST_WEBHOOK_SECRET)]
        if args.only:
            names = {"floor", *args.only.split(",")}
            wanted = [s for s in wanted if s.name in names]
        report["client"] = client_name(args.client)
        say(f"load generator: {report['client']}")
        report["endpoints"], report["pinning"] = measure(env, args, wanted)
        floors = [report["endpoints"][n]["rps"] for n in FLOORS if n in report["endpoints"]]
        floor = statistics.fmean(floors) if floors else 0.0
        report["floor_rps"] = round(floor, 1)
        say("")
        say(f"floor: {' and '.join(f'{x:.1f}' for x in floors)} req/s (first and last): ratios use {floor:.1f}")
        say(table(list(report["endpoints"].values()), floor))

    if args.growth and not args.skip_http:
        report["growth"] = growth(env, args, database_url)
        say("")
        say(f"growth from scale {args.growth[0]:g} to {args.growth[-1]:g} ({args.growth_seconds:g} s per endpoint):")
        say(growth_table(report["growth"]))

    if not args.skip_batch:
        say("")
        say(f"batch: {args.reminders:,} due reminders through a real Celery worker and Redis ({redis_url}) ...")
        if args.reminders > 0:
            report["batch"]["reminders"] = batch_reminders(
                env, args.reminders, var / "bench-celery.log", worker_concurrency=args.worker_concurrency
            )
            r = report["batch"]["reminders"]
            say(
                f"  reminders: {r['sent']:,}/{r['reminders']:,} sent in {r['seconds']} s ({r['per_second']}/s, "
                f"{r['worker_concurrency']} worker processes)"
            )
        if args.shipments > 0:
            say(f"batch: {args.shipments:,} shipment updates through the tracking service ...")
            report["batch"]["shipments"] = batch_shipments(args.shipments)
            s = report["batch"]["shipments"]
            say(f"  shipments: {s['updates']:,} applied in {s['seconds']} s ({s['per_second']}/s) {s['outcomes']}")

    report["goals"] = goals(report["endpoints"], report["batch"])
    if report["goals"]:
        say("")
        say("goals (docs/performance.md#goals):")
        for g in report["goals"]:
            say(f"  [{'met' if g['met'] else 'MISSED'}] {g['goal']}: {g['value']}")
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["total_seconds"] = round(time.monotonic() - started, 1)
    out = ROOT / args.out
    out.write_text(json.dumps(report, indent=2, default=str))
    say(f"\nwrote {out} (total {report['total_seconds']} s)")
    return 0


def _sizes() -> dict:
    from accounts.models import User
    from prescriptions.models import DeliveryOrder, OrderEvent
    from scheduling.models import Appointment, Reminder

    return {
        "physicians": User.objects.filter(role="physician").count(),
        "patients": User.objects.filter(role="patient").count(),
        "appointments": Appointment.objects.count(),
        "reminders": Reminder.objects.count(),
        "delivery_orders": DeliveryOrder.objects.count(),
        "order_events": OrderEvent.objects.count(),
    }


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
