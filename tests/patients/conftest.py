import pytest

from tests.patients.factories import PatientProfileFactory


@pytest.fixture
def profile(patient, physician):
    """The named patient, on `physician`'s caseload."""
    return PatientProfileFactory(user=patient, assigned_physician=physician)


@pytest.fixture
def other_profile(other_patient, other_physician):
    """The other patient, on `other_physician`'s caseload (NJ, Hudson)."""
    return PatientProfileFactory(
        user=other_patient,
        assigned_physician=other_physician,
        state="NJ",
        county_id="34017",
        zip_code="07030",
        city="Hoboken",
        phone="+12015550100",
        emergency_contact_phone="+12015550101",
        monitor_phone="+12015550102",
    )


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (Celery tasks enqueued after commit) inside the test."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
