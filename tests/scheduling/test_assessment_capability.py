"""An assessment id alone is no capability: the availability search uses it only with its claim
token or for the patient who claimed it, and answers the same for every other case (no oracle)."""

import hashlib
import uuid
from datetime import date

import pytest
from django.utils import timezone

from patients.models import Assessment

pytestmark = pytest.mark.django_db

URL = "/api/v1/availability/"
TOKEN = "a-claim-token-only-the-app-holds"


@pytest.fixture
def assessment(db):
    return Assessment.objects.create(
        date_of_birth=date(1990, 1, 1),
        zip_code="32501",
        state="FL",
        county_id="12033",
        time_zone="America/Chicago",
        outcome="likely_eligible",
        claim_token_hash=hashlib.sha256(TOKEN.encode()).hexdigest(),
    )


def _search(client, **params):
    today = timezone.localdate()
    return client.get(URL, {"start": today.isoformat(), "end": today.isoformat(), **params})


def test_an_existing_assessment_id_without_its_token_answers_like_a_random_id(anon_client, assessment):
    existing = _search(anon_client, assessment=str(assessment.public_id))
    random = _search(anon_client, assessment=str(uuid.uuid4()))
    wrong_token = _search(anon_client, assessment=str(assessment.public_id), assessment_token="guess")
    assert existing.status_code == random.status_code == wrong_token.status_code == 400
    assert existing.json() == random.json() == wrong_token.json()


def test_the_claim_token_opens_the_search(anon_client, assessment):
    answer = _search(anon_client, assessment=str(assessment.public_id), assessment_token=TOKEN)
    assert answer.status_code == 200 and answer.json()["time_zone"] == "America/Chicago"


def test_the_patient_who_claimed_it_needs_no_token_and_another_patient_gets_nothing(
    api, patient, other_patient, assessment
):
    assessment.patient = patient
    assessment.claimed_at = timezone.now()
    assessment.save(update_fields=["patient", "claimed_at"])
    assert _search(api(patient), assessment=str(assessment.public_id)).status_code == 200
    assert _search(api(other_patient), assessment=str(assessment.public_id)).status_code == 400
