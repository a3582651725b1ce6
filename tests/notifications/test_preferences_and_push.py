"""Push devices, preferences per group and channel, quiet hours across DST, SMS consent with
STOP/START from the signed inbound webhook, dead tokens, and once-only delivery (docs/notifications.md)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import requests
import time_machine
from django.core import mail
from django.utils import timezone
from twilio.request_validator import RequestValidator

from accounts import notifications as backends
from notifications import outbox, push
from notifications.models import Delivery, Device, NotificationPreference, SmsOptOut
from notifications.preferences import quiet_until, release_after_quiet_hours
from notifications.services import Recipient, notify
from notifications.tasks import send_deliveries
from tests.conftest import client_for
from tests.patients.factories import PatientProfileFactory

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
PHONE = "+13055550100"
DEVICES_URL = "/api/v1/devices/"
PREFS_URL = "/api/v1/me/notification-preferences/"
WEBHOOK_URL = "/webhooks/twilio/sms/"


@pytest.fixture(autouse=True)
def _clear_push():
    push.push_outbox.clear()
    push.LocMemPushBackend.dead_tokens = set()
    yield
    push.push_outbox.clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def profile(patient):
    return PatientProfileFactory(user=patient, phone=PHONE, time_zone="America/New_York")


def shipped(patient, key="order-notice:1:shipped"):
    return notify(kind="order_shipped", recipient=Recipient.of(patient, phone=PHONE), dedupe_key=key)


# --- devices -------------------------------------------------------------------------------------


def test_register_refresh_move_and_delete_a_device(patient, other_patient):
    body = {"platform": "ios", "token": "tok-1", "app_version": "2.3.0"}
    first = client_for(patient).post(DEVICES_URL, body, format="json")
    assert first.status_code == 201 and "token" not in first.json()
    assert client_for(patient).post(DEVICES_URL, {**body, "app_version": "2.4.0"}, format="json").status_code == 200
    assert Device.objects.get().app_version == "2.4.0"
    # Signed in as someone else on the same phone: the token follows the last sign-in.
    assert client_for(other_patient).post(DEVICES_URL, body, format="json").status_code == 200
    assert Device.objects.get().user == other_patient
    # Deleting someone else's token does nothing (and says nothing).
    gone = client_for(patient).delete(DEVICES_URL, {"token": "tok-1"}, format="json")
    assert gone.status_code == 204 and Device.objects.exists()
    assert client_for(other_patient).delete(DEVICES_URL, {"token": "tok-1"}, format="json").status_code == 204
    assert not Device.objects.exists()
    bad = client_for(patient).post(DEVICES_URL, {"platform": "symbian", "token": "t"}, format="json")
    assert bad.status_code == 400 and bad.json()["fields"]["platform"][0]["code"] == "invalid_choice"
    assert client_for(None).post(DEVICES_URL, body, format="json").status_code == 401


def test_push_goes_to_each_device_with_the_same_text(patient, profile, committed):
    Device.objects.create(user=patient, platform="ios", token="tok-ios")
    Device.objects.create(user=patient, platform="android", token="tok-android")
    with committed():
        shipped(patient)
    assert sorted(p.token for p in push.push_outbox) == ["tok-android", "tok-ios"]
    assert {p.body for p in push.push_outbox} == {"Your order has shipped. Open the app to track it."}
    assert set(Delivery.objects.filter(channel="push").values_list("address", flat=True)) == {
        f"device:{d.pk}" for d in Device.objects.all()
    }


def test_a_token_the_provider_calls_dead_is_removed_and_not_retried(patient, profile, committed):
    dead = Device.objects.create(user=patient, platform="android", token="tok-dead")
    push.LocMemPushBackend.dead_tokens = {"tok-dead"}
    with committed():
        shipped(patient)
    row = Delivery.objects.get(channel="push")
    assert (row.status, row.last_error) == ("failed", "DeadToken")
    assert not Device.objects.filter(pk=dead.pk).exists()
    assert Delivery.objects.get(channel="email").status == "sent"  # the other channels still go


class FakeFCM(requests.adapters.BaseAdapter):
    """A fake transport for pyfcm: answers like FCM HTTP v1, records the requests."""

    def __init__(self, status: int, payload: str):
        super().__init__()
        self.status, self.payload, self.sent = status, payload, []

    def send(self, request, **kwargs):
        self.sent.append(request)
        response = requests.Response()
        response.status_code, response._content, response.request = self.status, self.payload.encode(), request
        response.headers["Content-Type"] = "application/json"
        return response

    def close(self):
        pass


class FakeCredentials:
    token, project_id = "fake-oauth-token", None

    def refresh(self, request):
        pass


def test_the_fcm_backend_sends_through_pyfcm_and_maps_unregistered_to_a_dead_token(settings):
    settings.FCM_PROJECT_ID = "practice-app"
    ok = FakeFCM(200, '{"name": "projects/practice-app/messages/0:123"}')
    backend = push.FCMPushBackend(adapter=ok, credentials=FakeCredentials())
    assert backend.send(token="tok", platform="android", title="Your order", body="Open the app.") == (
        "projects/practice-app/messages/0:123"
    )
    request = ok.sent[0]
    assert request.url.endswith("/projects/practice-app/messages:send")
    assert request.headers["Authorization"] == "Bearer fake-oauth-token"
    assert b'"token":"tok"' in request.body and b"Open the app." in request.body
    gone = FakeFCM(404, '{"error": {"status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED"}]}}')
    with pytest.raises(push.DeadToken):
        push.FCMPushBackend(adapter=gone, credentials=FakeCredentials()).send(
            token="tok", platform="ios", title="t", body="b"
        )


# --- preferences ---------------------------------------------------------------------------------


def test_preferences_default_on_and_merge_per_group_and_channel(patient, profile):
    client = client_for(patient)
    body = client.get(PREFS_URL).json()
    assert body["channels"]["reminders"] == {"push": True, "sms": True, "email": True}
    assert set(body["channels"]) == {"reminders", "shipping", "messages", "diary", "billing"}
    assert body["quiet_hours_start"] is None and body["time_zone"] == "America/New_York"
    assert body["always_sent"] == ["billing", "safety"]
    client.patch(PREFS_URL, {"channels": {"shipping": {"sms": False}}}, format="json")
    body = client.patch(PREFS_URL, {"channels": {"shipping": {"push": False}}}, format="json").json()
    assert body["channels"]["shipping"] == {"push": False, "sms": False, "email": True}
    body = client.patch(PREFS_URL, {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00"}, format="json").json()
    assert (body["quiet_hours_start"], body["quiet_hours_end"]) == ("22:00", "07:00")
    for bad in (
        {"channels": {"marketing": {"sms": False}}},
        {"channels": {"shipping": {"fax": False}}},
        {"quiet_hours_start": "22:00"},
        {"quiet_hours_start": "22:00", "quiet_hours_end": "22:00"},
    ):
        assert client.patch(PREFS_URL, bad, format="json").status_code == 400, bad


def test_an_opted_out_channel_is_skipped_but_required_notices_ignore_opt_outs(patient, profile, committed):
    NotificationPreference.objects.create(
        user=patient, channels={"shipping": {"sms": False, "email": False}, "billing": {"email": False, "sms": False}}
    )
    with committed():
        assert shipped(patient) == []
        notify(kind="payment_failed", recipient=Recipient.of(patient, phone=PHONE), dedupe_key="dunning:1:1")
    assert sorted(Delivery.objects.values_list("kind", "channel")) == [
        ("payment_failed", "email"),
        ("payment_failed", "sms"),
    ]
    assert "payment" in mail.outbox[0].body and "ketamine" not in mail.outbox[0].body


# --- quiet hours ---------------------------------------------------------------------------------


def test_quiet_hours_end_at_the_local_wall_clock_across_dst():
    start, end = time(22), time(7)
    # Spring forward (8 March 2026): 01:30 EST inside; quiet ends 07:00 EDT = 11:00 UTC.
    at = datetime(2026, 3, 8, 1, 30, tzinfo=NY)
    assert quiet_until(start=start, end=end, zone=NY, at=at) == datetime(2026, 3, 8, 11, 0, tzinfo=ZoneInfo("UTC"))
    # Fall back (1 November 2026): 23:00 EDT the evening before; quiet ends 07:00 EST = 12:00 UTC.
    at = datetime(2026, 10, 31, 23, 0, tzinfo=NY)
    assert quiet_until(start=start, end=end, zone=NY, at=at) == datetime(2026, 11, 1, 12, 0, tzinfo=ZoneInfo("UTC"))
    # Outside the window, and a window that does not span midnight.
    assert quiet_until(start=start, end=end, zone=NY, at=datetime(2026, 3, 8, 12, 0, tzinfo=NY)) is None
    assert quiet_until(start=time(13), end=time(14), zone=NY, at=datetime(2026, 3, 8, 13, 30, tzinfo=NY)) == (
        datetime(2026, 3, 8, 14, 0, tzinfo=NY)
    )
    # An end inside the skipped spring hour lands just after the gap.
    gap = quiet_until(start=time(1), end=time(2, 30), zone=NY, at=datetime(2026, 3, 8, 1, 15, tzinfo=NY))
    assert gap == datetime(2026, 3, 8, 3, 30, tzinfo=NY)


def test_a_notice_inside_quiet_hours_waits_for_their_end_across_dst(patient, profile, committed):
    NotificationPreference.objects.create(user=patient, quiet_start=time(22), quiet_end=time(7))
    night = datetime(2026, 3, 8, 1, 30, tzinfo=NY)  # the night clocks spring forward
    with time_machine.travel(night, tick=False), committed():
        ids = shipped(patient)
    held = Delivery.objects.filter(pk__in=ids)
    assert set(held.values_list("status", flat=True)) == {"pending"} and mail.outbox == []
    assert {r.not_before for r in held} == {datetime(2026, 3, 8, 7, 0, tzinfo=NY)}  # 11:00 UTC, not 12:00
    # A duplicated fast-path task cannot send it early either.
    with time_machine.travel(datetime(2026, 3, 8, 6, 59, tzinfo=NY), tick=False):
        send_deliveries.apply(args=[ids])
        outbox.sweep(token="early")
    assert mail.outbox == [] and backends.sms_outbox == []
    outbox.sweep(token="morning", now=datetime(2026, 3, 8, 7, 0, 1, tzinfo=NY))
    assert len(mail.outbox) == 1 and len(backends.sms_outbox) == 1


def test_a_visit_reminder_waits_for_quiet_hours_unless_the_visit_starts_sooner(patient, profile):
    pref = NotificationPreference.objects.create(user=patient, quiet_start=time(22), quiet_end=time(7))
    # 24 h before a 06:30 visit on the fall-back morning: 06:30 EDT on 31 Oct, inside quiet hours.
    visit = datetime(2026, 11, 1, 6, 30, tzinfo=NY)
    reminder_at = visit - timedelta(hours=24)
    release = release_after_quiet_hours(user=patient, at=reminder_at, deliver_by=visit, pref=pref, zone=NY)
    assert release == datetime(2026, 10, 31, 7, 0, tzinfo=NY)  # the end of that night's quiet hours
    # One hour before: 05:30 EST, quiet until 07:00, after the visit starts: sent on time.
    hour_before = visit - timedelta(hours=1)
    assert release_after_quiet_hours(user=patient, at=hour_before, deliver_by=visit, pref=pref, zone=NY) == hour_before


def test_booked_visit_reminders_follow_the_preferences(patient, physician, profile):
    from scheduling.models import Reminder
    from scheduling.services.reminders import reminders_plan
    from tests.scheduling.factories import AppointmentFactory

    NotificationPreference.objects.create(
        user=patient, channels={"reminders": {"sms": False}}, quiet_start=time(22), quiet_end=time(7)
    )
    with time_machine.travel(datetime(2026, 12, 1, 12, 0, tzinfo=NY), tick=False):
        visit = AppointmentFactory(
            patient=patient, physician=physician, starts_at=datetime(2026, 12, 3, 7, 30, tzinfo=NY)
        )
        Reminder.objects.filter(appointment=visit).delete()
        planned = reminders_plan(appointment=visit, new=True)
    due = {(r.channel, r.kind): r.due_at for r in planned}
    assert set(due) == {("email", "24h"), ("email", "1h")}  # SMS switched off for reminders
    assert due[("email", "24h")] == datetime(2026, 12, 2, 7, 30, tzinfo=NY)
    assert due[("email", "1h")] == datetime(2026, 12, 3, 7, 0, tzinfo=NY)  # 06:30 was inside quiet hours


# --- SMS consent: STOP / START -------------------------------------------------------------------


FORM = "application/x-www-form-urlencoded"  # as Twilio posts


def _signed_post(client, params, settings, token="twilio-secret"):
    settings.TWILIO_AUTH_TOKEN = token
    url = "http://testserver" + WEBHOOK_URL
    signature = RequestValidator("twilio-secret").compute_signature(url, params)
    return client.post(WEBHOOK_URL, urlencode(params), content_type=FORM, HTTP_X_TWILIO_SIGNATURE=signature)


def test_stop_and_start_from_the_signed_inbound_webhook(patient, profile, settings, committed):
    client = client_for(None)
    response = _signed_post(client, {"From": PHONE, "Body": " stop ", "MessageSid": "SM1"}, settings)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    assert SmsOptOut.objects.filter(phone=PHONE).exists()
    assert NotificationPreference.objects.get(user=patient).sms_consent is False
    assert client_for(patient).get(PREFS_URL).json()["sms_consent"] is False
    # Stopped: no SMS, even for a required notice; email still goes.
    with committed():
        notify(kind="payment_failed", recipient=Recipient.of(patient, phone=PHONE), dedupe_key="dunning:2:1")
    assert list(Delivery.objects.values_list("channel", flat=True)) == ["email"]
    # The app cannot switch texts back on: only START from the phone does.
    refused = client_for(patient).patch(PREFS_URL, {"sms_consent": True}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "sms_stopped"
    _signed_post(client, {"From": PHONE, "Body": "START", "MessageSid": "SM2"}, settings)
    assert not SmsOptOut.objects.exists()
    assert NotificationPreference.objects.get(user=patient).sms_consent is True
    # Anything else is ignored (patients are told to write through the app).
    _signed_post(client, {"From": PHONE, "Body": "stop sending me the old address", "MessageSid": "SM3"}, settings)
    assert not SmsOptOut.objects.exists()


def test_an_unsigned_or_forged_inbound_sms_changes_nothing(patient, profile, settings):
    settings.TWILIO_AUTH_TOKEN = "twilio-secret"
    client = client_for(None)
    params = {"From": PHONE, "Body": "STOP"}
    assert client.post(WEBHOOK_URL, urlencode(params), content_type=FORM).status_code == 400
    forged = RequestValidator("another-secret").compute_signature("http://testserver" + WEBHOOK_URL, params)
    response = client.post(WEBHOOK_URL, urlencode(params), content_type=FORM, HTTP_X_TWILIO_SIGNATURE=forged)
    assert response.status_code == 400 and response.json()["code"] == "invalid_signature"
    assert not SmsOptOut.objects.exists()


# --- once only -----------------------------------------------------------------------------------


def test_a_duplicated_send_task_delivers_once(patient, profile):
    Device.objects.create(user=patient, platform="web", token="tok-web")
    ids = shipped(patient)  # not committed: no fast path ran
    assert len(ids) == 3
    first = send_deliveries.apply(args=[ids], task_id="task-a")
    second = send_deliveries.apply(args=[ids], task_id="task-b")  # the broker delivered a copy
    third = send_deliveries.apply(args=[ids], task_id="task-a")  # and the first again, after it finished
    assert (first.result, second.result, third.result) == (3, 0, 0)
    assert len(mail.outbox) == 1 and len(backends.sms_outbox) == 1 and len(push.push_outbox) == 1
    outbox.sweep(token="sweep", now=timezone.now() + timedelta(hours=1))
    assert len(mail.outbox) == 1 and len(push.push_outbox) == 1


def test_the_diary_reminder_follows_the_diary_choices(patient, profile, committed):
    from outcomes.models import DiaryReminderDelivery, DiaryReminderPreference
    from outcomes.reminders import send_due_diary_reminders

    DiaryReminderPreference.objects.create(patient=patient, enabled=True, local_time=time(19))
    pref = NotificationPreference.objects.create(user=patient, channels={"diary": {"sms": False}})
    with time_machine.travel(datetime(2026, 11, 28, 19, 30, tzinfo=NY), tick=False), committed():
        assert send_due_diary_reminders() == 1
    assert backends.sms_outbox == [] and len(mail.outbox) == 1  # email instead of the text
    pref.channels = {"diary": {"sms": False, "email": False}}
    pref.save()
    with time_machine.travel(datetime(2026, 11, 29, 19, 30, tzinfo=NY), tick=False):
        assert send_due_diary_reminders() == 0
    assert DiaryReminderDelivery.objects.get(local_date="2026-11-29").status == "skipped"
