"""No 5xx for any input, and every error in the envelope (docs/api-conventions.md#errors)."""

import json

import pytest

pytestmark = pytest.mark.django_db

HUGE = "4611686018427387904"


@pytest.mark.parametrize("path", ["/api/v1/appointments/", "/api/v1/physician/caseload/"])
def test_a_page_number_past_any_database_integer_is_a_400_not_a_500(api, patient, physician, path):
    user = physician if "physician" in path else patient
    response = api(user).get(f"{path}?page={HUGE}")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["fields"]["page"][0]["code"] == "invalid_page"


def test_a_huge_page_size_is_capped_not_an_error(api, patient):
    response = api(patient).get(f"/api/v1/appointments/?page_size={HUGE}")
    assert response.status_code == 200


def test_a_post_without_the_trailing_slash_reaches_the_route(anon_client):
    response = anon_client.post("/api/v1/auth/token", {"email": "nobody@example.test", "password": "x"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_a_get_without_the_trailing_slash_reaches_the_route(api, patient):
    response = api(patient).get("/api/v1/auth/me")
    assert response.status_code == 200
    assert response.json()["email"] == patient.email


def test_an_unknown_path_without_a_slash_is_still_a_json_404(api, patient):
    response = api(patient).post("/api/v1/no-such-thing", {}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_oversized_body_is_413_payload_too_large(anon_client, settings):
    body = json.dumps({"email": "a@example.test", "password": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    response = anon_client.generic("POST", "/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"code": "payload_too_large", "message": "The request body is too large.", "fields": {}}


def test_an_oversized_body_read_by_a_view_is_413_too(anon_client, settings):
    """Without a Content-Length (chunked), the limit trips when the body is read."""
    from django.core.exceptions import RequestDataTooBig

    from api.exceptions import bad_request_view, exception_handler

    assert exception_handler(RequestDataTooBig("too big"), {}).status_code == 413
    assert bad_request_view(anon_client.get("/").wsgi_request, RequestDataTooBig("x")).status_code == 413


def test_unknown_api_urls_and_wrong_methods_answer_the_envelope(api, patient, anon_client):
    assert api(patient).get("/api/v2/anything/").json()["code"] == "not_found"
    assert anon_client.get("/api/nothing").json()["code"] == "not_found"
    response = anon_client.get("/api/v1/auth/token/")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


def test_a_500_in_an_api_view_answers_the_envelope(settings):
    from django.test import Client

    from api.exceptions import server_error_view

    response = server_error_view(Client().get("/healthz").wsgi_request)
    assert response.status_code == 500
    assert json.loads(response.content)["code"] == "server_error"


def test_field_errors_have_one_shape_at_every_depth():
    from rest_framework.exceptions import ErrorDetail

    from api.exceptions import _field_errors

    detail = {
        "readings": [{}, {"diastolic": [ErrorDetail("too high", code="too_high")]}],
        "address": {"zip": [ErrorDetail("bad", code="invalid")]},
        "items": [ErrorDetail("empty", code="empty")],
        "non_field_errors": [ErrorDetail("no", code="no")],
    }
    assert _field_errors(detail) == {
        "readings.1.diastolic": [{"code": "too_high", "message": "too high"}],
        "address.zip": [{"code": "invalid", "message": "bad"}],
        "items": [{"code": "empty", "message": "empty"}],
        "non_field_errors": [{"code": "no", "message": "no"}],
    }


def test_docs_page_references_no_external_host(anon_client):
    response = anon_client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "http://" not in html.replace("http://testserver", "") and "https://" not in html
    assert "//cdn" not in html and "unpkg" not in html and "jsdelivr" not in html


def test_docs_page_assets_are_served_locally(anon_client, settings):
    """Each asset the page names is one of our static files, served by whitenoise (from the
    finders here; from STATIC_ROOT after collectstatic in the image)."""
    import re

    from django.test import Client

    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    html = anon_client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), html
    client = Client()  # a new handler: whitenoise reads its settings when it starts
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
