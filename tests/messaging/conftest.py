from __future__ import annotations

import pytest

from tests.patients.factories import PatientProfileFactory


@pytest.fixture(autouse=True)
def _clear_push_outbox():
    from notifications import push

    push.push_outbox.clear()
    yield
    push.push_outbox.clear()


@pytest.fixture
def profile(patient, physician):
    return PatientProfileFactory(user=patient, assigned_physician=physician)


@pytest.fixture
def other_profile(other_patient, other_physician):
    return PatientProfileFactory(user=other_patient, assigned_physician=other_physician, phone="+13055550177")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the block as a committed transaction would: after-commit sends happen at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
