"""A revocation covers every token minted up to its instant, even within the same second."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from accounts.services import tokens_for, tokens_revoke_all

pytestmark = pytest.mark.django_db

REFRESH = "/api/v1/auth/token/refresh/"
ME = "/api/v1/auth/me/"


def test_tokens_minted_earlier_in_the_second_of_a_revocation_are_refused(anon_client, patient):
    with time_machine.travel(datetime(2026, 11, 30, 12, 0, 0, 100_000, tzinfo=UTC), tick=False) as clock:
        before = tokens_for(patient)
        clock.move_to(datetime(2026, 11, 30, 12, 0, 0, 600_000, tzinfo=UTC))
        tokens_revoke_all(user=patient)
        clock.move_to(datetime(2026, 11, 30, 12, 0, 0, 900_000, tzinfo=UTC))
        after = tokens_for(patient)
        assert anon_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {before['access']}").status_code == 401
        assert anon_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {after['access']}").status_code == 200
        assert anon_client.post(REFRESH, {"refresh": after["refresh"]}).status_code == 200
        # (Presenting a revoked refresh token is reuse, and would revoke `after` too: checked last.)
        assert anon_client.post(REFRESH, {"refresh": before["refresh"]}).status_code == 401


def test_reuse_detection_refuses_access_tokens_of_the_same_second(anon_client, patient):
    with time_machine.travel(datetime(2026, 11, 30, 12, 0, 0, 100_000, tzinfo=UTC), tick=False) as clock:
        first = tokens_for(patient)
        clock.move_to(datetime(2026, 11, 30, 12, 0, 0, 200_000, tzinfo=UTC))
        rotated = anon_client.post(REFRESH, {"refresh": first["refresh"]}).json()
        clock.move_to(datetime(2026, 11, 30, 12, 0, 0, 300_000, tzinfo=UTC))
        assert anon_client.post(REFRESH, {"refresh": first["refresh"]}).json()["code"] == "token_reused"
        assert anon_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {rotated['access']}").status_code == 401
        assert User.objects.get(pk=patient.pk).tokens_valid_after == timezone.now()
