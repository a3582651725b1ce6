"""The schemathesis coverage phase's worst cases, every one, to every route: no 5xx
(docs/api-conventions.md#errors).

tests/security/test_fuzz.py checks the whole contract (status codes, content types, bodies) and so
caps the coverage phase at a few cases per operation. This one checks a single thing, no server
error, but sends every boundary and negative case the coverage phase derives from the schema
(values past the limits, wrong types and formats, missing and unexpected fields, duplicated
parameters, undeclared methods, malformed content types), as the role each operation is for, plus
the page number no database integer can hold on every paginated list.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import CoverageScenario, TestPhase

from config.wsgi import application
from tests.factories import PatientUserFactory, PhysicianUserFactory, StaffUserFactory
from tests.security.test_fuzz import coverage_role

# The positive "ordinary value" scenarios are left to test_fuzz.py: the rest are the worst cases.
ORDINARY = {
    CoverageScenario.EXAMPLE_VALUE,
    CoverageScenario.DEFAULT_VALUE,
    CoverageScenario.ENUM_VALUE,
    CoverageScenario.CONST_VALUE,
    CoverageScenario.VALID_STRING,
    CoverageScenario.VALID_NUMBER,
    CoverageScenario.VALID_BOOLEAN,
    CoverageScenario.VALID_ARRAY,
    CoverageScenario.VALID_OBJECT,
    CoverageScenario.DEFAULT_POSITIVE_TEST,
    CoverageScenario.OBJECT_ONLY_REQUIRED,
    CoverageScenario.OBJECT_REQUIRED_AND_OPTIONAL,
}
FACTORIES = {"patient": PatientUserFactory, "physician": PhysicianUserFactory, "staff": StaffUserFactory}
HUGE_PAGE = "4611686018427387904"
STATS = {"cases": 0}

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _headers(path: str) -> dict[str, str]:
    role = coverage_role(path)
    factory = FACTORIES.get(role)
    if factory is None:
        return {}
    from accounts.models import User

    email = f"worst-{role}@example.test"
    user = User.objects.filter(email=email).first() or factory(email=email)
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


@pytest.mark.fuzz
@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
def test_no_input_gets_a_server_error(case):
    if case.path.startswith("/webhooks/"):
        pytest.skip("webhooks are signature-verified and tested separately")
    if case.meta is None or case.meta.phase.name != TestPhase.COVERAGE:
        return
    if case.meta.phase.data.scenario in ORDINARY:
        return
    STATS["cases"] += 1
    case.call_and_validate(headers=_headers(case.path), checks=[not_a_server_error])


@pytest.mark.django_db
def test_every_paginated_list_refuses_a_page_number_past_any_integer():
    from django.test import Client

    paths = [
        path
        for path, item in schema.raw_schema["paths"].items()
        if "{" not in path and "get" in item and any(p.get("name") == "page" for p in item["get"].get("parameters", []))
    ]
    assert "/api/v1/appointments/" in paths and "/api/v1/physician/caseload/" in paths
    for path in paths:
        client = Client(headers=_headers(path))
        response = client.get(path, {"page": HUGE_PAGE})
        assert response.status_code < 500, path
        assert response["Content-Type"].startswith("application/json"), path
