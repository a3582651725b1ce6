"""Availability search over the API: zones, licences, caseload caps, bad windows, query counts."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine

from scheduling.models import AvailabilityException
from tests.factories import PhysicianUserFactory
from tests.scheduling.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=ZoneInfo("UTC"))  # Monday 08:00 in New York


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def search(client, **params):
    params.setdefault("appointment_type", "free_consultation")
    return client.get("/api/v1/availability/", params)


def starts(body, physician=None):
    out = []
    for item in body["results"]:
        if physician is None or item["physician"]["id"] == str(physician.public_id):
            out += [s["starts_at"] for s in item["slots"]]
    return out


def test_patient_sees_slots_in_their_zone_with_offset_and_utc(api, patient, physician, world):
    world.physician(physician)
    world.patient(patient, state="FL", tz="America/New_York")
    world.hours(physician, time(9), time(10))
    response = search(api(patient), start="2026-06-02", end="2026-06-02")
    assert response.status_code == 200
    body = response.json()
    assert body["time_zone"] == "America/New_York" and body["state"] == "FL"
    slot = body["results"][0]["slots"][0]
    assert slot["starts_at"] == "2026-06-02T09:00:00-04:00"
    assert slot["starts_at_utc"] == "2026-06-02T13:00:00Z"
    assert slot["ends_at"] == "2026-06-02T09:20:00-04:00"
    assert body["results"][0]["physician"]["id"] == str(physician.public_id)


def test_central_time_patient_sees_eastern_physician_an_hour_earlier(api, patient, physician, world):
    world.physician(physician, tz="America/New_York")
    world.patient(patient, state="FL", tz="America/Chicago")  # e.g. Escambia County
    world.hours(physician, time(9), time(10))
    body = search(api(patient), start="2026-06-02", end="2026-06-02").json()
    assert starts(body)[:2] == ["2026-06-02T08:00:00-05:00", "2026-06-02T08:15:00-05:00"]
    assert body["results"][0]["physician_time_zone"] == "America/New_York"


def test_dst_spring_forward_window_keeps_physician_wall_clock(api, patient, physician, world):
    world.physician(physician)
    world.patient(patient)
    world.hours(physician, time(9), time(9, 30))
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=ZoneInfo("UTC")), tick=False):
        body = search(api(patient), start="2026-03-07", end="2026-03-08").json()
    assert starts(body) == ["2026-03-07T09:00:00-05:00", "2026-03-08T09:00:00-04:00"]
    assert [s["starts_at_utc"] for s in body["results"][0]["slots"]] == ["2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z"]


def test_dst_fall_back_window_keeps_physician_wall_clock(api, patient, physician, world):
    world.physician(physician)
    world.patient(patient)
    world.hours(physician, time(9), time(9, 30))
    with time_machine.travel(datetime(2026, 10, 25, 12, tzinfo=ZoneInfo("UTC")), tick=False):
        body = search(api(patient), start="2026-10-31", end="2026-11-01").json()
    assert [s["starts_at_utc"] for s in body["results"][0]["slots"]] == ["2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z"]


def test_licence_expiring_mid_window_gives_no_slots_after_it(api, patient, physician, world):
    world.physician(physician)
    world.licences[(physician.pk, "FL")] = [(date(2020, 1, 1), date(2026, 6, 3))]
    world.patient(patient)
    world.hours(physician, time(9), time(9, 30))
    body = search(api(patient), start="2026-06-02", end="2026-06-05").json()
    days = {s[:10] for s in starts(body)}
    assert days == {"2026-06-02", "2026-06-03"}


def test_physician_licensed_only_in_the_other_state_is_not_offered(api, patient, physician, other_physician, world):
    world.physician(physician, states=("NJ",))
    world.physician(other_physician, states=("FL",))
    world.patient(patient, state="FL")
    world.hours(physician)
    world.hours(other_physician)
    body = search(api(patient), start="2026-06-02", end="2026-06-02").json()
    assert [r["physician"]["id"] for r in body["results"]] == [str(other_physician.public_id)]


def test_caseload_cap_and_not_accepting_hide_physicians_from_new_free_consultations(
    api, patient, other_patient, physician, other_physician, world
):
    world.physician(physician, accepting=False)
    world.physician(other_physician, cap=1)
    world.assigned[other_patient.pk] = other_physician.pk  # cap reached
    world.patient(patient)
    world.patient(other_patient)
    world.hours(physician)
    world.hours(other_physician)
    free = search(api(patient), start="2026-06-02", end="2026-06-02").json()
    assert free["results"] == []
    # Their own patient still sees them; follow-ups are not limited by the new-patient cap.
    own = search(api(other_patient), start="2026-06-02", end="2026-06-02").json()
    assert [r["physician"]["id"] for r in own["results"]] == [str(other_physician.public_id)]
    follow = search(api(patient), start="2026-06-02", end="2026-06-02", appointment_type="follow_up").json()
    assert len(follow["results"]) == 2


def test_cap_counts_upcoming_free_consultations(api, patient, other_patient, physician, world):
    world.physician(physician, cap=1)
    world.patient(patient)
    world.hours(physician)
    AppointmentFactory(
        physician=physician, patient=other_patient, starts_at=datetime(2026, 6, 3, 13, tzinfo=ZoneInfo("UTC"))
    )
    assert search(api(patient), start="2026-06-02", end="2026-06-02").json()["results"] == []


def test_booked_visits_buffers_time_off_and_lead_time_remove_slots(api, patient, physician, world):
    world.physician(physician)
    world.patient(patient)
    world.hours(physician, time(9), time(11))
    AppointmentFactory(physician=physician, starts_at=datetime(2026, 6, 2, 13, 30, tzinfo=ZoneInfo("UTC")))
    AvailabilityException.objects.create(physician=physician, date=date(2026, 6, 3), kind="time_off")
    body = search(api(patient), start="2026-06-01", end="2026-06-03").json()
    got = starts(body)
    # 1 June: only after now + 2 h lead (10:00 EDT) remains; 2 June: 9:30 visit (+10 min buffer)
    # blocks 9:15..9:45 starts; 3 June: the day off.
    assert [s for s in got if s.startswith("2026-06-01")] == [
        "2026-06-01T10:00:00-04:00",
        "2026-06-01T10:15:00-04:00",
        "2026-06-01T10:30:00-04:00",
    ]
    june2 = [s[11:16] for s in got if s.startswith("2026-06-02")]
    assert "09:00" in june2 and "09:15" not in june2 and "09:30" not in june2 and "09:45" not in june2
    assert "10:00" in june2
    assert not any(s.startswith("2026-06-03") for s in got)


def test_one_physician_filter(api, patient, physician, other_physician, world):
    for p in (physician, other_physician):
        world.physician(p)
        world.hours(p)
    world.patient(patient)
    body = search(api(patient), start="2026-06-02", end="2026-06-02", physician=str(physician.public_id)).json()
    assert [r["physician"]["id"] for r in body["results"]] == [str(physician.public_id)]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"start": "2026-06-05", "end": "2026-06-02"}, "invalid_window"),
        ({"start": "2026-06-02", "end": "2026-08-30"}, "window_too_long"),
        ({"start": "2026-06-02", "end": "2026-06-16"}, "window_too_long"),
        ({"start": "yesterday", "end": "2026-06-02"}, "validation_error"),
        ({"start": "2026-06-02", "end": "2026-06-03", "appointment_type": "surgery"}, "validation_error"),
    ],
)
def test_bad_windows_are_400_with_a_stable_code(api, patient, world, params, code):
    world.patient(patient)
    response = search(api(patient), **params)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_fourteen_days_is_allowed(api, patient, world):
    world.patient(patient)
    assert search(api(patient), start="2026-06-02", end="2026-06-15").status_code == 200


def test_patient_without_location_must_give_one(api, patient, world):
    response = search(api(patient), start="2026-06-02", end="2026-06-02")
    assert response.status_code == 400
    assert response.json()["code"] == "location_required"


def test_prospective_patient_searches_by_zip(anon_client, physician, world, monkeypatch):
    from practice import service_area

    world.physician(physician)
    world.hours(physician, time(9), time(9, 30))

    class Result:
        served, reason, state, time_zone, county_choices = True, None, "FL", "America/Chicago", []

    calls = []
    monkeypatch.setattr(service_area, "resolve_location", lambda z, c=None: calls.append((z, c)) or Result())
    body = search(anon_client, start="2026-06-02", end="2026-06-02", zip="32501").json()
    assert calls == [("32501", None)]
    assert starts(body) == ["2026-06-02T08:00:00-05:00"]


def test_prospective_patient_outside_the_area_gets_a_stable_code(anon_client, world, monkeypatch):
    from practice import service_area

    class Result:
        served, reason, state, time_zone, county_choices = False, "state_not_served", "NY", None, []

    monkeypatch.setattr(service_area, "resolve_location", lambda z, c=None: Result())
    response = search(anon_client, start="2026-06-02", end="2026-06-02", zip="10001")
    assert response.status_code == 400
    assert response.json()["code"] == "location_not_served"
    assert response.json()["reason"] == "state_not_served"


def test_anonymous_search_needs_a_zip(anon_client, world):
    response = search(anon_client, start="2026-06-02", end="2026-06-02")
    assert response.json()["code"] == "location_required"


def _many_physicians(world, n):
    physicians = [PhysicianUserFactory() for _ in range(n)]
    for p in physicians:
        world.physician(p)
        world.hours(p, time(9), time(12))
        AppointmentFactory(physician=p, starts_at=datetime(2026, 6, 4, 14, tzinfo=ZoneInfo("UTC")))
        AvailabilityException.objects.create(physician=p, date=date(2026, 6, 5), kind="time_off")
    return physicians


def test_availability_query_count_is_constant_for_5_and_50_physicians(
    api, patient, world, django_assert_num_queries, types_cached
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    world.patient(patient)
    client = api(patient)
    _many_physicians(world, 5)
    with CaptureQueriesContext(connection) as small:
        body = search(client, start="2026-06-02", end="2026-06-15").json()
    assert body["count"] == 5
    _many_physicians(world, 45)
    with CaptureQueriesContext(connection) as large:
        body = search(client, start="2026-06-02", end="2026-06-15", page_size=100).json()
    assert body["count"] == 50 and len(body["results"]) == 50
    assert len(large) == len(small)
    assert len(small) <= 10
