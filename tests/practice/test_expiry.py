"""The daily credential expiry watch: expired credentials leave availability; staff are warned once."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from practice.models import CredentialChange, CredentialExpiryNotice, DEARegistration, StateLicense
from practice.selectors import consult_windows
from practice.services.expiry import credential_expiry_watch, credentials_mark_expired, credentials_warn_expiring
from practice.services.licensing import physician_authorization
from practice.tasks import credential_expiry_watch as credential_expiry_watch_task
from tests.practice.factories import DEARegistrationFactory, NJCDSRegistrationFactory, StateLicenseFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def warn(django_capture_on_commit_callbacks):
    """credentials_warn_expiring, with the outbox's after-commit send run as in production."""

    def _warn(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return credentials_warn_expiring(**kwargs)

    return _warn


def test_expired_credentials_are_marked_and_logged_once(physician):
    old = StateLicenseFactory(physician=physician, expires_on=dt.date(2026, 6, 14))
    on_the_day = StateLicenseFactory(physician=physician, state="NJ", expires_on=TODAY)
    dea = DEARegistrationFactory(physician=physician, expires_on=dt.date(2026, 1, 1))
    cds = NJCDSRegistrationFactory(physician=physician, expires_on=dt.date(2026, 6, 1))
    assert credentials_mark_expired(today=TODAY) == 3
    assert credentials_mark_expired(today=TODAY) == 0
    for obj in (old, on_the_day, dea, cds):
        obj.refresh_from_db()
    assert (old.status, on_the_day.status, dea.status, cds.status) == ("expired", "active", "expired", "expired")
    assert CredentialChange.objects.filter(action="expire", actor=None).count() == 3


def test_an_expired_licence_drops_out_of_availability(physician):
    StateLicenseFactory(physician=physician, expires_on=dt.date(2026, 6, 14))
    credentials_mark_expired(today=TODAY)
    assert consult_windows(state="FL", start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30)) == {}
    result = physician_authorization(physician=physician, state="FL", on=dt.date(2026, 6, 10), action="consult")
    assert result.reasons[0].code == "licence_expired"  # marked expired: refused even for an earlier day


def test_warning_lists_credentials_expiring_within_the_window(physician, settings, warn):
    settings.CARE_TEAM_ALERT_EMAILS = ["alerts@practice.example"]
    soon = StateLicenseFactory(physician=physician, expires_on=TODAY + dt.timedelta(days=60))
    dea = DEARegistrationFactory(physician=physician, expires_on=TODAY + dt.timedelta(days=5))
    StateLicenseFactory(physician=physician, state="NJ", expires_on=TODAY + dt.timedelta(days=61))  # outside
    StateLicenseFactory(
        physician=physician,
        state="FL",
        kind="fl_telehealth_registration",
        status="inactive",
        expires_on=TODAY + dt.timedelta(days=3),
    )  # not active: no warning
    assert warn(today=TODAY) == 2
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alerts@practice.example"]
    assert f"#{soon.pk}" in message.body and f"/admin/practice/dearegistration/{dea.pk}/change/" in message.body
    assert physician.last_name not in message.body and physician.email not in message.body


def test_running_twice_sends_once(physician, warn):
    StateLicenseFactory(physician=physician, expires_on=TODAY + dt.timedelta(days=30))
    assert warn(today=TODAY) == 1
    assert warn(today=TODAY) == 0
    assert warn(today=TODAY + dt.timedelta(days=1)) == 0
    assert len(mail.outbox) == 1
    assert CredentialExpiryNotice.objects.count() == 1


def test_a_renewal_with_a_new_expiry_is_warned_about_again(physician, staff, warn):
    from practice.services.credentials import state_licence_update

    licence = StateLicenseFactory(physician=physician, expires_on=TODAY + dt.timedelta(days=30))
    warn(today=TODAY)
    state_licence_update(actor=staff, licence=licence, expires_on=TODAY + dt.timedelta(days=400))
    assert warn(today=TODAY) == 0
    assert warn(today=TODAY + dt.timedelta(days=350)) == 1
    assert len(mail.outbox) == 2


def test_window_comes_from_settings(physician, settings, warn):
    settings.CREDENTIAL_EXPIRY_WARNING_DAYS = 10
    StateLicenseFactory(physician=physician, expires_on=TODAY + dt.timedelta(days=11))
    assert warn(today=TODAY) == 0
    settings.CREDENTIAL_EXPIRY_WARNING_DAYS = 11
    assert warn(today=TODAY) == 1


def test_a_failed_send_is_retried_by_the_outbox(physician, monkeypatch, warn):
    from accounts import notifications as backends
    from notifications.models import Delivery
    from notifications.outbox import sweep

    StateLicenseFactory(physician=physician, expires_on=TODAY + dt.timedelta(days=30))

    def broken(**kwargs):
        raise ConnectionError("smtp down")

    monkeypatch.setattr(backends, "send_email", broken)
    assert warn(today=TODAY) == 1  # queued with the claim; the send failed after commit
    delivery = Delivery.objects.get(kind="credential_expiry")
    assert (delivery.status, delivery.last_error) == ("pending", "ConnectionError")
    monkeypatch.undo()
    assert warn(today=TODAY) == 0  # the claim holds: no second warning is written
    sweep(token="t", now=delivery.next_attempt_at)
    assert len(mail.outbox) == 1 and Delivery.objects.get().status == "sent"


def test_the_daily_task_marks_then_warns(physician, django_capture_on_commit_callbacks):
    StateLicenseFactory(physician=physician, expires_on=dt.date(2026, 6, 1))
    DEARegistrationFactory(physician=physician, expires_on=dt.date(2026, 7, 1))
    with (
        time_machine.travel(dt.datetime(2026, 6, 15, 9, 7, tzinfo=dt.UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert credential_expiry_watch_task.delay().get() == {"expired": 1, "warned": 1}
        assert credential_expiry_watch_task.delay().get() == {"expired": 0, "warned": 0}
    assert StateLicense.objects.get().status == "expired"
    assert DEARegistration.objects.get().status == "active"
    assert len(mail.outbox) == 1


def test_today_is_the_practice_day(physician):
    StateLicenseFactory(physician=physician, expires_on=dt.date(2026, 6, 14))
    # 02:00 UTC on the 15th is still the 14th in New York: the licence is valid all of that day.
    with time_machine.travel(dt.datetime(2026, 6, 15, 2, 0, tzinfo=dt.UTC), tick=False):
        assert credential_expiry_watch()["expired"] == 0
    with time_machine.travel(dt.datetime(2026, 6, 15, 5, 0, tzinfo=dt.UTC), tick=False):
        assert credential_expiry_watch()["expired"] == 1


def test_the_beat_schedule_runs_the_watch_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["practice-credential-expiry-watch"]
    assert entry["task"] == "practice.tasks.credential_expiry_watch"
    assert entry["schedule"].hour == {5}
