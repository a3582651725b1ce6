"""The OpenAPI schema is the mobile apps' contract: it must validate and show error shapes."""

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_schema_validates(schema):
    validate_schema(schema)  # raises on an invalid OpenAPI 3 document


def test_schema_command_validates_without_warnings(tmp_path, capsys):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))


def test_every_operation_documents_its_error_responses(schema):
    assert schema["paths"], "no operations in the schema"
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert any(code.startswith("2") for code in responses), f"{method} {path}: no success response"
            errors = [code for code in responses if code[0] in "45"]
            assert errors, f"{method} {path}: no error responses documented"
            for code in errors:
                if path.startswith("/fhir/"):  # FHIR answers errors as OperationOutcome (docs/fhir.md)
                    ref = responses[code]["content"]["application/fhir+json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/OperationOutcome", f"{method} {path} {code}"
                    continue
                ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", f"{method} {path} {code}"


def test_protected_operations_document_401(schema):
    me = schema["paths"]["/api/v1/auth/me/"]["get"]
    assert "401" in me["responses"]
    login = schema["paths"]["/api/v1/auth/token/"]["post"]
    assert "429" in login["responses"] and "401" in login["responses"]


def test_docs_page_is_served(anon_client):
    assert anon_client.get("/api/docs/").status_code == 200
    assert anon_client.get("/api/schema/").status_code == 200


# --- the schema as the contract: summaries, descriptions, error codes, the catalogue ----------------
def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_operation_has_a_summary_and_a_description(schema):
    for path, method, operation in _operations(schema):
        assert (operation.get("summary") or "").strip(), f"{method} {path}: no summary"
        assert (operation.get("description") or "").strip(), f"{method} {path}: no description"


def test_writes_are_never_described_as_a_paginated_list(schema):
    for path, method, operation in _operations(schema):
        if method != "get":
            text = f"{operation.get('summary')} {operation.get('description')}".lower()
            assert "paginated list" not in text, f"{method} {path}"


def test_every_operation_lists_the_codes_of_each_error_response(schema):
    for path, method, operation in _operations(schema):
        listed = operation.get("x-error-codes")
        assert listed, f"{method} {path}: no error codes"
        for status, response in operation["responses"].items():
            if status[0] in "45":
                codes = response.get("x-error-codes")
                assert codes, f"{method} {path} {status}: no codes"
                assert all(f"`{code}`" in response["description"] for code in codes), f"{method} {path} {status}"
        statuses = {str(entry["status"]) for entry in listed}
        assert statuses <= set(operation["responses"]), f"{method} {path}: a code's status is not documented"


def test_codes_are_discovered_from_the_domain_errors_deep_in_the_services(schema):
    def codes(path, method, status):
        return set(schema["paths"][path][method]["responses"][status]["x-error-codes"])

    assert {"already_subscribed", "billing_unavailable", "subscribe_in_progress"} <= codes(
        "/api/v1/billing/subscription/", "post", "409"
    )
    assert "payment_provider_error" in codes("/api/v1/billing/subscription/", "post", "502")
    assert {"slot_unavailable", "too_soon"} <= codes("/api/v1/appointments/", "post", "409") | codes(
        "/api/v1/appointments/", "post", "400"
    ) | codes("/api/v1/appointments/", "post", "422")
    assert "signing_refused" in {
        e["code"]
        for e in schema["paths"]["/api/v1/physician/prescriptions/{prescription_id}/sign/"]["post"]["x-error-codes"]
    }


def test_availability_documents_its_page_parameters(schema):
    names = {p["name"] for p in schema["paths"]["/api/v1/availability/"]["get"]["parameters"]}
    assert {"page", "page_size"} <= names


def test_the_webhooks_are_in_the_schema(schema):
    for path in ("/webhooks/stripe/", "/webhooks/easypost/", "/webhooks/erx/"):
        operation = schema["paths"][path]["post"]
        assert operation["security"] == [] and "invalid_signature" in {e["code"] for e in operation["x-error-codes"]}


def test_the_error_catalogue_is_generated_and_current():
    """docs/errors.md is generated by `python manage.py error_catalogue`: regenerate it after adding a code."""
    from api.error_catalogue import CATALOGUE_PATH, render

    text = render()
    assert CATALOGUE_PATH.read_text() == text, "docs/errors.md is stale: run `python manage.py error_catalogue`"
    for code in ("billing_unavailable", "card_declined", "validation_error", "slot_unavailable"):
        assert f"| `{code}` |" in text
