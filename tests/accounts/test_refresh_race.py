"""Refresh rotation under concurrency (PostgreSQL): one winner, and the concurrent presentations
count as reuse, which revokes the whole family, including what the winner was just given."""

import threading

import pytest
from django.db import connection
from django.test import Client
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.services import tokens_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

REFRESH = "/api/v1/auth/token/refresh/"
ME = "/api/v1/auth/me/"
THREADS = 10


def test_parallel_refreshes_of_one_token_have_one_winner_and_revoke_the_family(on_postgres, patient):
    first = tokens_for(patient)
    barrier = threading.Barrier(THREADS)
    answers, errors = [], []

    def refresh():
        try:
            barrier.wait(timeout=10)
            response = Client().post(REFRESH, {"refresh": first["refresh"]}, content_type="application/json")
            answers.append((response.status_code, response.json()))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    winners = [body for status, body in answers if status == 200]
    losers = [body["code"] for status, body in answers if status != 200]
    assert len(winners) == 1
    assert losers == ["token_reused"] * (THREADS - 1)
    # The family is revoked: the winner's new refresh token and its access token (minted within
    # the same second as the revocation) are refused too.
    won = winners[0]
    assert Client().post(REFRESH, {"refresh": won["refresh"]}, content_type="application/json").status_code == 401
    assert Client().get(ME, HTTP_AUTHORIZATION=f"Bearer {won['access']}").status_code == 401
    assert not OutstandingToken.objects.filter(user=patient, blacklistedtoken__isnull=True).exists()
