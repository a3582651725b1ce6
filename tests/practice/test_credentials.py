"""Physicians' credentials: staff manage them (API and admin), physicians read their own; bad input saves nothing."""

import datetime as dt

import pytest

from practice.models import CredentialChange, DEARegistration, PhysicianProfile, StateLicense
from practice.services import credentials
from tests.factories import PhysicianUserFactory
from tests.practice.factories import (
    DEARegistrationFactory,
    NJCDSRegistrationFactory,
    PhysicianProfileFactory,
    StateLicenseFactory,
    valid_dea,
)

pytestmark = pytest.mark.django_db

BASE = "/api/v1/staff/physicians/"


def url(physician, suffix=""):
    return f"{BASE}{physician.public_id}/{suffix}"


def field_code(response, field):
    body = response.json()
    assert body["code"] == "validation_error", body
    return body["fields"][field][0]["code"]


# --- profile -------------------------------------------------------------------------------------


def test_staff_creates_a_profile_and_the_change_is_logged(api, staff, physician):
    response = api(staff).post(
        BASE, {"physician": str(physician.public_id), "npi": "1234567893", "time_zone": "America/Chicago"}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] == str(physician.public_id)
    assert body["profile"]["npi"] == "1234567893" and body["profile"]["time_zone"] == "America/Chicago"
    change = CredentialChange.objects.get(credential_type="physicianprofile")
    assert (change.actor, change.physician, change.action) == (staff, physician, "create")
    assert change.changes["npi"] == [None, "1234567893"]


def test_npi_with_a_wrong_check_digit_is_a_400_and_nothing_is_saved(api, staff, physician):
    response = api(staff).post(BASE, {"physician": str(physician.public_id), "npi": "1234567890"})
    assert response.status_code == 400
    assert field_code(response, "npi") == "invalid_npi"
    assert not PhysicianProfile.objects.exists() and not CredentialChange.objects.exists()


def test_bad_time_zone_is_a_field_error(api, staff, physician):
    response = api(staff).post(BASE, {"physician": str(physician.public_id), "npi": "1234567893", "time_zone": "EST5"})
    assert field_code(response, "time_zone") == "invalid_time_zone"


def test_second_profile_is_a_conflict(api, staff, physician):
    PhysicianProfileFactory(user=physician)
    response = api(staff).post(BASE, {"physician": str(physician.public_id), "npi": "1558598797"})
    assert response.status_code == 409
    assert response.json()["code"] == "physician_profile_exists"


def test_profile_for_a_patient_is_not_found(api, staff, patient):
    response = api(staff).post(BASE, {"physician": str(patient.public_id), "npi": "1558598797"})
    assert response.status_code == 404


def test_service_refuses_a_non_physician(staff, patient):
    from practice.errors import NotAPhysician

    with pytest.raises(NotAPhysician):
        credentials.physician_profile_create(actor=staff, physician=patient, npi="1234567893")


def test_staff_patches_a_profile(api, staff, physician):
    PhysicianProfileFactory(user=physician)
    response = api(staff).patch(url(physician), {"accepting_new_patients": False, "new_patient_cap": 40})
    assert response.status_code == 200
    assert response.json()["profile"]["accepting_new_patients"] is False
    profile = PhysicianProfile.objects.get(user=physician)
    assert (profile.accepting_new_patients, profile.new_patient_cap) == (False, 40)
    change = CredentialChange.objects.get(action="update")
    assert change.changes == {"accepting_new_patients": [True, False], "new_patient_cap": [None, 40]}


def test_patch_profile_with_bad_npi_saves_nothing(api, staff, physician):
    profile = PhysicianProfileFactory(user=physician)
    response = api(staff).patch(url(physician), {"npi": "1558598790", "new_patient_cap": 3})
    assert field_code(response, "npi") == "invalid_npi"
    profile.refresh_from_db()
    assert profile.new_patient_cap is None


def test_patch_profile_before_it_exists_is_not_found(api, staff, physician):
    response = api(staff).patch(url(physician), {"new_patient_cap": 3})
    assert response.status_code == 404
    assert response.json()["code"] == "physician_profile_missing"


def test_staff_lists_physicians_in_constant_queries(api, staff, django_assert_max_num_queries):
    for _ in range(4):
        profile = PhysicianProfileFactory()
        StateLicenseFactory(physician=profile.user)
        DEARegistrationFactory(physician=profile.user)
        NJCDSRegistrationFactory(physician=profile.user)
    client = api(staff)
    with django_assert_max_num_queries(7):
        response = client.get(BASE)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert all(len(p["licences"]) == 1 and len(p["cds_registrations"]) == 1 for p in body["results"])


# --- licences ------------------------------------------------------------------------------------


def licence_payload(**over):
    payload = {"state": "FL", "number": "ME123456", "kind": "full_licence", "issued_on": "2025-01-01"}
    payload["expires_on"] = "2027-01-31"
    payload.update(over)
    return payload


def test_staff_adds_a_licence(api, staff, physician):
    response = api(staff).post(url(physician, "licences/"), licence_payload())
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "active"
    assert StateLicense.objects.get(physician=physician).number == "ME123456"
    listed = api(staff).get(url(physician, "licences/")).json()
    assert [lic["number"] for lic in listed["results"]] == ["ME123456"]


def test_expiry_before_issue_is_a_400_and_nothing_is_saved(api, staff, physician):
    response = api(staff).post(url(physician, "licences/"), licence_payload(expires_on="2024-12-31"))
    assert response.status_code == 400
    assert field_code(response, "expires_on") == "expiry_before_issue"
    assert not StateLicense.objects.exists() and not CredentialChange.objects.exists()


def test_expiry_on_the_issue_day_is_refused(api, staff, physician):
    response = api(staff).post(url(physician, "licences/"), licence_payload(expires_on="2025-01-01"))
    assert field_code(response, "expires_on") == "expiry_before_issue"


def test_telehealth_registration_only_for_florida(api, staff, physician):
    response = api(staff).post(
        url(physician, "licences/"), licence_payload(state="NJ", kind="fl_telehealth_registration")
    )
    assert response.status_code == 400
    assert field_code(response, "kind") == "telehealth_registration_florida_only"
    assert not StateLicense.objects.exists()


def test_state_outside_the_service_area_is_refused(api, staff, physician):
    response = api(staff).post(url(physician, "licences/"), licence_payload(state="NY"))
    assert field_code(response, "state") == "invalid_choice"


def test_database_holds_the_licence_rules(physician):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        StateLicenseFactory(physician=physician, issued_on=dt.date(2026, 1, 1), expires_on=dt.date(2025, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        StateLicenseFactory(physician=physician, state="NJ", kind="fl_telehealth_registration")


def test_staff_patches_a_licence(api, staff, physician):
    licence = StateLicenseFactory(physician=physician)
    response = api(staff).patch(url(physician, f"licences/{licence.public_id}/"), {"status": "suspended"})
    assert response.status_code == 200
    licence.refresh_from_db()
    assert licence.status == "suspended"
    assert CredentialChange.objects.get(action="update").changes == {"status": ["active", "suspended"]}


def test_patching_a_licence_into_bad_dates_saves_nothing(api, staff, physician):
    licence = StateLicenseFactory(physician=physician)
    response = api(staff).patch(url(physician, f"licences/{licence.public_id}/"), {"expires_on": "2024-01-01"})
    assert field_code(response, "expires_on") == "expiry_before_issue"
    licence.refresh_from_db()
    assert licence.expires_on == dt.date(2027, 12, 31)


def test_licence_of_another_physician_is_not_found(api, staff, physician, other_physician):
    licence = StateLicenseFactory(physician=other_physician)
    response = api(staff).patch(url(physician, f"licences/{licence.public_id}/"), {"status": "inactive"})
    assert response.status_code == 404


# --- DEA and CDS -------------------------------------------------------------------------------


def dea_payload(**over):
    payload = {"state": "FL", "number": "AP5836727", "schedules": ["II", "III"], "expires_on": "2027-06-30"}
    payload.update(over)
    return payload


def test_staff_adds_a_dea_registration(api, staff, physician):
    response = api(staff).post(url(physician, "dea-registrations/"), dea_payload(number="ap5836727"))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["number"], body["needs_verification"], body["schedules"]) == ("AP5836727", False, ["II", "III"])


def test_dea_checksum_failure_flags_for_verification_instead_of_rejecting(api, staff, physician):
    response = api(staff).post(url(physician, "dea-registrations/"), dea_payload(number="AP5836728"))
    assert response.status_code == 201
    assert response.json()["needs_verification"] is True
    registration = DEARegistration.objects.get()
    patch = api(staff).patch(
        url(physician, f"dea-registrations/{registration.public_id}/"), {"needs_verification": False}
    )
    assert patch.status_code == 200
    registration.refresh_from_db()
    assert registration.needs_verification is False and registration.verified_by == staff
    assert registration.verified_at is not None


def test_changing_the_dea_number_rechecks_the_checksum(staff, physician):
    registration = DEARegistrationFactory(physician=physician, number=valid_dea(5))
    credentials.dea_registration_update(actor=staff, registration=registration, number="AP5836728")
    assert registration.needs_verification is True
    credentials.dea_registration_update(actor=staff, registration=registration, number="BB1388568")
    assert registration.needs_verification is False


@pytest.mark.parametrize("number", ["A15836727", "AP583672", "APX836727", "12345678"])
def test_bad_dea_format_is_a_400(api, staff, physician, number):
    response = api(staff).post(url(physician, "dea-registrations/"), dea_payload(number=number))
    assert response.status_code == 400
    assert field_code(response, "number") == "invalid_dea_format"
    assert not DEARegistration.objects.exists()


def test_dea_schedules_are_validated(api, staff, physician):
    response = api(staff).post(url(physician, "dea-registrations/"), dea_payload(schedules=["III", "VI"]))
    assert response.status_code == 400
    response = api(staff).post(url(physician, "dea-registrations/"), dea_payload(schedules=[]))
    assert response.status_code == 400
    response = api(staff).post(url(physician, "dea-registrations/"), dea_payload(schedules=["III", "III"]))
    assert field_code(response, "schedules") == "invalid_schedules"
    assert not DEARegistration.objects.exists()


def test_one_active_dea_registration_per_state(api, staff, physician):
    DEARegistrationFactory(physician=physician, state="FL")
    response = api(staff).post(url(physician, "dea-registrations/"), dea_payload())
    assert response.status_code == 400
    assert response.json()["fields"]["non_field_errors"][0]["code"] == "dea_already_active"
    other_state = api(staff).post(url(physician, "dea-registrations/"), dea_payload(state="NJ"))
    assert other_state.status_code == 201


def test_staff_adds_and_patches_a_cds_registration(api, staff, physician):
    response = api(staff).post(url(physician, "cds-registrations/"), {"number": "D5551234", "expires_on": "2027-05-31"})
    assert response.status_code == 201, response.json()
    cds_id = response.json()["id"]
    patched = api(staff).patch(url(physician, f"cds-registrations/{cds_id}/"), {"status": "inactive"})
    assert patched.status_code == 200 and patched.json()["status"] == "inactive"
    bad = api(staff).post(
        url(physician, "cds-registrations/"),
        {"number": "D5551235", "issued_on": "2027-01-01", "expires_on": "2026-05-31"},
    )
    assert field_code(bad, "expires_on") == "expiry_before_issue"


# --- who may see what ------------------------------------------------------------------------


def test_physician_reads_their_own_credentials(api, physician, other_physician):
    PhysicianProfileFactory(user=physician, npi="1558598797")
    StateLicenseFactory(physician=physician, state="NJ")
    StateLicenseFactory(physician=other_physician, state="FL")
    response = api(physician).get("/api/v1/physician/credentials/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(physician.public_id)
    assert body["profile"]["npi"] == "1558598797"
    assert [lic["state"] for lic in body["licences"]] == ["NJ"]


def test_physician_without_profile_reads_null_profile(api, physician):
    assert api(physician).get("/api/v1/physician/credentials/").json()["profile"] is None


@pytest.mark.parametrize("who", ["patient", "physician", "pharmacy_liaison"])
def test_staff_endpoints_refuse_everyone_else(api, request, who, other_physician):
    user = request.getfixturevalue(who)
    client = api(user)
    assert client.get(BASE).status_code == 404
    assert client.get(url(other_physician)).status_code == 404
    assert client.post(url(other_physician, "licences/"), licence_payload()).status_code == 404


def test_the_medical_director_manages_credentials(api, medical_director, other_physician):
    assert api(medical_director).get(BASE).status_code == 200
    assert api(medical_director).get(url(other_physician)).status_code == 200
    assert not StateLicense.objects.exists()


def test_patient_and_staff_cannot_use_the_physician_endpoint(api, patient, staff, anon_client):
    assert api(patient).get("/api/v1/physician/credentials/").status_code == 403
    assert api(staff).get("/api/v1/physician/credentials/").status_code == 403
    assert anon_client.get("/api/v1/physician/credentials/").status_code == 401


def test_unknown_physician_is_not_found(api, staff, patient):
    assert api(staff).get(url(patient)).status_code == 404


# --- admin goes through the services ---------------------------------------------------------------


def test_admin_add_licence_goes_through_the_service(client, admin_user, physician):
    client.force_login(admin_user)
    response = client.post(
        "/admin/practice/statelicense/add/",
        {
            "physician": physician.pk,
            "state": "FL",
            "number": "ME777",
            "kind": "full_licence",
            "status": "active",
            "issued_on": "2025-01-01",
            "expires_on": "2027-01-01",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    licence = StateLicense.objects.get(number="ME777")
    assert CredentialChange.objects.get(credential_id=licence.pk, action="create").actor == admin_user


def test_admin_change_licence_is_logged(client, admin_user, physician):
    licence = StateLicenseFactory(physician=physician)
    client.force_login(admin_user)
    response = client.post(
        f"/admin/practice/statelicense/{licence.pk}/change/",
        {
            "state": "FL",
            "number": licence.number,
            "kind": "full_licence",
            "status": "inactive",
            "issued_on": "2025-01-01",
            "expires_on": "2027-12-31",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    licence.refresh_from_db()
    assert licence.status == "inactive"
    assert CredentialChange.objects.get(action="update").changes == {"status": ["active", "inactive"]}


def test_admin_rejects_expiry_before_issue(client, admin_user, physician):
    client.force_login(admin_user)
    response = client.post(
        "/admin/practice/statelicense/add/",
        {
            "physician": physician.pk,
            "state": "FL",
            "number": "ME778",
            "kind": "full_licence",
            "status": "active",
            "issued_on": "2025-01-01",
            "expires_on": "2024-01-01",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert not StateLicense.objects.exists()


def test_admin_pages_render(client, admin_user):
    profile = PhysicianProfileFactory()
    dea = DEARegistrationFactory(physician=profile.user)
    client.force_login(admin_user)
    for path in [
        "/admin/practice/county/",
        "/admin/practice/physicianprofile/",
        f"/admin/practice/physicianprofile/{profile.pk}/change/",
        "/admin/practice/dearegistration/add/",
        f"/admin/practice/dearegistration/{dea.pk}/change/",
        "/admin/practice/njcdsregistration/",
        "/admin/practice/credentialchange/",
    ]:
        assert client.get(path).status_code == 200, path


def test_physician_factory_helper_users_are_physicians():
    assert PhysicianUserFactory().role == "physician"


def test_a_race_past_validation_is_a_conflict_not_a_500(api, staff, physician, monkeypatch):
    # Two staff add the same state's DEA registration at once: both pass full_clean, the database
    # constraint (one active per physician and state) refuses the second.
    DEARegistrationFactory(physician=physician, state="FL")
    monkeypatch.setattr(DEARegistration, "validate_constraints", lambda self, exclude=None: None)
    response = api(staff).post(url(physician, "dea-registrations/"), dea_payload())
    assert response.status_code == 409
    assert response.json()["code"] == "credential_conflict"
    assert DEARegistration.objects.count() == 1
    assert CredentialChange.objects.count() == 0
