"""Tokens that must never authenticate: expired, forged, wrong algorithm, unsigned, revoked."""

import base64
import json
import warnings
from datetime import timedelta

import jwt
import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts import services
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
ME = "/api/v1/auth/me/"


def get_me(client, token):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get(ME)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_for(user):
    return dict(AccessToken.for_user(user).payload)


def test_valid_token_is_accepted(anon_client, patient):
    assert get_me(anon_client, str(AccessToken.for_user(patient))).status_code == 200


def test_token_signed_with_another_key_is_refused(anon_client, patient):
    forged = jwt.encode(claims_for(patient), "not-the-signing-key-" + "x" * 40, algorithm="HS256")
    response = get_me(anon_client, forged)
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_token_with_another_algorithm_is_refused_even_with_the_right_key(anon_client, patient):
    with warnings.catch_warnings():  # HS512 would want a longer key; moot for a token we refuse
        warnings.simplefilter("ignore")
        other_alg = jwt.encode(claims_for(patient), settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS512")
    assert get_me(anon_client, other_alg).status_code == 401


def test_unsigned_alg_none_token_is_refused(anon_client, patient):
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims_for(patient))}."
    assert get_me(anon_client, unsigned).status_code == 401


def test_tampered_payload_is_refused(anon_client, patient, staff):
    header, _, signature = str(AccessToken.for_user(patient)).split(".")
    claims = claims_for(patient)
    claims["user_id"] = str(staff.pk)  # try to become staff with patient's signature
    assert get_me(anon_client, f"{header}.{_b64(claims)}.{signature}").status_code == 401


def test_refresh_token_is_not_accepted_as_access_token(anon_client, patient):
    assert get_me(anon_client, str(RefreshToken.for_user(patient))).status_code == 401


def test_expired_token_is_refused(anon_client, patient):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        token = str(AccessToken.for_user(patient))
        traveller.shift(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + timedelta(seconds=1))
        assert get_me(anon_client, token).status_code == 401


def test_access_token_revoked_by_logout(anon_client, patient):
    tokens = anon_client.post("/api/v1/auth/token/", {"email": patient.email, "password": PASSWORD}).json()
    assert get_me(anon_client, tokens["access"]).status_code == 200
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert anon_client.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}).status_code == 204
    assert get_me(anon_client, tokens["access"]).status_code == 401


def test_sign_out_everywhere_refuses_older_access_tokens(anon_client, patient):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        old = str(AccessToken.for_user(patient))
        traveller.shift(timedelta(seconds=5))
        services.tokens_revoke_all(user=patient)
        traveller.shift(timedelta(seconds=1))
        new = str(AccessToken.for_user(patient))
        assert get_me(anon_client, old).status_code == 401
        assert get_me(anon_client, new).status_code == 200


def test_deactivated_user_token_is_refused(anon_client, patient):
    token = str(AccessToken.for_user(patient))
    patient.is_active = False
    patient.save()
    assert get_me(anon_client, token).status_code == 401
