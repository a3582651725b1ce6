from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.models import AuditEvent, Role, User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
LOGIN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"
RESET = "/api/v1/auth/password-reset/"
RESET_CONFIRM = "/api/v1/auth/password-reset/confirm/"


def login(client, email, password=PASSWORD, **extra):
    return client.post(LOGIN, {"email": email, "password": password}, format="json", **extra)


def test_register_creates_a_patient_who_then_signs_in(anon_client):
    response = anon_client.post(
        REGISTER, {"email": "New.Person@Example.test", "password": "A-long-passphrase-77", "first_name": "N"}
    )
    assert response.status_code == 202, response.json()
    user = User.objects.get(email="new.person@example.test")
    assert user.role == Role.PATIENT
    assert AuditEvent.objects.filter(object_id=str(user.pk), action="create").count() == 1
    assert mail.outbox[-1].to == ["new.person@example.test"]
    signed_in = login(anon_client, "new.person@example.test", "A-long-passphrase-77")
    assert signed_in.status_code == 200 and signed_in.json()["access"]


def test_register_refuses_weak_password_with_field_error_and_saves_nothing(anon_client):
    response = anon_client.post(REGISTER, {"email": "weak@example.test", "password": "password"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert {e["code"] for e in body["fields"]["password"]} >= {"password_too_short", "password_too_common"}
    assert not User.objects.filter(email="weak@example.test").exists()


def test_register_cannot_choose_a_role(anon_client):
    response = anon_client.post(
        REGISTER, {"email": "sneaky@example.test", "password": "A-long-passphrase-77", "role": "admin"}
    )
    assert response.status_code == 202
    assert User.objects.get(email="sneaky@example.test").role == Role.PATIENT


def test_register_answers_the_same_for_a_known_email_and_emails_its_owner(anon_client, patient):
    """No enumeration: a known email gets the answer a new one gets; its owner is told by email."""
    known = anon_client.post(REGISTER, {"email": patient.email.upper(), "password": "A-long-passphrase-77"})
    new = anon_client.post(REGISTER, {"email": "fresh@example.test", "password": "A-long-passphrase-77"})
    assert known.status_code == new.status_code == 202
    assert known.json() == new.json()
    assert User.objects.filter(email__iexact=patient.email).count() == 1
    assert User.objects.get(email__iexact=patient.email).check_password("A-long-passphrase-77") is False
    to_owner = [m for m in mail.outbox if m.to == [patient.email]]
    assert len(to_owner) == 1 and "already has one" in to_owner[0].body
    # The would-be squatter cannot sign in with the password they chose.
    assert login(anon_client, patient.email, "A-long-passphrase-77").status_code == 401


def test_login_returns_tokens_that_authenticate(anon_client, api, patient):
    response = login(anon_client, patient.email)
    assert response.status_code == 200
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    me = anon_client.get(ME)
    assert me.status_code == 200
    assert me.json()["email"] == patient.email


def test_login_wrong_password_and_unknown_email_answer_identically(anon_client, patient):
    wrong = login(anon_client, patient.email, "Wrong-password-123")
    unknown = login(anon_client, "nobody@example.test", "Wrong-password-123")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["code"] == "invalid_credentials"


def test_lockout_after_repeated_failures_is_a_json_error(anon_client, patient, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(anon_client, patient.email, "Wrong-password-123").status_code == 401
    # The failure that reaches the limit already answers "locked".
    assert login(anon_client, patient.email, "Wrong-password-123").json()["code"] == "account_locked"
    locked = login(anon_client, patient.email)  # even the right password is refused now
    assert locked.status_code == 429
    assert locked["Content-Type"] == "application/json"
    assert locked.json()["code"] == "account_locked"


def test_lockout_of_unknown_email_looks_the_same(anon_client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(anon_client, "ghost@example.test", "Wrong-password-123")
    assert login(anon_client, "ghost@example.test", "Wrong-password-123").json()["code"] == "account_locked"


def test_refresh_rotates_and_a_reused_refresh_token_is_refused(anon_client, patient):
    first = login(anon_client, patient.email).json()
    rotated = anon_client.post(REFRESH, {"refresh": first["refresh"]})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh"] != first["refresh"]

    reused = anon_client.post(REFRESH, {"refresh": first["refresh"]})
    assert reused.status_code == 401
    assert reused.json()["code"] == "token_reused"
    # Reuse detection revokes the whole family: the legitimate newer token dies too.
    assert anon_client.post(REFRESH, {"refresh": second["refresh"]}).status_code == 401


def test_logout_revokes_the_refresh_token(anon_client, patient):
    tokens = login(anon_client, patient.email).json()
    assert anon_client.post(LOGOUT, {"refresh": tokens["refresh"]}).status_code == 204
    assert anon_client.post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401
    assert anon_client.post(LOGOUT, {"refresh": tokens["refresh"]}).status_code == 204  # idempotent


def test_garbage_refresh_token_is_401_with_code(anon_client):
    response = anon_client.post(REFRESH, {"refresh": "not-a-token"})
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_access_token_expires_after_about_15_minutes(anon_client, patient):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        access = login(anon_client, patient.email).json()["access"]
        anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        assert anon_client.get(ME).status_code == 200
        traveller.shift(timedelta(minutes=14))
        assert anon_client.get(ME).status_code == 200
        traveller.shift(timedelta(minutes=2))
        expired = anon_client.get(ME)
    assert expired.status_code == 401
    assert expired.json()["code"] == "token_not_valid"


def test_protected_endpoint_without_token_is_401_envelope(anon_client):
    response = anon_client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_password_reset_answers_the_same_for_known_and_unknown_emails(anon_client, patient):
    known = anon_client.post(RESET, {"email": patient.email})
    unknown = anon_client.post(RESET, {"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [patient.email]


def test_password_reset_confirm_sets_password_and_signs_out_everywhere(anon_client, patient):
    old = login(anon_client, patient.email).json()
    anon_client.post(RESET, {"email": patient.email})
    code = next(line.strip() for line in mail.outbox[0].body.splitlines() if "." in line and " " not in line.strip())
    response = anon_client.post(RESET_CONFIRM, {"code": code, "new_password": "Another-long-pass-42"})
    assert response.status_code == 204
    assert login(anon_client, patient.email, "Another-long-pass-42").status_code == 200
    assert anon_client.post(REFRESH, {"refresh": old["refresh"]}).status_code == 401
    # A code works once: the password changed, so the token no longer matches.
    again = anon_client.post(RESET_CONFIRM, {"code": code, "new_password": "Yet-another-pass-43"})
    assert again.json()["code"] == "invalid_reset_token"


def test_password_reset_confirm_with_bad_code(anon_client):
    response = anon_client.post(RESET_CONFIRM, {"code": "abc.def", "new_password": "Another-long-pass-42"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_reset_token"
