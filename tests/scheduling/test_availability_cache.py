"""The availability cache (scheduling/availability_cache.py): a cached answer is the answer.

Every change a physician's slots are computed from shows in the next search: bookings,
cancellations, weekly hours, exceptions (through the model signals, after commit), licences
(part of the key), the passing of time (the earliest start, on the grid, is part of the key).
A search answered from the cache reads none of the rows slots are computed from."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduling import availability_cache
from scheduling.models import AvailabilityException, WeeklyAvailability
from tests.scheduling.factories import AppointmentFactory, book

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # Monday 08:00 in New York
DAY = {"start": "2026-06-02", "end": "2026-06-02", "appointment_type": "free_consultation"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def setup(world, patient, physician):
    world.physician(physician)
    world.patient(patient)
    world.hours(physician, time(9), time(10))
    return world


def utc_starts(client, **params):
    body = client.get("/api/v1/availability/", {**DAY, **params}).json()
    return [s["starts_at_utc"] for item in body["results"] for s in item["slots"]]


def slot_queries(queries) -> list[str]:
    tables = ("scheduling_weeklyavailability", "scheduling_availabilityexception", 'scheduling_appointment"')
    return [q["sql"] for q in queries if any(t in q["sql"] for t in tables)]


def test_a_repeated_search_is_answered_from_the_cache_with_the_same_body(api, patient, setup, settings):
    client = api(patient)
    first = client.get("/api/v1/availability/", DAY)
    with CaptureQueriesContext(connection) as queries:
        second = client.get("/api/v1/availability/", DAY)
    assert second.content == first.content
    assert slot_queries(queries.captured_queries) == []
    availability_cache.recent.clear()  # another process: from the shared cache
    availability_cache.forget_answers()
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/availability/", DAY).content == first.content
    assert slot_queries(queries.captured_queries) == []
    settings.SCHEDULING_AVAILABILITY_CACHE_SECONDS = 0
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/availability/", DAY).content == first.content
    assert slot_queries(queries.captured_queries) != []


def test_booking_and_cancelling_show_in_the_next_search(
    api, patient, physician, setup, django_capture_on_commit_callbacks
):
    client = api(patient)
    assert "2026-06-02T13:00:00Z" in utc_starts(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = book(client, physician, starts_at="2026-06-02T13:00:00Z", key="cache-key-0001")
    assert response.status_code == 201, response.json()
    assert "2026-06-02T13:00:00Z" not in utc_starts(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/v1/appointments/{response.json()['id']}/cancel/").status_code == 200
    assert "2026-06-02T13:00:00Z" in utc_starts(client)


def test_the_version_changes_only_when_the_transaction_commits(patient, physician, setup, api):
    client = api(patient)
    before = utc_starts(client)
    # In the test's transaction, never committed: the cached answer stands (what other
    # requests see until the booking commits is the committed state).
    AppointmentFactory(physician=physician, patient=patient, starts_at=NOW.replace(day=2, hour=13))
    assert utc_starts(client) == before


def test_hours_and_exceptions_show_in_the_next_search(
    api, patient, physician, setup, django_capture_on_commit_callbacks
):
    client = api(patient)
    assert len(utc_starts(client)) == 3  # 09:00, 09:15, 09:30 EDT (30-minute visits end by 10:00)
    with django_capture_on_commit_callbacks(execute=True):
        WeeklyAvailability.objects.filter(physician=physician).update(end_time=time(11))  # no signal...
        for row in WeeklyAvailability.objects.filter(physician=physician):
            row.save()  # ...a save sends one
    assert len(utc_starts(client)) == 7
    with django_capture_on_commit_callbacks(execute=True):
        AvailabilityException.objects.create(physician=physician, date=date(2026, 6, 2), kind="time_off")
    assert utc_starts(client) == []
    with django_capture_on_commit_callbacks(execute=True):
        AvailabilityException.objects.filter(physician=physician).delete()
    assert len(utc_starts(client)) == 7


def test_a_licence_change_needs_no_invalidation(api, patient, physician, setup):
    client = api(patient)
    assert utc_starts(client, end="2026-06-04")
    setup.licences[(physician.pk, "FL")] = [(date(2020, 1, 1), date(2026, 6, 2))]
    assert {s[:10] for s in utc_starts(client, end="2026-06-04")} == {"2026-06-02"}
    setup.licences[(physician.pk, "FL")] = []
    assert utc_starts(client, end="2026-06-04") == []


def test_time_passing_within_a_grid_step_keeps_the_answer_and_crossing_it_drops_a_slot(patient, setup, frozen):
    from tests.conftest import client_for

    def first_start(at):
        frozen.move_to(at)
        return utc_starts(client_for(patient))[0]  # a token issued at the travelled-to time

    # Minimum lead 120 minutes: at 10:50 UTC the earliest start is 12:50 -> 13:00 UTC (09:00 EDT).
    assert first_start(datetime(2026, 6, 2, 10, 50, tzinfo=UTC)) == "2026-06-02T13:00:00Z"
    assert first_start(datetime(2026, 6, 2, 11, 0, tzinfo=UTC)) == "2026-06-02T13:00:00Z"  # earliest 13:00
    assert first_start(datetime(2026, 6, 2, 11, 0, 1, tzinfo=UTC)) == "2026-06-02T13:15:00Z"  # a second late


def test_earliest_start_rounds_up_to_the_grid(settings):
    from scheduling.selectors import earliest_start

    settings.SCHEDULING_MIN_LEAD_MINUTES = 120
    at = datetime(2026, 6, 2, 10, 50, 7, tzinfo=UTC)
    assert earliest_start(at) == datetime(2026, 6, 2, 13, 0, tzinfo=UTC)
    assert earliest_start(at.replace(minute=45, second=0)) == datetime(2026, 6, 2, 12, 45, tzinfo=UTC)
    settings.SCHEDULING_SLOT_GRID_MINUTES = 25  # not a divisor of an hour: to the minute only
    assert earliest_start(at) == datetime(2026, 6, 2, 12, 51, tzinfo=UTC)


def test_the_patients_zone_and_the_appointment_type_are_part_of_the_key(api, patient, physician, setup):
    client = api(patient)
    eastern = client.get("/api/v1/availability/", DAY).json()["results"][0]["slots"][0]["starts_at"]
    setup.patient(patient, tz="America/Chicago")
    central = client.get("/api/v1/availability/", DAY).json()["results"][0]["slots"][0]["starts_at"]
    assert (eastern, central) == ("2026-06-02T09:00:00-04:00", "2026-06-02T08:00:00-05:00")
    ends = {
        kind: client.get("/api/v1/availability/", {**DAY, "appointment_type": kind}).json()["results"][0]["slots"][0][
            "ends_at_utc"
        ]
        for kind in ("free_consultation", "follow_up")
    }
    assert ends["free_consultation"] != ends["follow_up"]


def test_a_forgotten_version_is_a_new_version(patient, physician, setup, api):
    from django.core.cache import cache

    client = api(patient)
    first = utc_starts(client)
    cache.delete(f"{availability_cache.NAMESPACE}:v:{physician.pk}")
    availability_cache.recent.clear()
    assert utc_starts(client) == first


def test_the_recent_entries_are_bounded_by_their_size():
    recent = availability_cache._Recent(max_chars=6)
    recent.set_many({"a": "11", "b": "22", "c": "33"})
    assert recent.get_many(["a"]) == {"a": "11"}  # a is now the most recent
    recent.set_many({"d": "44"})  # 8 chars: the least recent (b) goes
    assert recent.get_many(["a", "b", "c", "d"]) == {"a": "11", "c": "33", "d": "44"}
    recent.set_many({"a": "1111"})  # replaced, not counted twice (8 chars): c goes
    assert recent.get_many(["a", "c", "d"]) == {"a": "1111", "d": "44"} and recent.chars == 6
    recent.clear()
    assert recent.chars == 0 and recent.get_many(["a"]) == {}


def test_a_search_from_the_cache_skips_exactly_the_slot_queries(api, patient, setup, types_cached):
    from tests.factories import PhysicianUserFactory

    client = api(patient)
    for _ in range(5):
        setup.hours(setup.physician(PhysicianUserFactory()), time(9), time(10))
    with CaptureQueriesContext(connection) as cold:
        client.get("/api/v1/availability/", DAY)
    with CaptureQueriesContext(connection) as warm:
        client.get("/api/v1/availability/", DAY)
    assert len(warm) == len(cold) - 3  # hours, exceptions, appointments
    assert slot_queries(warm.captured_queries) == []


def test_a_client_that_accepts_gzip_gets_the_same_answer_compressed_once(api, patient, setup, monkeypatch, settings):
    import gzip

    client = api(patient)
    plain = client.get("/api/v1/availability/", DAY)
    assert "Content-Encoding" not in plain and "Accept-Encoding" in plain["Vary"]
    calls = []
    real = gzip.compress
    monkeypatch.setattr(gzip, "compress", lambda data, **kw: calls.append(1) or real(data, **kw))
    first = client.get("/api/v1/availability/", DAY, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    second = client.get("/api/v1/availability/", DAY, HTTP_ACCEPT_ENCODING="gzip")
    assert first["Content-Encoding"] == "gzip" and "Accept-Encoding" in first["Vary"]
    assert gzip.decompress(first.content) == plain.content
    assert second.content == first.content and len(calls) == 1  # compressed once
    # Another page of the same search is another answer.
    other = client.get("/api/v1/availability/", {**DAY, "page_size": 1, "page": 2}, HTTP_ACCEPT_ENCODING="gzip")
    assert other.status_code in (200, 400) and len(calls) == 1 + (other.status_code == 200)
    # With the cache off there is nothing to name the answer by: it goes uncompressed.
    settings.SCHEDULING_AVAILABILITY_CACHE_SECONDS = 0
    off = client.get("/api/v1/availability/", DAY, HTTP_ACCEPT_ENCODING="gzip")
    assert "Content-Encoding" not in off and off.content == plain.content


def test_a_booking_changes_the_compressed_answer_too(
    api, patient, physician, setup, django_capture_on_commit_callbacks
):
    import gzip

    client = api(patient)
    before = gzip.decompress(client.get("/api/v1/availability/", DAY, HTTP_ACCEPT_ENCODING="gzip").content)
    assert b"2026-06-02T13:00:00Z" in before
    with django_capture_on_commit_callbacks(execute=True):
        response = book(client, physician, starts_at="2026-06-02T13:00:00Z", key="cache-key-0002")
    assert response.status_code == 201
    after = gzip.decompress(client.get("/api/v1/availability/", DAY, HTTP_ACCEPT_ENCODING="gzip").content)
    assert b"2026-06-02T13:00:00Z" not in after


def test_outside_a_prefetch_block_every_reader_asks_the_cache():
    from api.cache import prefetched, prefetched_value

    availability_cache.physician_changed(1)  # nothing to do with the block
    assert prefetched_value("x") is None
    with prefetched(["api-cache-test-key"]) as found:
        assert found == {} and prefetched_value("api-cache-test-key") is None
    from django.core.cache import cache

    cache.set("api-cache-test-key", "v1")
    with prefetched(["api-cache-test-key"]):
        cache.set("api-cache-test-key", "v2")
        assert prefetched_value("api-cache-test-key") == "v1"  # read once, at the block's start
    assert prefetched_value("api-cache-test-key") is None
