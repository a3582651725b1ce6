"""API fuzzing with schemathesis against our own OpenAPI schema, in-process (WSGI), as each role.

Checks: no 5xx, every status code is documented, content types and bodies match the schema.
Every phase runs (schemathesis.toml): the schema's examples, coverage (boundary values, missing
and unexpected fields, undeclared methods such as OPTIONS, wrong content types) and fuzzing.

Time budget (docs/security.md#fuzzing): fuzzing runs SCHEMATHESIS_MAX_EXAMPLES (default 10) per
operation and role. The coverage phase is deterministic and large (~44 cases per operation and
role, 22,000 in all: 20 minutes on the CI machine), so it runs once per operation, as the role the
operation is for (its path: /patient/ -> patient, /physician/ -> physician, /staff/ -> staff,
/auth/ -> anonymous, else patient), with every request-shape probe (undeclared methods, content
types) and at most SCHEMATHESIS_COVERAGE_MAX_EXAMPLES (default 12) of its other scenarios.
The figures (operations x roles, examples per phase) are printed at the end of the run.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import REQUEST_SHAPE_PROBES, TestPhase
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.factories import (
    AdminUserFactory,
    MedicalDirectorFactory,
    PatientUserFactory,
    PharmacyLiaisonFactory,
    PhysicianUserFactory,
    StaffUserFactory,
)

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))
COVERAGE_MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_COVERAGE_MAX_EXAMPLES", "12"))
ROLES = {
    "anonymous": None,
    "patient": PatientUserFactory,
    "physician": PhysicianUserFactory,
    "care_coordinator": StaffUserFactory,
    "pharmacy_liaison": PharmacyLiaisonFactory,
    "medical_director": MedicalDirectorFactory,
    "admin": AdminUserFactory,
}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ_STATS: dict[str, int] = {"examples": 0, "operations": 0, "coverage": 0, "coverage_left_out": 0}
_seen_operations: set[str] = set()
_coverage_counts: dict[str, int] = {}


def coverage_role(path: str) -> str:
    """The role an operation is for, read from its path: the coverage phase runs as that role."""
    for prefix, role in (
        ("/api/v1/physician/", "physician"),
        ("/api/v1/staff/", "staff"),
        ("/api/v1/auth/", "anonymous"),
    ):
        if path.startswith(prefix):
            return role
    return "patient"


def _run_coverage_case(case, role: str) -> bool:
    if role != coverage_role(case.path):
        return False
    if case.meta.phase.data.scenario in REQUEST_SHAPE_PROBES:
        return True
    key = case.operation.label
    _coverage_counts[key] = _coverage_counts.get(key, 0) + 1
    return _coverage_counts[key] <= COVERAGE_MAX_EXAMPLES


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture(params=list(ROLES), scope="module")
def role(request):
    return request.param


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Schemathesis calls the WSGI app directly, which fires request_started/finished and so
    Django's close_old_connections: on PostgreSQL that closes the test's own connection (and its
    transaction). Django's test client disconnects the handler for the same reason."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def auth_headers(role, db):
    factory = ROLES[role]
    if factory is None:
        return {}
    user = factory(email=f"fuzz-{role}@example.test")
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


@pytest.mark.fuzz
@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_api_conforms_to_its_schema(case, role, auth_headers):
    # Webhooks verify a vendor signature and are tested on their own; fuzzing them here would
    # only measure our signature refusal.
    if case.path.startswith("/webhooks/"):
        pytest.skip("webhooks are signature-verified and tested separately")
    key = f"{role} {case.operation.label}"
    if key not in _seen_operations:
        _seen_operations.add(key)
        FUZZ_STATS["operations"] += 1
    if case.meta is not None and case.meta.phase.name == TestPhase.COVERAGE:
        if not _run_coverage_case(case, role):
            FUZZ_STATS["coverage_left_out"] += 1
            return
        FUZZ_STATS["coverage"] += 1
    FUZZ_STATS["examples"] += 1
    case.call_and_validate(headers=auth_headers, checks=CHECKS)
