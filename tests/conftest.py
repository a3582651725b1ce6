"""The named cast and API clients shared by every test module.

patient, other_patient: two patients; physician, other_physician: two physicians; staff, admin.
Apps add their domain fixtures (profiles, licences, ...) in tests/<app>/conftest.py.
"""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import (
    AdminUserFactory,
    PatientUserFactory,
    PhysicianUserFactory,
    StaffUserFactory,
)


@pytest.fixture(autouse=True)
def _clear_outboxes(settings):
    from accounts import notifications

    notifications.sms_outbox.clear()
    yield
    notifications.sms_outbox.clear()


@pytest.fixture
def patient(db):
    return PatientUserFactory(email="patient.a@example.test", first_name="Alice", last_name="Anders")


@pytest.fixture
def other_patient(db):
    return PatientUserFactory(email="patient.b@example.test", first_name="Bruno", last_name="Baker")


@pytest.fixture
def physician(db):
    return PhysicianUserFactory(email="dr.one@example.test", first_name="Maria", last_name="Lopez")


@pytest.fixture
def other_physician(db):
    return PhysicianUserFactory(email="dr.two@example.test", first_name="John", last_name="Kim")


@pytest.fixture
def staff(db):
    return StaffUserFactory(email="staff@example.test")


@pytest.fixture
def admin_user(db):
    return AdminUserFactory(email="admin@example.test")


def client_for(user=None) -> APIClient:
    """An API client signed in as `user` with a real JWT (as the mobile apps are), or anonymous."""
    client = APIClient()
    if user is not None:
        access = RefreshToken.for_user(user).access_token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def anon_client():
    return client_for(None)


@pytest.fixture
def api(db):
    """api(user) -> an APIClient authenticated as that user."""
    return client_for


@pytest.fixture
def on_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (run by .ci/run with DATABASE_URL set)")
