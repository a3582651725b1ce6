"""A missed check-in: one reminder to the patient, then one alert to the care team, each sent
once however often beat runs (docs/treatment.md#check-ins)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts import notifications
from tests.treatment.conftest import check_in, run_session
from treatment.models import CheckInNotice, NoticeKind, NoticeStatus
from treatment.services.notices import check_in_notice_send, check_in_notices_send_due
from treatment.tasks import send_due_check_in_notices

pytestmark = pytest.mark.django_db


def test_missed_check_in_reminds_the_patient_then_alerts_the_care_team_once(
    api, patient, physician, profile, rx, fill, clock, mailoutbox
):
    session_id = run_session(api, patient, clock)
    clock.shift(timedelta(minutes=119))
    assert check_in_notices_send_due() == 0
    clock.shift(timedelta(minutes=2))
    assert send_due_check_in_notices() == 1
    assert send_due_check_in_notices() == 0  # a duplicated beat run
    assert [m.to for m in notifications.sms_outbox] == [str(profile.phone)]
    assert "check-in" in notifications.sms_outbox[0].body and mailoutbox == []
    clock.shift(timedelta(hours=2))
    assert check_in_notices_send_due() == 1
    assert check_in_notices_send_due() == 0
    assert len(mailoutbox) == 1
    assert set(mailoutbox[0].to) == {physician.email, "care-team@practice.example"}
    assert patient.last_name not in mailoutbox[0].body and patient.email not in mailoutbox[0].body
    assert len(notifications.sms_outbox) == 1
    statuses = set(CheckInNotice.objects.filter(session__public_id=session_id).values_list("status", flat=True))
    assert statuses == {NoticeStatus.SENT}


def test_a_second_claim_of_the_same_notice_sends_nothing(api, patient, rx, fill, clock, profile):
    run_session(api, patient, clock)
    clock.shift(timedelta(hours=3))
    notice = CheckInNotice.objects.get(kind=NoticeKind.PATIENT_REMINDER)
    assert check_in_notice_send(notice_id=notice.pk) is True
    assert check_in_notice_send(notice_id=notice.pk) is False
    assert len(notifications.sms_outbox) == 1


def test_a_check_in_in_time_cancels_both_notices(api, patient, rx, fill, clock, mailoutbox):
    session_id = run_session(api, patient, clock)
    clock.shift(timedelta(minutes=30))
    assert check_in(api, patient, session_id).status_code == 201
    clock.shift(timedelta(hours=5))
    assert check_in_notices_send_due() == 0
    assert notifications.sms_outbox == [] and mailoutbox == []
    assert set(CheckInNotice.objects.values_list("status", flat=True)) == {NoticeStatus.SKIPPED}


def test_a_failed_send_is_retried_by_the_next_scan(api, patient, rx, fill, clock, profile, monkeypatch):
    run_session(api, patient, clock)
    clock.shift(timedelta(minutes=121))
    from treatment.services import notices

    def broken(**kwargs):
        raise OSError("sms provider down")

    monkeypatch.setattr(notices, "send_sms", broken)
    assert check_in_notices_send_due() == 0
    assert CheckInNotice.objects.get(kind=NoticeKind.PATIENT_REMINDER).status == NoticeStatus.PENDING
    monkeypatch.undo()
    assert check_in_notices_send_due() == 1
    assert len(notifications.sms_outbox) == 1


def test_a_reminder_goes_by_email_when_the_profile_has_no_phone(api, patient, rx, fill, clock, profile, mailoutbox):
    type(profile).objects.filter(pk=profile.pk).update(phone="")
    run_session(api, patient, clock)
    clock.shift(timedelta(minutes=121))
    assert check_in_notices_send_due() == 1
    assert mailoutbox[0].to == [patient.email] and notifications.sms_outbox == []
