"""The availability the apps show (docs/availability.md): one day's slots (`?date=`) and the day
strip (/availability/days/), in the patient's local dates across midnight and DST; the window
form kept, deprecated; bad dates refused with stable codes."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine

from scheduling.models import AvailabilityException
from tests.factories import PhysicianUserFactory
from tests.scheduling.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # Monday 08:00 in New York


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def day_view(client, day, **params):
    return client.get("/api/v1/availability/", {"date": day, "appointment_type": "free_consultation", **params})


def strip(client, start, end, **params):
    return client.get(
        "/api/v1/availability/days/", {"start": start, "end": end, "appointment_type": "free_consultation", **params}
    )


def starts(body):
    return [s["starts_at"] for item in body["results"] for s in item["slots"]]


def test_the_day_view_is_one_local_day_of_the_window_answer(api, patient, physician, other_physician, world):
    world.patient(patient)
    for doctor in (physician, other_physician):
        world.physician(doctor)
        world.hours(doctor, time(9), time(10))
    client = api(patient)
    response = day_view(client, "2026-06-03")
    assert response.status_code == 200
    body = response.json()
    assert (body["date"], body["start"], body["end"], body["count"]) == ("2026-06-03", "2026-06-03", "2026-06-03", 2)
    assert {s[:10] for s in starts(body)} == {"2026-06-03"}
    window = client.get(
        "/api/v1/availability/", {"start": "2026-06-03", "end": "2026-06-03", "appointment_type": "free_consultation"}
    ).json()
    assert "date" not in window and window["results"] == body["results"]


def test_the_day_is_the_patients_local_date_across_midnight(api, patient, physician, world):
    # New York hours 00:00-01:00 on June 3 are 23:00-24:00 on June 2 in Chicago.
    world.physician(physician, tz="America/New_York")
    world.patient(patient, tz="America/Chicago")
    world.hours(physician, time(0), time(1), weekdays=[2])  # Wednesday June 3 (New York)
    client = api(patient)
    june_2 = day_view(client, "2026-06-02").json()
    assert starts(june_2)[0] == "2026-06-02T23:00:00-05:00"
    assert day_view(client, "2026-06-03").json()["results"] == []
    days = {d["date"]: d for d in strip(client, "2026-06-02", "2026-06-03").json()["days"]}
    assert days["2026-06-02"]["available"] and not days["2026-06-03"]["available"]
    assert days["2026-06-02"]["earliest_start"] == "2026-06-02T23:00:00-05:00"
    assert days["2026-06-02"]["earliest_start_utc"] == "2026-06-03T04:00:00Z"


def test_the_strip_counts_physicians_and_the_earliest_slot_per_day(api, patient, physician, other_physician, world):
    world.patient(patient)
    world.physician(physician)
    world.physician(other_physician)
    world.hours(physician, time(9), time(10))
    world.hours(other_physician, time(11), time(12))
    AvailabilityException.objects.create(physician=physician, date=date(2026, 6, 3), kind="time_off")
    AvailabilityException.objects.create(physician=other_physician, date=date(2026, 6, 4), kind="time_off")
    AvailabilityException.objects.create(physician=physician, date=date(2026, 6, 4), kind="time_off")
    AppointmentFactory(physician=physician, starts_at=datetime(2026, 6, 2, 13, tzinfo=UTC))  # 09:00 EDT taken
    response = strip(api(patient), "2026-06-02", "2026-06-05")
    assert response.status_code == 200
    body = response.json()
    assert (body["start"], body["end"], body["time_zone"], body["state"]) == (
        "2026-06-02",
        "2026-06-05",
        "America/New_York",
        "FL",
    )
    days = [(d["date"], d["available"], d["physicians"], d["earliest_start"]) for d in body["days"]]
    assert days == [
        # 09:00 is booked: the first free slot that day is after that visit and its buffer
        ("2026-06-02", True, 2, "2026-06-02T09:30:00-04:00"),
        ("2026-06-03", True, 1, "2026-06-03T11:00:00-04:00"),
        ("2026-06-04", False, 0, None),
        ("2026-06-05", True, 2, "2026-06-05T09:00:00-04:00"),
    ]


def test_the_strip_agrees_with_the_day_view_day_by_day(api, patient, world):
    world.patient(patient, tz="America/Chicago")
    for i, tz in enumerate(("America/New_York", "America/Chicago", "America/New_York")):
        doctor = world.physician(PhysicianUserFactory(), tz=tz)
        world.hours(doctor, time(8 + i), time(17), weekdays=range(i, 7))
        AppointmentFactory(physician=doctor, starts_at=datetime(2026, 6, 2 + i, 15, tzinfo=UTC))
    client = api(patient)
    for day in strip(client, "2026-06-01", "2026-06-14").json()["days"]:
        body = day_view(client, day["date"], page_size=50).json()
        assert day["physicians"] == body["count"]
        assert day["available"] == bool(body["results"])
        firsts = sorted(item["slots"][0]["starts_at_utc"] for item in body["results"])
        assert day["earliest_start_utc"] == (firsts[0] if firsts else None)


@pytest.mark.parametrize(
    ("moment", "days", "expected"),
    [
        # Spring forward (March 8): 09:00 is 14:00 UTC before and 13:00 UTC after.
        (
            datetime(2026, 3, 1, 12, tzinfo=UTC),
            ("2026-03-07", "2026-03-09"),
            [
                ("2026-03-07T09:00:00-05:00", "14:00"),
                ("2026-03-08T09:00:00-04:00", "13:00"),
                ("2026-03-09T09:00:00-04:00", "13:00"),
            ],
        ),
        # Fall back (November 1): 09:00 is 13:00 UTC before and 14:00 UTC after.
        (
            datetime(2026, 10, 25, 12, tzinfo=UTC),
            ("2026-10-31", "2026-11-02"),
            [
                ("2026-10-31T09:00:00-04:00", "13:00"),
                ("2026-11-01T09:00:00-05:00", "14:00"),
                ("2026-11-02T09:00:00-05:00", "14:00"),
            ],
        ),
    ],
)
def test_the_strip_and_the_day_view_across_dst(api, patient, physician, world, frozen, moment, days, expected):
    world.physician(physician)
    world.patient(patient)
    world.hours(physician, time(9), time(9, 30))
    frozen.move_to(moment)
    from tests.conftest import client_for

    client = client_for(patient)
    body = strip(client, *days).json()
    got = [(d["earliest_start"], d["earliest_start_utc"][11:16]) for d in body["days"]]
    assert got == expected
    dst_day = body["days"][1]["date"]
    assert starts(day_view(client, dst_day).json()) == [expected[1][0]]


def test_the_day_of_the_week_of_a_dst_change_is_whole(api, patient, physician, world, frozen):
    # On the spring-forward night the 02:00-03:00 wall hour does not exist; the day still runs
    # from local midnight to local midnight (23 hours), and the next day starts at its midnight.
    world.physician(physician)
    world.patient(patient)
    world.hours(physician, time(0), time(1))
    world.hours(physician, time(23), time(23, 59))
    frozen.move_to(datetime(2026, 3, 1, 12, tzinfo=UTC))
    from tests.conftest import client_for

    body = day_view(client_for(patient), "2026-03-08", page_size=50).json()
    got = starts(body)
    assert got[0] == "2026-03-08T00:00:00-05:00" and got[-1] == "2026-03-08T23:30:00-04:00"
    assert all(s.startswith("2026-03-08") for s in got)


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/v1/availability/", {"date": "2026-05-31"}, "date_in_past"),
        ("/api/v1/availability/", {"date": "2026-06-31"}, "validation_error"),
        ("/api/v1/availability/", {"date": "tomorrow"}, "validation_error"),
        ("/api/v1/availability/", {"date": "2026-06-02", "start": "2026-06-02"}, "validation_error"),
        ("/api/v1/availability/", {"end": "2026-06-02"}, "validation_error"),
        ("/api/v1/availability/", {"date": "9999-01-01"}, "validation_error"),
        ("/api/v1/availability/days/", {"start": "2026-05-31", "end": "2026-06-05"}, "date_in_past"),
        ("/api/v1/availability/days/", {"start": "2026-06-05", "end": "2026-06-02"}, "invalid_window"),
        ("/api/v1/availability/days/", {"start": "2026-06-02", "end": "2026-06-16"}, "window_too_long"),
        ("/api/v1/availability/days/", {"start": "2026-06-02", "end": "2027-06-16"}, "window_too_long"),
        ("/api/v1/availability/days/", {"start": "2026-06-02"}, "validation_error"),
        ("/api/v1/availability/days/", {"start": "2026-02-30", "end": "2026-06-02"}, "validation_error"),
    ],
)
def test_bad_dates_are_400_with_a_stable_code(api, patient, world, path, params, code):
    world.patient(patient)
    response = api(patient).get(path, {"appointment_type": "free_consultation", **params})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code


def test_field_errors_name_their_code(api, patient, world):
    world.patient(patient)
    body = day_view(api(patient), "2026-06-02", start="2026-06-02").json()
    assert "conflicting_parameters" in str(body)
    body = api(patient).get("/api/v1/availability/", {"end": "2026-06-02"}).json()
    assert "start" in str(body) and "required" in str(body)


def test_today_and_fourteen_days_are_allowed(api, patient, world):
    world.patient(patient)
    client = api(patient)
    assert day_view(client, "2026-06-01").status_code == 200
    body = strip(client, "2026-06-01", "2026-06-14").json()
    assert [d["date"] for d in body["days"]][::13] == ["2026-06-01", "2026-06-14"]


def test_past_is_judged_in_the_patients_zone(api, patient, world, frozen):
    # 04:30 UTC on June 2: already June 2 in New York, still June 1 in Chicago.
    frozen.move_to(datetime(2026, 6, 2, 4, 30, tzinfo=UTC))
    from tests.conftest import client_for

    world.patient(patient, tz="America/New_York")
    assert day_view(client_for(patient), "2026-06-01").json()["code"] == "date_in_past"
    world.patient(patient, tz="America/Chicago")
    assert day_view(client_for(patient), "2026-06-01").status_code == 200
    assert strip(client_for(patient), "2026-06-01", "2026-06-02").status_code == 200


def test_a_prospective_patient_sees_the_strip_and_the_day_by_zip(anon_client, physician, world, monkeypatch):
    from practice import service_area

    world.physician(physician)
    world.hours(physician, time(9), time(9, 30))

    class Result:
        served, reason, state, time_zone, county_choices = True, None, "FL", "America/Chicago", []

    monkeypatch.setattr(service_area, "resolve_location", lambda z, c=None: Result())
    days = strip(anon_client, "2026-06-02", "2026-06-03", zip="32501").json()["days"]
    assert days[0]["earliest_start"] == "2026-06-02T08:00:00-05:00" and days[0]["physicians"] == 1
    assert starts(day_view(anon_client, "2026-06-02", zip="32501").json()) == ["2026-06-02T08:00:00-05:00"]
    assert strip(anon_client, "2026-06-02", "2026-06-03").json()["code"] == "location_required"


def test_the_strip_filters_by_physician(api, patient, physician, other_physician, world):
    world.patient(patient)
    world.physician(physician)
    world.physician(other_physician)
    world.hours(physician, time(9), time(10))
    world.hours(other_physician, time(8), time(9))
    client = api(patient)
    day = strip(client, "2026-06-02", "2026-06-02", physician=str(physician.public_id)).json()["days"][0]
    assert (day["physicians"], day["earliest_start"]) == (1, "2026-06-02T09:00:00-04:00")


def test_the_strip_and_day_view_use_a_constant_number_of_queries(api, patient, world, types_cached):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    world.patient(patient)
    client = api(patient)

    def add(n):
        for _ in range(n):
            doctor = world.physician(PhysicianUserFactory())
            world.hours(doctor, time(9), time(12))
            AppointmentFactory(physician=doctor, starts_at=datetime(2026, 6, 4, 14, tzinfo=UTC))

    add(3)
    with CaptureQueriesContext(connection) as small:
        strip(client, "2026-06-02", "2026-06-15")
        day_view(client, "2026-06-04")
    add(20)
    with CaptureQueriesContext(connection) as large:
        assert strip(client, "2026-06-02", "2026-06-15").json()["days"][2]["physicians"] == 23
        assert day_view(client, "2026-06-04", page_size=50).json()["count"] == 23
    assert len(large) == len(small)
