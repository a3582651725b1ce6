"""Histories that grow without bound page by keyset cursor on request (`?cursor=`), and by page
numbers by default as v1 clients expect (api/pagination.py, docs/api-conventions.md#pagination).
The vitals history stands for every list with `cursor_opt_in`."""

from datetime import timedelta

import pytest
from django.utils import timezone

from patients.models import VitalReading

pytestmark = pytest.mark.django_db
MINE = "/api/v1/patient/vitals/"


def care_team_url(user):
    return f"/api/v1/physician/patients/{user.public_id}/vitals/"


@pytest.fixture
def readings(profile, other_profile):
    """Nine readings of the patient, three of them at the same instant (ties), newest first; and
    readings of another patient that must never show."""
    now = timezone.now()
    for i in range(9):
        at = now - timedelta(hours=3 if i in (3, 4, 5) else i)
        VitalReading.objects.create(patient=profile.user, systolic=100 + i, diastolic=70, measured_at=at)
    for _ in range(4):
        VitalReading.objects.create(patient=other_profile.user, systolic=150, diastolic=90, measured_at=now)
    return [str(r.public_id) for r in VitalReading.objects.filter(patient=profile.user).order_by("-measured_at", "-id")]


def _ids(body):
    return [row["reading_id"] for row in body["results"]]


def _walk(client, url, params):
    body = client.get(url, params).json()
    pages = [body]
    while body["next"]:
        assert "cursor=" in body["next"] and "page=" not in body["next"]
        body = client.get(body["next"]).json()
        pages.append(body)
    return pages


def test_without_cursor_the_answer_is_page_numbers_as_before(api, patient, readings):
    body = api(patient).get(MINE, {"page_size": 4}).json()
    assert body["count"] == 9 and _ids(body) == readings[:4]
    assert "page=2" in body["next"] and "cursor" not in body["next"]
    assert _ids(api(patient).get(MINE, {"page_size": 4, "page": 3}).json()) == readings[8:]


def test_cursors_walk_every_row_once_in_the_same_order_ties_included(api, patient, readings):
    pages = _walk(api(patient), MINE, {"page_size": 2, "cursor": ""})
    assert [i for page in pages for i in _ids(page)] == readings
    assert {page["count"] for page in pages} == {9}
    assert pages[0]["previous"] is None


def test_previous_walks_back_to_the_same_rows(api, patient, readings):
    client = api(patient)
    first = client.get(MINE, {"page_size": 4, "cursor": ""}).json()
    second = client.get(first["next"]).json()
    assert _ids(second) == readings[4:8]
    assert _ids(client.get(second["previous"]).json()) == readings[:4]


def test_a_reading_added_while_paging_neither_repeats_nor_hides_a_row(api, patient, readings, profile):
    client = api(patient)
    first = client.get(MINE, {"page_size": 4, "cursor": ""}).json()
    VitalReading.objects.create(patient=profile.user, systolic=99, diastolic=60)  # newest: before page one
    assert _ids(client.get(first["next"]).json()) == readings[4:8]


def test_a_deep_page_costs_what_the_first_costs(api, patient, readings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(patient)
    pages = _walk(client, MINE, {"page_size": 1, "cursor": ""})
    deep_url = pages[-2]["next"]  # the last page, eight pages down
    with CaptureQueriesContext(connection) as first:
        client.get(MINE, {"page_size": 1, "cursor": ""})
    with CaptureQueriesContext(connection) as deep:
        body = client.get(deep_url).json()
    assert _ids(body) == readings[-1:]
    assert len(deep) == len(first)


@pytest.mark.parametrize("cursor", ["garbage", "eyJrIjpbXX0:forged:sig", "x" * 40])
def test_a_tampered_cursor_is_a_400_invalid_cursor(api, patient, readings, cursor):
    response = api(patient).get(MINE, {"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["fields"]["cursor"][0]["code"] == "invalid_cursor"


def test_a_cursor_from_another_list_is_refused(api, patient, physician, profile, readings):
    """The same ordering on another path (the care team's view of these very readings)."""
    theirs = api(physician).get(care_team_url(profile.user), {"page_size": 2, "cursor": ""}).json()["next"]
    token = theirs.split("cursor=")[1].split("&")[0]
    response = api(patient).get(MINE, {"cursor": token, "page_size": 2})
    assert response.status_code == 400
    assert response.json()["fields"]["cursor"][0]["code"] == "invalid_cursor"


def test_a_cursor_does_not_widen_the_scope(api, physician, other_physician, profile, readings):
    """Following a cursor is still the caller's own list: another physician gets 404 for a patient
    off their caseload, cursor or not, and the patient's walk never shows another patient's rows."""
    url = care_team_url(profile.user)
    next_url = api(physician).get(url, {"page_size": 2, "cursor": ""}).json()["next"]
    assert api(other_physician).get(next_url).status_code == 404
    pages = _walk(api(physician), url, {"page_size": 4, "cursor": ""})
    assert [i for page in pages for i in _ids(page)] == readings


def test_the_schema_names_page_and_cursor_and_the_envelope(api, admin_user):
    schema = api(admin_user).get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"][MINE]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"page", "page_size", "cursor"} <= names
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert {"count", "next", "previous", "results"} <= set(body["properties"])
