"""Sign-in lockout by account, by address and by the pair (accounts/lockout.py), each answered
`429 account_locked`, with failures from several client addresses (REMOTE_ADDR per request)."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core import mail
from django.utils import timezone

from tests.factories import PASSWORD, PatientUserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/token/"
WRONG = "Wrong-password-123"


def login(client, email, password=PASSWORD, ip="203.0.113.1", **extra):
    return client.post(LOGIN, {"email": email, "password": password}, format="json", REMOTE_ADDR=ip, **extra)


def test_twelve_failures_from_twelve_addresses_lock_the_account(anon_client, patient, settings):
    """The attack of this round: one wrong password from each of twelve addresses, then the right one."""
    for i in range(12):
        answer = login(anon_client, patient.email, WRONG, ip=f"198.51.100.{i + 1}")
        assert answer.status_code in (401, 429)
    locked = login(anon_client, patient.email, ip="192.0.2.77")
    assert locked.status_code == 429
    assert locked.json()["code"] == "account_locked"
    # The failures were recorded against the account (they were not, before: username was empty);
    # those made while it was locked were not counted.
    assert AccessAttempt.objects.filter(username=patient.email).count() == settings.LOCKOUT_ACCOUNT_FAILURES


def test_the_account_rule_locks_at_its_own_limit(anon_client, patient, settings):
    for i in range(settings.LOCKOUT_ACCOUNT_FAILURES - 1):
        assert login(anon_client, patient.email, WRONG, ip=f"198.51.100.{i + 1}").status_code == 401
    assert login(anon_client, patient.email, ip="192.0.2.77").status_code == 200
    # A success clears the account's failures; start again and reach the limit exactly.
    for i in range(settings.LOCKOUT_ACCOUNT_FAILURES):
        login(anon_client, patient.email, WRONG, ip=f"198.51.100.{i + 1}")
    assert login(anon_client, patient.email, ip="192.0.2.77").json()["code"] == "account_locked"


def test_one_address_guessing_one_account_is_locked_and_the_owner_elsewhere_is_not(anon_client, patient, settings):
    attacker = "198.51.100.66"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(anon_client, patient.email, WRONG, ip=attacker)
    assert login(anon_client, patient.email, ip=attacker).json()["code"] == "account_locked"
    # The pair rule stops the guesser without locking the owner out from their own address.
    assert login(anon_client, patient.email, ip="192.0.2.10").status_code == 200


def test_one_address_across_many_accounts_is_locked(anon_client, patient, settings):
    stuffer = "198.51.100.99"
    for i in range(settings.LOCKOUT_IP_FAILURES):
        login(anon_client, f"victim{i}@example.test", WRONG, ip=stuffer)
    blocked = login(anon_client, patient.email, ip=stuffer)
    assert blocked.status_code == 429 and blocked.json()["code"] == "account_locked"
    assert login(anon_client, patient.email, ip="192.0.2.10").status_code == 200


def test_signing_in_to_ones_own_account_does_not_reset_the_address_count(anon_client, settings):
    """axes's default reset on success would clear the address's count too: an attacker holding one
    valid account could then stuff credentials forever by signing in between guesses."""
    own = PatientUserFactory(email="attacker@example.test")
    stuffer = "198.51.100.98"
    for i in range(settings.LOCKOUT_IP_FAILURES - 1):
        login(anon_client, f"victim{i}@example.test", WRONG, ip=stuffer)
    assert login(anon_client, own.email, ip=stuffer).status_code == 200
    login(anon_client, "one-more@example.test", WRONG, ip=stuffer)
    assert login(anon_client, own.email, ip=stuffer).status_code == 429


def test_rotating_x_forwarded_for_does_not_dodge_the_lockout(anon_client, patient, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for i in range(settings.AXES_FAILURE_LIMIT):
        login(anon_client, patient.email, WRONG, ip="198.51.100.7", HTTP_X_FORWARDED_FOR=f"10.9.{i}.1")
    answer = login(anon_client, patient.email, ip="198.51.100.7", HTTP_X_FORWARDED_FOR="10.9.200.1")
    assert answer.status_code == 429


def test_a_lock_ends_one_cooloff_after_the_failure_that_set_it_however_long_the_attack(anon_client, patient, settings):
    """Failures while locked are not counted: an attacker cannot stretch a victim's lock."""
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for i in range(settings.LOCKOUT_ACCOUNT_FAILURES):
            login(anon_client, patient.email, WRONG, ip=f"198.51.100.{i + 1}")
        locked_at = timezone.now()
        for minute in range(1, 15):  # the attacker keeps trying every minute from new addresses
            clock.move_to(locked_at + timedelta(minutes=minute))
            assert login(anon_client, patient.email, WRONG, ip=f"203.0.113.{minute}").status_code == 429
        clock.move_to(locked_at + settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
        assert login(anon_client, patient.email, ip="192.0.2.10").status_code == 429
        clock.move_to(locked_at + settings.AXES_COOLOFF_TIME + timedelta(seconds=1))
        assert login(anon_client, patient.email, ip="192.0.2.10").status_code == 200


def test_a_password_reset_ends_an_account_lock_at_once(anon_client, patient, settings):
    for i in range(settings.LOCKOUT_ACCOUNT_FAILURES):
        login(anon_client, patient.email, WRONG, ip=f"198.51.100.{i + 1}")
    assert login(anon_client, patient.email, ip="192.0.2.10").status_code == 429
    anon_client.post("/api/v1/auth/password-reset/", {"email": patient.email}, REMOTE_ADDR="192.0.2.10")
    code = next(line.strip() for line in mail.outbox[-1].body.splitlines() if "." in line and " " not in line.strip())
    confirmed = anon_client.post(
        "/api/v1/auth/password-reset/confirm/", {"code": code, "new_password": "Another-long-pass-42"}
    )
    assert confirmed.status_code == 204
    assert login(anon_client, patient.email, "Another-long-pass-42", ip="192.0.2.10").status_code == 200


def test_lockout_logs_name_no_email(anon_client, patient, settings, caplog):
    with caplog.at_level("INFO"):
        for _ in range(settings.AXES_FAILURE_LIMIT + 1):
            login(anon_client, patient.email, WRONG)
    assert caplog.records
    assert not any(patient.email in r.getMessage() for r in caplog.records)
