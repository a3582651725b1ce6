import datetime as dt

import pytest
from rest_framework.test import APIClient

from tests.patients.factories import PatientProfileFactory


@pytest.fixture
def profile(patient, physician):
    """The named patient (Miami, Eastern time), on `physician`'s caseload."""
    return PatientProfileFactory(user=patient, assigned_physician=physician)


@pytest.fixture
def pensacola(patient, physician):
    """The named patient in Pensacola (Central time), on `physician`'s caseload."""
    return PatientProfileFactory(
        user=patient,
        assigned_physician=physician,
        city="Pensacola",
        county_id="12033",
        zip_code="32501",
        time_zone="America/Chicago",
    )


def session_for(user) -> APIClient:
    """Signed in without a JWT, so the clock can travel (a token's times would be off)."""
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def patient_api(patient):
    return session_for(patient)


def entry(headache=True, pain=6, features=(), aura=False, meds=(), hours=None):
    body = {"headache": headache, "aura": aura, "features": list(features)}
    if headache:
        body["peak_pain"] = pain
    if hours is not None:
        body["hours"] = hours
    body["acute_medications"] = [{"class": c, "doses": 1} for c in meds]
    return body


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)
