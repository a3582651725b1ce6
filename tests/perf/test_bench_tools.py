"""The benchmark's own pieces: the data generator (--small, so it runs on SQLite too), the floor
endpoint (bench settings only), and the load generator's arithmetic."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve

from tests.conftest import client_for


@pytest.fixture
def generated(db):
    out = StringIO()
    call_command("generate_practice", "--small", stdout=out)
    return out.getvalue()


def test_generator_builds_a_small_consistent_practice(generated):
    from accounts.models import User
    from billing.models import Subscription
    from patients.models import ConsentSignature, PatientProfile, QuestionnaireResponse
    from prescriptions.models import DeliveryOrder, OrderEvent
    from scheduling.models import Appointment, Reminder

    assert "done in" in generated
    assert User.objects.filter(role="physician", email__endswith="@gen.practice.example").count() == 4
    assert PatientProfile.objects.count() == 40
    # Every patient is on the caseload of a physician licensed in the patient's state.
    for profile in PatientProfile.objects.select_related("assigned_physician"):
        states = set(profile.assigned_physician.state_licences.values_list("state", flat=True))
        assert profile.state in states
    assert ConsentSignature.objects.count() >= 40
    assert QuestionnaireResponse.objects.filter(is_baseline=True).count() >= 40
    assert Subscription.objects.count() == 40
    assert Appointment.objects.filter(status="booked").exists()
    assert Appointment.objects.filter(status="completed").exists()
    assert Reminder.objects.exists()
    assert DeliveryOrder.objects.count() == 60
    assert OrderEvent.objects.count() >= 60
    assert DeliveryOrder.objects.exclude(tracker_id="").exists()


def test_generated_visits_of_a_physician_never_overlap(generated):
    from scheduling.models import ACTIVE_STATUSES, Appointment

    by_physician: dict[int, list] = {}
    for a in Appointment.objects.filter(status__in=ACTIVE_STATUSES).order_by("physician_id", "starts_at"):
        by_physician.setdefault(a.physician_id, []).append(a)
    assert by_physician
    for visits in by_physician.values():
        for before, after in zip(visits, visits[1:], strict=False):
            assert before.ends_at <= after.starts_at


def test_generator_refuses_to_generate_twice_and_skips_with_if_missing(generated):
    with pytest.raises(CommandError, match="already"):
        call_command("generate_practice", "--small", stdout=StringIO())
    out = StringIO()
    call_command("generate_practice", "--small", "--if-missing", stdout=out)
    assert "nothing to do" in out.getvalue()


def test_generator_needs_postgresql_for_a_full_practice(db):
    if connection.vendor == "postgresql":
        pytest.skip("the refusal is about SQLite")
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command("generate_practice", stdout=StringIO())


def test_reset_is_refused_outside_a_bench_database(db):
    with pytest.raises(CommandError, match="bench"):
        call_command("generate_practice", "--small", "--reset", stdout=StringIO())


def test_the_floor_route_exists_only_under_the_bench_urlconf(settings, patient):
    with pytest.raises(Resolver404):
        resolve("/bench/floor/")
    settings.ROOT_URLCONF = "bench.urls"
    assert client_for(None).get("/bench/floor/").status_code == 401
    client = client_for(patient)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/bench/floor/")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "role": "patient"}
    assert len(ctx.captured_queries) == 1  # authentication's user row, nothing else


def test_percentiles_and_result_of_the_load_generator():
    from bench.load import percentile

    values = sorted(float(v) for v in range(1, 101))
    assert percentile(values, 0.50) == 50.0 or percentile(values, 0.50) == 51.0
    assert percentile(values, 0.95) == 95.0 or percentile(values, 0.95) == 96.0
    assert percentile(values, 0.99) >= 99.0
    assert percentile([], 0.5) != percentile([], 0.5)  # NaN for no samples


def test_bench_goals_are_judged_from_the_ratios():
    from bench.run import goals, table

    results = {
        "floor": {"name": "floor", "rps": 1000.0, "p50_ms": 5, "p95_ms": 9, "p99_ms": 12, "errors": 0, "statuses": {}},
        "caseload": {
            "name": "caseload",
            "rps": 250.0,
            "p50_ms": 50,
            "p95_ms": 300,
            "p99_ms": 400,
            "errors": 0,
            "statuses": {"200": 10},
        },
    }
    text = table(list(results.values()), 1000.0)
    assert "0.25" in text
    judged = {g["goal"]: g["met"] for g in goals(results, {"reminders": {"seconds": 9.0, "sent": 10, "reminders": 10}})}
    assert judged["caseload throughput >= 0.3 x floor"] is False
    assert judged["caseload p95 <= 250 ms"] is False
    assert judged["10 reminders dispatched < 10 s"] is True
    slow = goals(results, {"reminders": {"seconds": 12.0, "sent": 10_000, "reminders": 10_000}})
    assert {g["goal"]: g["met"] for g in slow}["10,000 reminders dispatched < 10 s"] is False


def test_the_boards_deep_page_is_judged_against_its_first_page():
    from bench.run import goals

    def row(name, rps):
        return {
            "name": name,
            "rps": rps,
            "ratio_to_floor": 0.4,
            "p50_ms": 5,
            "p95_ms": 9,
            "p99_ms": 12,
            "errors": 0,
            "statuses": {},
        }

    for deep_rps, met in ((300.0, True), (266.7, True), (250.0, False)):
        results = {n: row(n, r) for n, r in (("delivery_board", 400.0), ("delivery_board_deep", deep_rps))}
        judged = {g["goal"]: g["met"] for g in goals(results, {})}
        assert judged["delivery_board page 500 within 1.5 x page 1"] is met
    # Page 1 measured again after page 500: the mean of the two is page 1's figure.
    results = {
        n: row(n, r)
        for n, r in (("delivery_board", 500.0), ("delivery_board_deep", 250.0), ("delivery_board_again", 250.0))
    }
    assert next(g for g in goals(results, {}) if "page 500" in g["goal"])["value"] == 1.5


def test_the_boards_first_page_is_measured_again_straight_after_page_500():
    from bench.load import Scenario
    from bench.run import _with_board_again

    def named(*names):
        return [Scenario(n, lambda i, s: None) for n in names]

    order = [s.name for s in _with_board_again(named("floor", "delivery_board", "delivery_board_deep", "webhook"))]
    assert order == ["floor", "delivery_board", "delivery_board_deep", "delivery_board_again", "webhook"]
    assert [s.name for s in _with_board_again(named("floor", "delivery_board"))] == ["floor", "delivery_board"]


def test_the_deep_page_url_is_the_boards_own_next_link(db, settings):
    """bench.run._board_page_path builds the cursor the board's `next` link carries."""
    from urllib.parse import urlsplit

    from bench.run import _board_page_path
    from tests.conftest import client_for
    from tests.factories import StaffUserFactory
    from tests.prescriptions.factories import DeliveryOrderFactory, SignedPrescriptionFactory

    settings.ALLOWED_HOSTS = ["testserver"]
    rx = SignedPrescriptionFactory()
    for i in range(45):
        DeliveryOrderFactory(prescription=rx, sequence=i + 1)
    client = client_for(StaffUserFactory())
    second = client.get("/api/v1/staff/delivery-orders/", {"cursor": ""}).json()["next"]
    third = client.get(second).json()["next"]
    link = urlsplit(third)
    assert _board_page_path(3) == f"{link.path}?{link.query}"
    assert [r["id"] for r in client.get(_board_page_path(3)).json()["results"]] != []
    assert _board_page_path(4) is None  # 45 orders: no fourth page


def test_the_growth_table_follows_each_endpoint_from_scale_to_scale():
    from bench.run import growth_table, scale_database_url

    def result(rps, p50):
        return {"rps": rps, "p50_ms": p50}

    rows = {
        1.0: {"sizes": {"patients": 20_000}, "endpoints": {"caseload": result(300.0, 20.0)}},
        5.0: {
            "sizes": {"patients": 100_000},
            "endpoints": {"caseload": {**result(200.0, 30.0), "first_request_ms": 3210.4}},
        },
    }
    text = growth_table(rows)
    assert "x1" in text and "x5" in text and "100,000" in text and "first ms" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("caseload"))
    assert "300.0" in line and "200.0" in line and "1.50 x" in line
    assert "3210" in line  # the first (cold) request at scale 5; none recorded at scale 1: "-"
    assert next(ln for ln in text.splitlines() if ln.startswith("delivery_board")).split()[1] == "-"
    url = "postgres://postgres@127.0.0.1:5432/practice_bench"
    assert scale_database_url(url, 1.0, 1.0) == url
    assert scale_database_url(url, 0.25, 1.0).endswith("/practice_bench_x0_25")


def test_wrk_replays_prepared_requests_and_reads_its_figures(tmp_path):
    """The wrk driver's own pieces (wrk itself is not needed): the raw requests it replays and the
    JSON line its Lua script prints."""
    from bench import wrk
    from bench.load import Req, Scenario

    scenario = Scenario("s", lambda i, seq: Req("POST", f"/x?u={i}&s={seq}", {"A": "b"}, b"{}") if seq < 2 else None)
    path = tmp_path / "reqs.bin"
    assert wrk.requests_file(scenario, users=3, per_user=4, host="h:1", path=path) == 6
    data = path.read_bytes()
    first_len, rest = data.split(b"\n", 1)
    first = rest[: int(first_len)]
    assert first == b"POST /x?u=0&s=0 HTTP/1.1\r\nHost: h:1\r\nA: b\r\nContent-Length: 2\r\n\r\n{}"
    line = (
        wrk.MARK + '{"requests":200,"duration_us":2000000,"bytes":204800,"p50_us":1500,"p95_us":9000,'
        '"p99_us":12000,"mean_us":2500.5,"connect":0,"read":0,"write":0,"timeout":1,"statuses":{"200":198,"500":1}}'
    )
    result = wrk.parse("Running 2s test\n" + line + "\n", Scenario("s", lambda i, q: None), 2.0)
    assert (result.requests, result.rps, result.p50_ms, result.p95_ms, result.response_kb) == (
        200,
        100.0,
        1.5,
        9.0,
        1.0,
    )
    assert result.statuses == {"200": 198, "500": 1, "timeout": 1} and result.errors == 2


def test_the_load_generator_speaks_http_1_1_keep_alive_chunked_and_close():
    """The load generator's own HTTP/1.1 client against a canned server: it reads Content-Length
    and chunked bodies, reuses the connection, reopens it after `Connection: close`, and counts a
    server that hangs up mid-answer as an error instead of crashing."""
    import asyncio

    from bench.load import Req, Scenario, run_scenario

    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  # then the server hangs up
    ]
    seen = {"connections": 0, "requests": 0, "bodies": []}

    async def handle(reader, writer):
        seen["connections"] += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = [int(x.split(b":")[1]) for x in head.split(b"\r\n") if x.lower().startswith(b"content-length")]
                seen["bodies"].append(await reader.readexactly(length[0]) if length else b"")
                answer = answers[seen["requests"] % len(answers)]
                seen["requests"] += 1
                writer.write(answer)
                await writer.drain()
                if b"close" in answer or answer.endswith(b"short"):
                    break
        except asyncio.IncompleteReadError:
            pass
        writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        sent = []

        def make(i, seq):
            if seq >= 8:
                return None
            sent.append(seq)
            return Req("POST", f"/x?{seq}", {"X-Test": "1"}, b"{}")

        async with server:
            return await run_scenario(
                f"http://127.0.0.1:{port}", Scenario("t", make, ok_statuses=(200, 201)), users=1, seconds=5, warmup=0
            )

    result = asyncio.run(main())
    assert result.requests == 8
    assert result.statuses == {"200": 4, "201": 2, "IncompleteReadError": 2}
    assert result.errors == 2
    assert seen["bodies"] == [b"{}"] * 8
    assert seen["connections"] == 4  # reused for three answers, reopened after each close and hang-up


def test_the_in_process_profiler_builds_wsgi_requests_and_refuses_unknown_endpoints():
    from bench.load import Req
    from bench.profile import _environ, main

    env = _environ(
        Req("POST", "/api/v1/x/?a=1&b=2", {"Authorization": "Bearer t", "Content-Type": "application/json"}, b"{}")
    )
    assert env["PATH_INFO"] == "/api/v1/x/" and env["QUERY_STRING"] == "a=1&b=2"
    assert env["HTTP_AUTHORIZATION"] == "Bearer t" and env["CONTENT_TYPE"] == "application/json"
    assert env["CONTENT_LENGTH"] == "2" and env["wsgi.input"].read() == b"{}"
    with pytest.raises(SystemExit, match="webhook"):
        main(["--only", "webhook"])
