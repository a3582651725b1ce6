import datetime as dt
from datetime import UTC

import pytest
import time_machine

from accounts.models import AuditEvent
from patients.models import PatientProfile
from patients.selectors import patient_location

pytestmark = pytest.mark.django_db

URL = "/api/v1/patient/profile/"


def full_profile(**overrides):
    body = {
        "legal_first_name": "Alice",
        "legal_last_name": "Anders",
        "date_of_birth": "1985-06-15",
        "phone": "(305) 555-0100",
        "address_line1": "1 Ocean Drive",
        "city": "Miami",
        "state": "FL",
        "zip_code": "33139",
        "emergency_contact_name": "Em",
        "emergency_contact_phone": "305-555-0101",
        "emergency_contact_relationship": "sister",
        "monitor_name": "Mo",
        "monitor_phone": "305 555 0102",
        "monitor_relationship": "husband",
        "monitor_adult_confirmed": True,
    }
    body.update(overrides)
    return body


def test_first_put_creates_the_profile_verified_with_e164_phones(api, patient):
    response = api(patient).put(URL, full_profile(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["phone"] == "+13055550100" and body["monitor_phone"] == "+13055550102"
    assert (body["county_fips"], body["county_name"], body["time_zone"]) == ("12086", "Miami-Dade", "America/New_York")
    assert body["address_verified_at"] and body["missing_items"] == []
    assert AuditEvent.objects.filter(patient=patient, object_type="patients.patientprofile", action="create").exists()


def test_get_returns_own_profile_and_audits_the_read(api, profile):
    response = api(profile.user).get(URL)
    assert response.status_code == 200
    assert response.json()["patient_id"] == str(profile.user.public_id)
    assert AuditEvent.objects.filter(actor=profile.user, action="read", object_id=str(profile.pk)).count() == 1


def test_get_before_creating_is_404(api, patient):
    assert api(patient).get(URL).status_code == 404


def test_patient_cannot_assign_a_physician_or_set_verification(api, profile, other_physician):
    response = api(profile.user).patch(
        URL,
        {
            "assigned_physician": str(other_physician.public_id),
            "assigned_physician_id": str(other_physician.public_id),
            "time_zone": "Asia/Tokyo",
            "address_verified_at": "2001-01-01T00:00:00Z",
            "city": "Miami Beach",
        },
        format="json",
    )
    assert response.status_code == 200
    profile.refresh_from_db()
    assert profile.assigned_physician != other_physician
    assert profile.time_zone == "America/New_York" and profile.address_verified_at.year > 2001
    assert profile.city == "Miami Beach"


def test_moving_to_pensacola_rechecks_the_address_and_sets_central_time(api, profile):
    before = profile.address_verified_at
    with time_machine.travel(dt.datetime(2030, 1, 1, tzinfo=UTC), tick=False):
        from tests.conftest import client_for

        response = client_for(profile.user).patch(
            URL, {"address_line1": "10 Palafox St", "city": "Pensacola", "zip_code": "32501"}, format="json"
        )
    assert response.status_code == 200, response.json()
    profile.refresh_from_db()
    assert (profile.county_id, profile.time_zone) == ("12033", "America/Chicago")
    assert profile.address_verified_at > before
    assert patient_location(patient=profile.user).time_zone == "America/Chicago"


def test_address_outside_the_service_area_is_refused_and_the_old_one_kept(api, profile):
    response = api(profile.user).patch(URL, {"zip_code": "10001", "state": "NY", "city": "New York"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "state_not_served"
    profile.refresh_from_db()
    assert (profile.zip_code, profile.city) == ("33139", "Miami")


def test_state_must_match_the_zip(api, patient):
    response = api(patient).put(URL, full_profile(state="NJ"), format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["state"][0]["code"] == "state_zip_mismatch"
    assert not PatientProfile.objects.exists()


def test_ambiguous_zip_needs_a_county(api, patient):
    response = api(patient).put(URL, full_profile(zip_code="33206"), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "county_required"
    assert response.json()["county_choices"]
    ok = api(patient).put(URL, full_profile(zip_code="33206", county_fips="12086"), format="json")
    assert ok.status_code == 201 and ok.json()["county_fips"] == "12086"


def test_date_of_birth_in_the_future_is_a_400_and_nothing_is_saved(api, patient):
    response = api(patient).put(URL, full_profile(date_of_birth="2999-01-01"), format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["date_of_birth"][0]["code"] == "date_in_future"
    assert not PatientProfile.objects.exists()


@time_machine.travel(dt.datetime(2026, 11, 21, 17, tzinfo=UTC), tick=False)
def test_under_18_cannot_register_but_18_today_can(api, patient):
    young = api(patient).put(URL, full_profile(date_of_birth="2008-11-22"), format="json")
    assert young.json()["fields"]["date_of_birth"][0]["code"] == "under_minimum_age"
    assert api(patient).put(URL, full_profile(date_of_birth="2008-11-21"), format="json").status_code == 201


def test_monitor_must_be_confirmed_adult(api, patient):
    response = api(patient).put(URL, full_profile(monitor_adult_confirmed=False), format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["monitor_adult_confirmed"][0]["code"] == "monitor_adult_not_confirmed"


def test_monitor_cannot_be_the_patient(api, patient):
    response = api(patient).put(URL, full_profile(monitor_phone="(305) 555-0100"), format="json")
    assert response.json()["fields"]["monitor_phone"][0]["code"] == "monitor_is_patient"


def test_invalid_phone_is_a_field_error(api, patient):
    response = api(patient).put(URL, full_profile(phone="12"), format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["phone"][0]["code"] == "invalid"


def test_missing_required_fields_on_create(api, patient):
    response = api(patient).patch(URL, {"city": "Miami"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) >= {"legal_first_name", "date_of_birth", "zip_code"}


def test_put_clears_optional_fields_not_sent(api, profile):
    body = full_profile()
    for key in ("monitor_name", "monitor_phone", "monitor_relationship", "monitor_adult_confirmed"):
        body.pop(key)
    response = api(profile.user).put(URL, body, format="json")
    assert response.status_code == 200
    assert "treatment_monitor" in response.json()["missing_items"]


def test_other_roles_have_no_patient_profile_endpoint(api, physician, staff):
    assert api(physician).get(URL).status_code == 403
    assert api(staff).put(URL, full_profile(), format="json").status_code == 403
