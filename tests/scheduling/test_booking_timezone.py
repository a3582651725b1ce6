"""A visit's start must say which instant it means: no offset, no booking (docs/api-conventions.md#datetimes)."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine

from scheduling.models import Appointment
from tests.scheduling.factories import book

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=ZoneInfo("UTC"))


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def setup(world, patient, physician):
    world.physician(physician)
    world.patient(patient)
    world.hours(physician, time(9), time(12))
    return world


@pytest.mark.parametrize("naive", ["2026-06-03T13:00:00", "2026-06-03T13:00", "2026-06-03 13:00:00.000"])
def test_a_start_without_an_offset_is_refused_not_booked_as_utc(api, patient, physician, setup, naive):
    response = book(api(patient), physician, starts_at=naive)
    assert response.status_code == 400
    assert response.json()["fields"]["starts_at"][0]["code"] == "timezone_required"
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("aware", ["2026-06-03T13:00:00Z", "2026-06-03T09:00:00-04:00", "2026-06-03T13:00:00+00:00"])
def test_the_same_instant_with_any_offset_books_it(api, patient, physician, setup, aware):
    response = book(api(patient), physician, starts_at=aware)
    assert response.status_code == 201, response.json()
    assert response.json()["starts_at"] == "2026-06-03T13:00:00Z"


def test_a_reschedule_without_an_offset_is_refused(api, patient, physician, setup):
    booked = book(api(patient), physician).json()
    response = api(patient).post(
        f"/api/v1/appointments/{booked['id']}/reschedule/", {"starts_at": "2026-06-03T14:00:00"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["starts_at"][0]["code"] == "timezone_required"
