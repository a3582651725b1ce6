"""Physicians manage their own weekly hours and exceptions; other people's rows are 404."""

import pytest

from scheduling.models import AvailabilityException, WeeklyAvailability

pytestmark = pytest.mark.django_db

WEEKLY = "/api/v1/physician/availability/weekly/"
EXCEPTIONS = "/api/v1/physician/availability/exceptions/"


def test_physician_creates_lists_updates_and_deletes_weekly_hours(api, physician):
    client = api(physician)
    created = client.post(WEEKLY, {"weekday": 0, "start_time": "09:00", "end_time": "12:00"}, format="json")
    assert created.status_code == 201
    row_id = created.json()["id"]
    assert [r["id"] for r in client.get(WEEKLY).json()["results"]] == [row_id]
    patched = client.patch(f"{WEEKLY}{row_id}/", {"end_time": "13:00"}, format="json")
    assert patched.status_code == 200 and patched.json()["end_time"] == "13:00:00"
    assert client.delete(f"{WEEKLY}{row_id}/").status_code == 204
    assert not WeeklyAvailability.objects.exists()


def test_end_before_start_is_refused(api, physician):
    client = api(physician)
    response = client.post(WEEKLY, {"weekday": 0, "start_time": "12:00", "end_time": "09:00"}, format="json")
    assert response.status_code == 400 and "end_time" in response.json()["fields"]
    row = WeeklyAvailability.objects.create(physician=physician, weekday=1, start_time="09:00", end_time="10:00")
    response = client.patch(f"{WEEKLY}{row.public_id}/", {"end_time": "08:00"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    row.refresh_from_db()
    assert str(row.end_time) == "10:00:00"


def test_other_physicians_rows_are_404(api, physician, other_physician):
    row = WeeklyAvailability.objects.create(physician=physician, weekday=1, start_time="09:00", end_time="10:00")
    exc = AvailabilityException.objects.create(physician=physician, date="2030-01-02", kind="time_off")
    client = api(other_physician)
    assert client.patch(f"{WEEKLY}{row.public_id}/", {"end_time": "11:00"}, format="json").status_code == 404
    assert client.delete(f"{WEEKLY}{row.public_id}/").status_code == 404
    assert client.delete(f"{EXCEPTIONS}{exc.public_id}/").status_code == 404
    assert client.get(WEEKLY).json()["results"] == []
    assert WeeklyAvailability.objects.count() == 1 and AvailabilityException.objects.count() == 1


def test_exceptions_time_off_and_extra_hours(api, physician):
    client = api(physician)
    day_off = client.post(EXCEPTIONS, {"date": "2030-01-02", "kind": "time_off"}, format="json")
    assert day_off.status_code == 201 and day_off.json()["start_time"] is None
    extra = client.post(
        EXCEPTIONS,
        {"date": "2030-01-05", "kind": "extra_hours", "start_time": "10:00", "end_time": "12:00"},
        format="json",
    )
    assert extra.status_code == 201
    no_times = client.post(EXCEPTIONS, {"date": "2030-01-06", "kind": "extra_hours"}, format="json")
    assert no_times.status_code == 400 and "start_time" in no_times.json()["fields"]
    half = client.post(EXCEPTIONS, {"date": "2030-01-06", "kind": "time_off", "start_time": "10:00"}, format="json")
    assert half.status_code == 400
    assert AvailabilityException.objects.count() == 2
    patched = client.patch(f"{EXCEPTIONS}{extra.json()['id']}/", {"end_time": "09:00"}, format="json")
    assert patched.status_code == 400


def test_only_physicians_manage_availability(api, patient, staff):
    for user in (patient, staff):
        response = api(user).post(WEEKLY, {"weekday": 0, "start_time": "09:00", "end_time": "12:00"}, format="json")
        assert response.status_code == 403
    assert not WeeklyAvailability.objects.exists()
