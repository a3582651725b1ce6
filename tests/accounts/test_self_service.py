"""Signed-in self-service: onboarding state on /me/, password change, account deletion request,
and `token_revoked` for a refresh token signed out on purpose (docs/api-conventions.md#onboarding)."""

import pytest
from rest_framework.test import APIClient

from accounts.models import AccountDeletionRequest, AuditEvent, User
from tests.factories import PASSWORD, PatientUserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"
PASSWORD_CHANGE = "/api/v1/auth/password/"
DELETION = "/api/v1/auth/account-deletion/"
NEW_PASSWORD = "Another-Long-Passphrase-42"
WRONG = "Wrong-password-123"


def sign_in(email, password=PASSWORD, ip="203.0.113.1"):
    client = APIClient(REMOTE_ADDR=ip)
    tokens = client.post(LOGIN, {"email": email, "password": password}, format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client, tokens


# --- token_revoked -------------------------------------------------------------------------------
def test_a_refresh_after_logout_is_token_revoked_and_signs_out_nothing_else(patient):
    phone, phone_tokens = sign_in(patient.email)
    laptop, laptop_tokens = sign_in(patient.email)
    assert phone.post(LOGOUT, {"refresh": phone_tokens["refresh"]}, format="json").status_code == 204
    again = APIClient().post(REFRESH, {"refresh": phone_tokens["refresh"]}, format="json")
    assert again.status_code == 401
    assert again.json()["code"] == "token_revoked"
    # Not treated as a copied token: the other session lives on.
    assert APIClient().post(REFRESH, {"refresh": laptop_tokens["refresh"]}, format="json").status_code == 200


def test_a_rotated_token_presented_again_is_still_reuse(patient):
    _, tokens = sign_in(patient.email)
    assert APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 200
    assert APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json").json()["code"] == "token_reused"


# --- onboarding ----------------------------------------------------------------------------------
def test_me_shows_a_new_patients_onboarding_with_the_first_step(patient):
    client, _ = sign_in(patient.email)
    body = client.get(ME).json()
    onboarding = body["onboarding"]
    assert onboarding["next_step"] == "complete_profile"
    assert onboarding["profile_complete"] is False and onboarding["profile_missing"] == ["profile"]
    assert onboarding["consents_complete"] is False and "telehealth" in onboarding["consents_pending"]
    assert onboarding["membership_active"] is False and onboarding["membership_status"] == "none"
    assert onboarding["has_visit"] is False


def test_next_step_walks_the_steps_in_order(patient, monkeypatch):
    from scheduling import onboarding

    monkeypatch.setattr(onboarding, "profile_missing", lambda patient: [])
    client, _ = sign_in(patient.email)
    assert client.get(ME).json()["onboarding"]["next_step"] == "sign_consents"
    monkeypatch.setattr(onboarding, "patient_consents_current", lambda patient: [])
    assert client.get(ME).json()["onboarding"]["next_step"] == "start_membership"

    class Standing:
        ok, status = True, "active"

    monkeypatch.setattr(onboarding, "patient_good_standing", lambda patient: Standing())
    assert client.get(ME).json()["onboarding"]["next_step"] == "book_visit"


def test_staff_and_physicians_have_no_onboarding(physician):
    client, _ = sign_in(physician.email)
    body = client.get(ME).json()
    assert body["onboarding"] is None and body["role"] == "physician"


# --- password change -----------------------------------------------------------------------------
def test_change_password_signs_out_every_other_session_and_keeps_this_one(patient):
    phone, phone_tokens = sign_in(patient.email)
    laptop, laptop_tokens = sign_in(patient.email)
    response = phone.post(PASSWORD_CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")
    assert response.status_code == 200, response.json()
    fresh = response.json()
    # The other session: its access token is refused, its refresh token answers token_revoked.
    assert laptop.get(ME).status_code == 401
    revoked = APIClient().post(REFRESH, {"refresh": laptop_tokens["refresh"]}, format="json")
    assert revoked.json()["code"] == "token_revoked"
    # This device carries on with the fresh pair; the new password signs in, the old one does not.
    phone.credentials(HTTP_AUTHORIZATION=f"Bearer {fresh['access']}")
    assert phone.get(ME).status_code == 200
    assert APIClient().post(REFRESH, {"refresh": fresh["refresh"]}, format="json").status_code == 200
    assert APIClient().post(LOGIN, {"email": patient.email, "password": NEW_PASSWORD}, format="json").status_code == 200
    assert APIClient().post(LOGIN, {"email": patient.email, "password": PASSWORD}, format="json").status_code == 401
    assert AuditEvent.objects.filter(detail="password", actor=patient).count() == 1


def test_change_password_needs_the_current_password(patient):
    client, _ = sign_in(patient.email)
    response = client.post(PASSWORD_CHANGE, {"current_password": WRONG, "new_password": NEW_PASSWORD}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_password"
    assert response.json()["fields"]["current_password"][0]["code"] == "invalid_password"
    patient.refresh_from_db()
    assert patient.check_password(PASSWORD)


def test_change_password_refuses_a_weak_new_password(patient):
    client, _ = sign_in(patient.email)
    response = client.post(PASSWORD_CHANGE, {"current_password": PASSWORD, "new_password": "short"}, format="json")
    assert response.status_code == 400
    assert "new_password" in response.json()["fields"]


def test_guessing_the_current_password_locks_out_like_sign_in(settings):
    patient = PatientUserFactory(email="guesser@example.test")
    client, _ = sign_in(patient.email, ip="198.51.100.9")
    codes = [
        client.post(PASSWORD_CHANGE, {"current_password": WRONG, "new_password": NEW_PASSWORD}, format="json").json()[
            "code"
        ]
        for _ in range(settings.AXES_FAILURE_LIMIT + 1)
    ]
    assert codes[0] == "invalid_password" and codes[-1] == "account_locked"
    locked = client.post(PASSWORD_CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")
    assert locked.status_code == 429


# --- account deletion request --------------------------------------------------------------------
def test_account_deletion_deactivates_revokes_and_keeps_the_records(patient):
    from datetime import timedelta

    from django.utils import timezone

    from tests.scheduling.factories import AppointmentFactory

    visit = AppointmentFactory(patient=patient, starts_at=timezone.now() + timedelta(days=2))
    client, tokens = sign_in(patient.email)
    response = client.post(DELETION, {"password": PASSWORD, "reason": "moving abroad"}, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "deactivated"
    patient.refresh_from_db()
    assert patient.is_active is False
    assert AccountDeletionRequest.objects.filter(user=patient).count() == 1
    # Signed out everywhere, and no way back in.
    assert client.get(ME).status_code == 401
    assert APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json").json()["code"] == "token_revoked"
    assert APIClient().post(LOGIN, {"email": patient.email, "password": PASSWORD}, format="json").status_code == 401
    # Records retention: the clinical record and the account row stay.
    assert type(visit).objects.filter(pk=visit.pk).exists() and User.objects.filter(pk=patient.pk).exists()


def test_account_deletion_needs_the_password(patient):
    client, _ = sign_in(patient.email)
    response = client.post(DELETION, {"password": WRONG}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid_password"
    patient.refresh_from_db()
    assert patient.is_active


def test_only_patients_request_deletion_here(physician):
    client, _ = sign_in(physician.email)
    assert client.post(DELETION, {"password": PASSWORD}, format="json").status_code == 403
