"""A missed check-in: one reminder to the patient, then one alert to the care team, each sent
once however often beat runs, through the notification outbox (docs/treatment.md#check-ins,
docs/notifications.md#what-is-sent-where)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts import notifications
from notifications.models import Delivery
from tests.treatment.conftest import check_in, run_session
from treatment.models import CheckInNotice, NoticeKind, NoticeStatus
from treatment.services import notices
from treatment.services.notices import check_in_notice_send, check_in_notices_send_due
from treatment.tasks import send_due_check_in_notices

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the block as a committed transaction would: the outbox sends at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_missed_check_in_reminds_the_patient_then_alerts_the_care_team_once(
    api, patient, physician, profile, rx, fill, clock, mailoutbox, committed
):
    session_id = run_session(api, patient, clock)
    clock.shift(timedelta(minutes=119))
    assert check_in_notices_send_due() == 0
    clock.shift(timedelta(minutes=2))
    with committed():
        assert send_due_check_in_notices() == 1
        assert send_due_check_in_notices() == 0  # a duplicated beat run
    # The patient's "reminders" channels: SMS (a phone is known) and email; no device, no push.
    assert [m.to for m in notifications.sms_outbox] == [str(profile.phone)]
    assert "check-in" in notifications.sms_outbox[0].body
    assert [m.to for m in mailoutbox] == [[patient.email]]
    clock.shift(timedelta(hours=2))
    with committed():
        assert check_in_notices_send_due() == 1
        assert check_in_notices_send_due() == 0
    alerts = mailoutbox[1:]
    assert sorted(m.to[0] for m in alerts) == sorted([physician.email, "care-team@practice.example"])
    for m in alerts:
        assert m.subject == "Post-session check-in overdue"
        assert patient.last_name not in m.body and patient.email not in m.body
    assert len(notifications.sms_outbox) == 1
    statuses = set(CheckInNotice.objects.filter(session__public_id=session_id).values_list("status", flat=True))
    assert statuses == {NoticeStatus.SENT}
    rows = Delivery.objects.order_by("pk")
    assert [(r.kind, r.channel, r.status) for r in rows] == [
        ("check_in_reminder", "email", "sent"),
        ("check_in_reminder", "sms", "sent"),
        ("check_in_overdue", "email", "sent"),
        ("check_in_overdue", "email", "sent"),
    ]


def test_a_second_claim_of_the_same_notice_sends_nothing(api, patient, rx, fill, clock, profile, committed):
    run_session(api, patient, clock)
    clock.shift(timedelta(hours=3))
    notice = CheckInNotice.objects.get(kind=NoticeKind.PATIENT_REMINDER)
    with committed():
        assert check_in_notice_send(notice_id=notice.pk) is True
        assert check_in_notice_send(notice_id=notice.pk) is False
    assert len(notifications.sms_outbox) == 1


def test_a_duplicated_task_writes_and_sends_each_row_once(api, patient, rx, fill, clock, profile, committed):
    """A task run twice after its claim was released (a worker judged dead that was not): the
    same dedupe key writes nothing new, and the outbox sends each row once."""
    run_session(api, patient, clock)
    clock.shift(timedelta(hours=3))
    notice = CheckInNotice.objects.get(kind=NoticeKind.PATIENT_REMINDER)
    with committed():
        assert check_in_notice_send(notice_id=notice.pk) is True
    CheckInNotice.objects.filter(pk=notice.pk).update(status=NoticeStatus.PENDING)  # the claim lost
    with committed():
        assert check_in_notice_send(notice_id=notice.pk) is True
        notices._deliver(notice)  # and notify once more, directly
    assert Delivery.objects.filter(dedupe_key=f"check-in-notice:{notice.pk}").count() == 2  # email, sms
    assert len(notifications.sms_outbox) == 1


def test_a_check_in_in_time_cancels_both_notices(api, patient, rx, fill, clock, mailoutbox, committed):
    session_id = run_session(api, patient, clock)
    clock.shift(timedelta(minutes=30))
    assert check_in(api, patient, session_id).status_code == 201
    clock.shift(timedelta(hours=5))
    with committed():
        assert check_in_notices_send_due() == 0
    assert notifications.sms_outbox == [] and mailoutbox == []
    assert not Delivery.objects.exists()
    assert set(CheckInNotice.objects.values_list("status", flat=True)) == {NoticeStatus.SKIPPED}


def test_a_failed_write_is_retried_by_the_next_scan(api, patient, rx, fill, clock, profile, monkeypatch, committed):
    run_session(api, patient, clock)
    clock.shift(timedelta(minutes=121))

    def broken(**kwargs):
        raise OSError("database hiccup")

    monkeypatch.setattr(notices, "notify", broken)
    assert check_in_notices_send_due() == 0
    assert CheckInNotice.objects.get(kind=NoticeKind.PATIENT_REMINDER).status == NoticeStatus.PENDING
    monkeypatch.undo()
    with committed():
        assert check_in_notices_send_due() == 1
    assert len(notifications.sms_outbox) == 1


def test_a_provider_outage_is_the_outboxs_to_retry(api, patient, rx, fill, clock, profile, monkeypatch, committed):
    """The SMS provider down: the notice is queued once (sent), the SMS row waits with backoff."""
    run_session(api, patient, clock)
    clock.shift(timedelta(minutes=121))

    def broken(**kwargs):
        raise OSError("sms provider down")

    monkeypatch.setattr(notifications, "send_sms", broken)
    with committed():
        assert check_in_notices_send_due() == 1
    assert CheckInNotice.objects.get(kind=NoticeKind.PATIENT_REMINDER).status == NoticeStatus.SENT
    sms = Delivery.objects.get(kind="check_in_reminder", channel="sms")
    assert (sms.status, sms.attempts, sms.last_error) == ("pending", 1, "OSError")


def test_a_reminder_goes_by_email_when_the_profile_has_no_phone(
    api, patient, rx, fill, clock, profile, mailoutbox, committed
):
    type(profile).objects.filter(pk=profile.pk).update(phone="")
    run_session(api, patient, clock)
    clock.shift(timedelta(minutes=121))
    with committed():
        assert check_in_notices_send_due() == 1
    assert [m.to for m in mailoutbox] == [[patient.email]] and notifications.sms_outbox == []


def test_the_reminder_follows_the_patients_reminder_choices(api, patient, rx, fill, clock, profile, committed):
    from notifications.preferences import preferences_update

    preferences_update(user=patient, data={"channels": {"reminders": {"sms": False}}})
    run_session(api, patient, clock)
    clock.shift(timedelta(minutes=121))
    with committed():
        assert check_in_notices_send_due() == 1
    assert notifications.sms_outbox == []
    assert list(Delivery.objects.values_list("channel", flat=True)) == ["email"]
