"""OPTIONS never answers 500: every route, every role (the schemathesis coverage phase found it)."""

import re
import uuid

import pytest

from tests.conftest import client_for
from tests.security.routes import project_routes

pytestmark = pytest.mark.django_db


def _concrete(pattern: str) -> str:
    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: str(uuid.uuid4()) if m.group(1) == "uuid" else "1", pattern)


def test_options_on_every_route_as_every_role_is_never_a_server_error(patient, physician, staff, admin_user):
    failures = []
    for user in (None, patient, physician, staff, admin_user):
        client = client_for(user)
        client.raise_request_exception = False
        for route in project_routes():
            path = _concrete(route.pattern)
            response = client.options(path)
            if response.status_code >= 500:
                failures.append((getattr(user, "role", "anonymous"), path, response.status_code))
    assert failures == []


def test_options_describes_the_methods_without_introspecting_serializers(api, staff):
    response = api(staff).options("/api/v1/staff/medications/")
    assert response.status_code == 200
    body = response.json()
    assert "GET" in body["methods"] and "actions" not in body
