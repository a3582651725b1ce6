"""GET /api/v1/appointment-types/: the kinds of visit, public (docs/api-conventions.md#onboarding)."""

import pytest

from scheduling.models import AppointmentType

pytestmark = pytest.mark.django_db


def test_the_kinds_of_visit_with_duration_modality_and_price(anon_client):
    response = anon_client.get("/api/v1/appointment-types/")
    assert response.status_code == 200
    rows = {row["code"]: row for row in response.json()}
    assert rows["free_consultation"] == {
        "code": "free_consultation",
        "name": "Free consultation",
        "duration_minutes": 20,
        "modality": "audio_video",
        "is_free": True,
        "requires_membership": False,
        "price": "free",
    }
    assert rows["follow_up"]["price"] == "included_in_membership" and rows["follow_up"]["is_free"] is False
    assert rows["in_person_evaluation"]["modality"] == "in_person"
    assert rows["in_person_evaluation"]["duration_minutes"] == 60


def test_an_inactive_type_is_not_offered(anon_client):
    AppointmentType.objects.filter(code="medication_review").update(is_active=False)
    codes = [row["code"] for row in anon_client.get("/api/v1/appointment-types/").json()]
    assert "medication_review" not in codes and "follow_up" in codes
