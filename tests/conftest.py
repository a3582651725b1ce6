"""The named cast and API clients shared by every test module.

patient, other_patient: two patients; physician, other_physician: two physicians; staff (a care
coordinator), pharmacy_liaison, medical_director, admin_user.
Apps add their domain fixtures (profiles, licences, ...) in tests/<app>/conftest.py.
"""

from __future__ import annotations

import logging
import re

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from api.jsonlog import JsonFormatter
from tests.factories import (
    AdminUserFactory,
    MedicalDirectorFactory,
    PatientUserFactory,
    PharmacyLiaisonFactory,
    PhysicianUserFactory,
    StaffUserFactory,
)


def pytest_collection_modifyitems(config, items):
    """Every transactional test restores the migrated data (counties, consent documents, default
    policy, content types) with serialized_rollback. Mixing flushing tests with and without it
    makes Django re-create content types under new ids, and the next restoring test then fails
    on a unique constraint; one rule for all of them avoids that."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker and marker.kwargs.get("transaction") and not marker.kwargs.get("serialized_rollback"):
            kwargs = {**marker.kwargs, "serialized_rollback": True}
            item.add_marker(pytest.mark.django_db(*marker.args, **kwargs), append=False)


@pytest.fixture(autouse=True)
def _own_availability_cache(monkeypatch):
    """Each test its own availability-cache namespace: ids are reused across rolled-back tests,
    and a cached entry of an earlier test's physician must not answer for this one's."""
    import uuid

    from scheduling import availability_cache

    monkeypatch.setattr(availability_cache, "NAMESPACE", f"test-{uuid.uuid4().hex}")


@pytest.fixture(autouse=True)
def _own_appointment_types_cache(monkeypatch):
    """Each test its own appointment-types cache namespace: a rolled-back test's rows (and their
    version bumps) must not answer for the next one."""
    import uuid

    from scheduling import appointment_types

    monkeypatch.setattr(appointment_types, "NAMESPACE", f"test-types-{uuid.uuid4().hex}")


@pytest.fixture(autouse=True)
def _celery_joins_allowed():
    """Celery marks "inside a task" with one process-wide flag (celery._state), set and restored
    around each eager task (`denied_join_result`). Two threads running eager tasks at once (the
    race tests) can restore it in the wrong order and leave it set: every later `.get()` in
    that pytest worker then fails with "Never call result.get() within a task!". Each test
    starts outside any task, as a request or a beat tick does."""
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
    yield


@pytest.fixture(autouse=True)
def _fresh_clinical_policy():
    """The clinical policy memo holds rows of this test only (rolled-back rows fire no signal)."""
    from patients import policy

    policy.forget()
    yield
    policy.forget()


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
def pharmacy_liaison(db):
    return PharmacyLiaisonFactory(email="pharmacy@example.test")


@pytest.fixture
def medical_director(db):
    return MedicalDirectorFactory(email="director@example.test")


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


# --- No PHI in logs ------------------------------------------------------------------------
# Every log record of the whole run is scanned for identifiers of the named patients (planted
# canaries); the run fails if any appears, whichever test logged it.
PHI_CANARIES = ("patient.a@example.test", "patient.b@example.test", "Anders", "Alice Anders", "Bruno Baker")
_phi_hits: list[str] = []
_JSON_FORMAT = JsonFormatter()


class _PhiLogScanner(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            # Production's JSON line too (exception type and stack included): docs/deploying.md#logs.
            text += "\n" + _JSON_FORMAT.format(record)
        except Exception:  # a malformed log call is its own bug; do not hide the scan
            text = str(record.msg)
        for canary in PHI_CANARIES:
            if canary in text:
                _phi_hits.append(f"{record.name}:{record.levelname}: {text[:200]}")


@pytest.fixture(autouse=True, scope="session")
def _scan_logs_for_phi(django_db_setup):
    handler = _PhiLogScanner(level=logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    yield
    root.removeHandler(handler)


def pytest_sessionfinish(session, exitstatus):
    if _phi_hits:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", f"PHI found in {len(_phi_hits)} log records", red=True)
            for hit in _phi_hits[:20]:
                reporter.write_line(hit)
        session.exitstatus = 1


_RACE = re.compile(r"::test_[^\[]*(concurren|race|parallel|threads)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    # Mark reports of tests that really ran on PostgreSQL (the on_postgres fixture did not skip).
    outcome.get_result().on_postgres = "on_postgres" in item.fixturenames and connection.vendor == "postgresql"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print the security figures (fuzzing, permission matrix, races) gathered during the run."""
    import sys

    lines = []
    fuzz = sys.modules.get("tests.security.test_fuzz")
    if fuzz is not None and fuzz.FUZZ_STATS["examples"]:
        stats = fuzz.FUZZ_STATS
        lines.append(
            f"schemathesis: {stats['operations']} operation x role pairs, {stats['examples']} examples "
            f"({stats['coverage']} from the coverage phase, {stats['coverage_left_out']} coverage cases left out)"
        )
    matrix = sys.modules.get("tests.security.test_matrix")
    if matrix is not None and matrix.MATRIX_STATS["checks"]:
        stats = matrix.MATRIX_STATS
        lines.append(
            f"permission matrix: {stats['routes']} routes x {stats['roles']} roles x methods = {stats['checks']} checks"
        )
    beat = sys.modules.get("tests.deploy.test_beat_lock")
    if beat is not None and beat.BEAT_STATS["beats"]:
        stats = beat.BEAT_STATS
        lines.append(
            f"beat: {stats['beats']} beats on one Redis, {stats['senders']} sending at a time, "
            f"{stats['sends']} scans sent in {stats['seconds']}s, taken over in {stats['takeover']}s"
        )
    crash = sys.modules.get("tests.security.test_worker_crash")
    if crash is not None and crash.CRASH_STATS["crashes"]:
        stats = crash.CRASH_STATS
        lines.append(
            f"worker crashes: {stats['crashes']} SIGKILLs mid-batch, {stats['messages']} messages, none lost or doubled"
        )
    passed = terminalreporter.stats.get("passed", [])
    races = [r for r in passed if r.when == "call" and getattr(r, "on_postgres", False) and _RACE.search(r.nodeid)]
    if races:
        lines.append(f"races on PostgreSQL: {len(races)} passed")
    if lines:
        terminalreporter.write_sep("=", "security figures")
        for line in lines:
            terminalreporter.write_line(line)
