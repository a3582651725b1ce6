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
