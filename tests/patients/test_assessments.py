"""The free eligibility assessment: hard stops, review flags, a clean case, location and age edges."""

import datetime as dt
from datetime import UTC

import pytest
import time_machine

from patients.models import Assessment, SafetyFlag
from patients.selectors import unresolved_contraindications

pytestmark = pytest.mark.django_db

URL = "/api/v1/assessments/"
NOON_UTC = dt.datetime(2026, 11, 21, 17, 0, tzinfo=UTC)


def answers(**overrides):
    body = {
        "zip_code": "33139",
        "date_of_birth": "1985-06-15",
        "conditions": ["depression"],
        "treatments_tried": ["antidepressants", "psychotherapy"],
        "contraindications": [],
        "medications": [],
    }
    body.update(overrides)
    return body


def assess(client, **overrides):
    return client.post(URL, answers(**overrides), format="json")


def codes(response):
    return [r["code"] for r in response.json()["reasons"]]


def test_clean_case_is_likely_eligible_and_kept_without_contact(anon_client):
    response = assess(anon_client, contact_email="x@example.test")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["outcome"], body["reasons"]) == ("likely_eligible", [])
    assert body["message"] and body["claim_token"]
    assessment = Assessment.objects.get(public_id=body["assessment_id"])
    assert assessment.answers["conditions"] == ["depression"]
    assert assessment.contact_email == ""  # no consent to contact: not kept
    assert assessment.claim_token_hash != body["claim_token"]


def test_contact_details_are_kept_only_with_consent(anon_client):
    response = assess(
        anon_client, consent_to_contact=True, contact_email="lead@example.test", contact_phone="(305) 555-0199"
    )
    assessment = Assessment.objects.get(public_id=response.json()["assessment_id"])
    assert (assessment.contact_email, assessment.contact_phone) == ("lead@example.test", "+13055550199")


def test_consent_to_contact_without_a_way_to_contact_is_a_field_error(anon_client):
    response = assess(anon_client, consent_to_contact=True)
    assert response.status_code == 400
    assert response.json()["fields"]["contact_email"][0]["code"] == "contact_required"


@time_machine.travel(NOON_UTC, tick=False)
def test_under_18_is_not_eligible(anon_client):
    response = assess(anon_client, date_of_birth="2008-11-22")  # 18 tomorrow
    assert response.json()["outcome"] == "not_eligible"
    assert codes(response) == ["under_18"]


@time_machine.travel(NOON_UTC, tick=False)
def test_turning_18_today_is_eligible(anon_client):
    response = assess(anon_client, date_of_birth="2008-11-21")
    assert response.json()["outcome"] == "likely_eligible"


@time_machine.travel(dt.datetime(2026, 11, 22, 3, 0, tzinfo=UTC), tick=False)
def test_age_counts_on_the_applicants_local_date_central_time(anon_client):
    # 03:00 UTC on the 22nd is still the evening of the 21st in Pensacola (Central time).
    pensacola = assess(anon_client, zip_code="32501", date_of_birth="2008-11-22")
    miami = assess(anon_client, zip_code="33139", date_of_birth="2008-11-22")
    assert pensacola.json()["outcome"] == "not_eligible"
    assert miami.json()["outcome"] == "not_eligible"  # 22:00 in Miami, still the 21st too
    with time_machine.travel(dt.datetime(2026, 11, 22, 5, 30, tzinfo=UTC), tick=False):
        # 00:30 in Miami (the 22nd), 23:30 in Pensacola (still the 21st).
        assert assess(anon_client, zip_code="33139", date_of_birth="2008-11-22").json()["outcome"] == "likely_eligible"
        assert assess(anon_client, zip_code="32501", date_of_birth="2008-11-22").json()["outcome"] == "not_eligible"


@pytest.mark.parametrize(("today", "outcome"), [("2026-02-28", "not_eligible"), ("2026-03-01", "likely_eligible")])
def test_leap_day_birthday_turns_18_on_1_march_in_a_common_year(anon_client, today, outcome):
    with time_machine.travel(dt.datetime.fromisoformat(today + "T17:00:00+00:00"), tick=False):
        response = assess(anon_client, date_of_birth="2008-02-29")
    assert response.json()["outcome"] == outcome


def test_leap_day_birthday_in_a_leap_year_is_reached_on_29_february(anon_client):
    with time_machine.travel(dt.datetime(2024, 2, 29, 17, tzinfo=UTC), tick=False):
        assert assess(anon_client, date_of_birth="2006-02-28").json()["outcome"] == "likely_eligible"
        assert assess(anon_client, date_of_birth="2004-02-29").json()["outcome"] == "likely_eligible"  # turns 20


def test_pregnancy_or_nursing_is_a_hard_stop(anon_client):
    response = assess(anon_client, contraindications=["pregnant_or_nursing", "heart_disease"])
    assert response.json()["outcome"] == "not_eligible"
    assert codes(response) == ["pregnant_or_nursing"]


def test_outside_florida_and_new_jersey_is_not_eligible_and_the_lead_is_kept(anon_client):
    response = assess(anon_client, zip_code="10001", consent_to_contact=True, contact_email="ny@example.test")
    assert response.status_code == 201
    assert codes(response) == ["state_not_served"]
    assert response.json()["location"]["state"] == "NY"
    assert Assessment.objects.get(public_id=response.json()["assessment_id"]).contact_email == "ny@example.test"


def test_every_hard_stop_is_listed(anon_client):
    response = assess(
        anon_client, zip_code="10001", date_of_birth="2015-01-01", contraindications=["pregnant_or_nursing"]
    )
    assert codes(response) == ["under_18", "pregnant_or_nursing", "state_not_served"]


@pytest.mark.parametrize(
    "item",
    [
        "psychotic_disorder_or_mania",
        "substance_dependence",
        "uncontrolled_hypertension",
        "heart_disease",
        "aneurysm_or_brain_bleed",
        "uncontrolled_hyperthyroidism",
        "seizures",
        "severe_lung_disease",
        "liver_disease",
        "bladder_disease",
        "ketamine_hypersensitivity",
    ],
)
def test_each_contraindication_needs_review(anon_client, item):
    response = assess(anon_client, contraindications=[item])
    assert response.json()["outcome"] == "needs_review"
    assert codes(response) == [item]


@pytest.mark.parametrize("medication", ["opioids", "benzodiazepines", "maois", "stimulants", "lamotrigine"])
def test_each_medication_needs_review(anon_client, medication):
    response = assess(anon_client, medications=[medication])
    assert response.json()["outcome"] == "needs_review"
    assert codes(response) == [f"medication_{medication}"]


def test_phq9_item9_in_the_assessment_needs_review_and_shows_crisis_resources(anon_client):
    response = assess(anon_client, phq9=[1, 1, 1, 1, 1, 1, 1, 1, 2], gad7=[2] * 7)
    body = response.json()
    assert body["outcome"] == "needs_review" and codes(response) == ["phq9_item9"]
    assert body["phq9"] == {"total": 10, "band": "moderate"} and body["gad7"] == {"total": 14, "band": "moderate"}
    assert "988" in body["crisis_resources"]["message"]


def test_optional_questionnaire_with_a_missing_answer_is_a_400_and_nothing_is_kept(anon_client):
    response = assess(anon_client, phq9=[1] * 8)
    assert response.status_code == 400
    assert response.json()["fields"]["phq9"][0]["code"] == "wrong_item_count"
    assert not Assessment.objects.exists()


def test_central_time_zip_is_placed_in_escambia_on_chicago_time(anon_client):
    response = assess(anon_client, zip_code="32501")
    location = response.json()["location"]
    assert (location["state"], location["county_fips"], location["time_zone"]) == ("FL", "12033", "America/Chicago")


def test_new_jersey_zip_with_a_leading_zero(anon_client):
    location = assess(anon_client, zip_code="07030-1234").json()["location"]
    assert (location["zip_code"], location["county_fips"]) == ("07030", "34017")


def test_ambiguous_zip_asks_for_the_county_with_choices(anon_client):
    response = assess(anon_client, zip_code="33206")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "county_required"
    assert {"fips": "12086", "name": "Miami-Dade"} in body["county_choices"]
    assert not Assessment.objects.exists()
    picked = assess(anon_client, zip_code="33206", county_fips="12086")
    assert picked.json()["location"]["county_fips"] == "12086"


def test_a_county_of_the_other_state_is_refused(anon_client):
    response = assess(anon_client, zip_code="33206", county_fips="34039")
    assert response.status_code == 400
    assert response.json()["fields"]["county_fips"][0]["code"] == "county_not_in_state"


@pytest.mark.parametrize(("zip_code", "code"), [("123", "invalid_zip"), ("99999", "unknown_zip")])
def test_bad_zip_is_a_field_error(anon_client, zip_code, code):
    response = assess(anon_client, zip_code=zip_code)
    assert response.status_code == 400
    assert response.json()["fields"]["zip_code"][0]["code"] == code


def test_date_of_birth_in_the_future_is_a_400(anon_client):
    response = assess(anon_client, date_of_birth="2999-01-01")
    assert response.status_code == 400
    assert response.json()["fields"]["date_of_birth"][0]["code"] == "date_in_future"


def test_unknown_condition_and_missing_screen_are_field_errors(anon_client):
    body = answers(conditions=["vampirism"])
    del body["contraindications"]
    response = anon_client.post(URL, body, format="json")
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert fields["contraindications"][0]["code"] == "required"
    assert "conditions.0" in fields  # the first item of the list (docs/api-conventions.md#errors)


def test_the_assessment_is_throttled_as_a_public_form(anon_client, settings):
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"public_form": "2/min"}}
    from rest_framework.throttling import ScopedRateThrottle

    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = {"public_form": "2/min"}
    try:
        statuses = [assess(anon_client).status_code for _ in range(3)]
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original
        cache.clear()
    assert statuses == [201, 201, 429]


def test_claiming_an_assessment_in_the_profile_prefills_and_opens_a_screening_flag(api, patient, anon_client):
    created = assess(
        anon_client,
        zip_code="32501",
        date_of_birth="1990-03-04",
        contraindications=["heart_disease"],
        medications=["benzodiazepines"],
    ).json()
    response = api(patient).put(
        "/api/v1/patient/profile/",
        {
            "legal_first_name": "Alice",
            "legal_last_name": "Anders",
            "address_line1": "10 Palafox St",
            "city": "Pensacola",
            "state": "FL",
            "assessment_id": created["assessment_id"],
            "assessment_token": created["claim_token"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["date_of_birth"], body["zip_code"], body["county_fips"]) == ("1990-03-04", "32501", "12033")
    assert body["time_zone"] == "America/Chicago"
    assert Assessment.objects.get().patient == patient
    flag = SafetyFlag.objects.get()
    assert (flag.kind, flag.source_assessment_id) == ("screening_review", Assessment.objects.get().pk)
    assert unresolved_contraindications(patient=patient) == ["heart_disease", "medication_benzodiazepines"]


def test_a_claim_with_the_wrong_token_or_by_someone_else_is_not_found(api, patient, other_patient, anon_client):
    created = assess(anon_client).json()
    profile = {
        "legal_first_name": "A",
        "legal_last_name": "B",
        "address_line1": "1 Ocean Drive",
        "city": "Miami",
        "state": "FL",
        "zip_code": "33139",
        "date_of_birth": "1985-06-15",
    }
    wrong = api(patient).put(
        "/api/v1/patient/profile/",
        {**profile, "assessment_id": created["assessment_id"], "assessment_token": "nope"},
        format="json",
    )
    assert wrong.status_code == 404 and wrong.json()["code"] == "assessment_not_found"
    ok = {**profile, "assessment_id": created["assessment_id"], "assessment_token": created["claim_token"]}
    assert api(patient).put("/api/v1/patient/profile/", ok, format="json").status_code == 201
    stolen = api(other_patient).put("/api/v1/patient/profile/", ok, format="json")
    assert stolen.status_code == 404
