"""The demo shows in-person visits: two offices, in-person hours that never overlap video
hours, a Florida demo patient who can find and book an in-person evaluation, and a completed
in-person evaluation for patient.miami."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from scheduling import contracts
from scheduling.models import InPersonEvaluation, VisitLocation, WeeklyAvailability
from scheduling.services.availability import _Block, _check_no_overlap

pytestmark = pytest.mark.django_db


def test_demo_offices_hours_and_an_in_person_evaluation(api):
    call_command("seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("seed", stdout=open("/dev/null", "w"))  # noqa: SIM115  (idempotent)
    assert set(VisitLocation.objects.values_list("city", "state")) == {("Miami", "FL"), ("Newark", "NJ")}
    both = User.objects.get(email="dr.both@demo.practice.example")
    cities = WeeklyAvailability.objects.filter(physician=both, location__isnull=False).values_list("location__city")
    assert {city for (city,) in cities} == {"Miami", "Newark"}
    # Every in-person block passes the service's no-overlap rule against the physician's other hours.
    for row in WeeklyAvailability.objects.filter(location__isnull=False).select_related("location"):
        _check_no_overlap(
            physician=row.physician,
            candidate=_Block(
                place=row.location_id,
                tz=contracts.zone(row.location.time_zone),
                start=row.start_time,
                end=row.end_time,
                weekday=row.weekday,
                pk=row.pk,
            ),
        )
    evaluation = InPersonEvaluation.objects.get(patient__email="patient.miami@demo.practice.example")
    assert evaluation.source == "visit" and evaluation.place_state == "FL"
    assert evaluation.place_address.startswith("200 Biscayne Blvd")
    assert evaluation.appointment.modality == "in_person"

    patient = User.objects.get(email="patient.miami@demo.practice.example")
    start = timezone.localdate() + dt.timedelta(days=1)
    body = (
        api(patient)
        .get(
            "/api/v1/availability/",
            {"appointment_type": "in_person_evaluation", "start": start, "end": start + dt.timedelta(days=7)},
        )
        .json()
    )
    offices = {entry["location"]["name"] for entry in body["results"]}
    assert offices == {"Miami office"}
