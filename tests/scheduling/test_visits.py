"""The visit: start, complete (the consultation record), no-show, join links, evaluation contract."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import time_machine
from django.utils import timezone

from scheduling import tasks
from scheduling.models import Appointment, AppointmentStatus, AppointmentType, Reminder
from scheduling.selectors import latest_completed_evaluation
from scheduling.video import DailyVideoProvider, FakeVideoProvider, StaticLinkVideoProvider
from tests.scheduling.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
START = datetime(2026, 6, 3, 13, 0, tzinfo=UTC)


@pytest.fixture
def visit(world, patient, physician):
    world.physician(physician)
    world.patient(patient, state="NJ")
    return AppointmentFactory(patient=patient, physician=physician, starts_at=START, patient_state="NJ")


def url(appointment, action):
    return f"/api/v1/appointments/{appointment.public_id}/{action}/"


def test_physician_starts_and_completes_the_visit_with_a_note(api, physician, patient, visit, world):
    with time_machine.travel(START - timedelta(minutes=5), tick=False):
        assert api(physician).post(url(visit, "start")).json()["status"] == "in_progress"
    with time_machine.travel(START + timedelta(minutes=20), tick=False):
        response = api(physician).post(url(visit, "complete"), {"visit_note": "Discussed options."}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "completed" and body["modality"] == "audio_video"
    assert body["patient_state_at_visit"] == "NJ"  # from the patient's location
    assert body["visit_note"] == "Discussed options."
    visit.refresh_from_db()
    assert visit.completed_at == START + timedelta(minutes=20)
    # A completed free consultation puts the patient on the physician's caseload.
    assert world.assigned[patient.pk] == physician.pk
    # The note is shown to the care team only.
    assert api(patient).get(f"/api/v1/appointments/{visit.public_id}/").json()["visit_note"] is None


def test_complete_refuses_a_state_outside_the_service_area(api, physician, visit):
    with time_machine.travel(START + timedelta(minutes=20), tick=False):
        response = api(physician).post(
            url(visit, "complete"), {"visit_note": "x", "patient_state_at_visit": "NY"}, format="json"
        )
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.BOOKED


def test_complete_without_assignment_when_asked(api, physician, patient, visit, world):
    with time_machine.travel(START + timedelta(minutes=20), tick=False):
        api(physician).post(url(visit, "complete"), {"visit_note": "x", "assign_to_me": False}, format="json")
    assert patient.pk not in world.assigned


def test_start_too_early_and_no_show_before_start_are_refused(api, physician, visit):
    with time_machine.travel(START - timedelta(hours=2), tick=False):
        client = api(physician)
        assert client.post(url(visit, "start")).json()["code"] == "too_early"
        assert client.post(url(visit, "no-show")).json()["code"] == "too_early"
        assert client.post(url(visit, "complete"), {"visit_note": "x"}, format="json").json()["code"] == "too_early"
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.BOOKED


def test_no_show_after_start_cancels_pending_reminders(api, physician, visit):
    Reminder.objects.create(appointment=visit, channel="email", kind="1h", due_at=START + timedelta(hours=1))
    with time_machine.travel(START + timedelta(minutes=10), tick=False):
        response = api(physician).post(url(visit, "no-show"))
    assert response.status_code == 200 and response.json()["status"] == "no_show"
    assert Reminder.objects.get().status == "cancelled"


def test_patients_staff_and_other_physicians_cannot_record_visits(api, patient, staff, other_physician, visit):
    with time_machine.travel(START + timedelta(minutes=10), tick=False):
        assert api(patient).post(url(visit, "no-show")).status_code == 403
        assert api(staff).post(url(visit, "start")).status_code == 403
        assert api(other_physician).post(url(visit, "start")).status_code == 404
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.BOOKED


def test_latest_completed_evaluation_contract(patient, physician, other_physician, world):
    old = AppointmentFactory(patient=patient, physician=physician, starts_at=START - timedelta(days=100))
    recent = AppointmentFactory(patient=patient, physician=physician, starts_at=START)
    other = AppointmentFactory(patient=patient, physician=other_physician, starts_at=START + timedelta(days=1))
    for appt in (old, recent, other):
        Appointment.objects.filter(pk=appt.pk).update(status="completed", completed_at=appt.ends_at)
    since = START - timedelta(days=90)
    assert latest_completed_evaluation(patient=patient, physician=physician, since=since) == recent
    assert latest_completed_evaluation(patient=patient, physician=physician, since=START + timedelta(days=1)) is None
    Appointment.objects.filter(pk=recent.pk).update(status="no_show")
    assert latest_completed_evaluation(patient=patient, physician=physician, since=since) is None


# --- video ----------------------------------------------------------------------------


def test_join_is_409_until_links_are_created_shortly_before_the_visit(api, patient, physician, visit):
    assert api(patient).get(url(visit, "join")).json()["code"] == "video_not_ready"
    with time_machine.travel(START - timedelta(hours=2), tick=False):
        assert tasks.create_due_video_links() == 0  # too early
    with time_machine.travel(START - timedelta(minutes=20), tick=False):
        assert tasks.create_due_video_links() == 1
        assert tasks.create_due_video_links() == 0  # safe to run twice
        patient_url = api(patient).get(url(visit, "join")).json()["url"]
        physician_url = api(physician).get(url(visit, "join")).json()["url"]
    assert patient_url.startswith("https://video.invalid/") and "role=patient" in patient_url
    assert "role=physician" in physician_url


def test_staff_have_no_join_link(api, staff, visit):
    assert api(staff).get(url(visit, "join")).status_code == 404


def test_a_failing_provider_leaves_the_visit_ready_for_the_next_scan(visit, monkeypatch):
    from scheduling.services import visits

    class Broken:
        def create_links(self, **kw):
            raise RuntimeError("down")

    monkeypatch.setattr(visits, "video_provider", lambda: Broken())
    with time_machine.travel(START - timedelta(minutes=20), tick=False):
        assert tasks.create_due_video_links() == 0
    visit.refresh_from_db()
    assert visit.video_status == "none"


def test_daily_provider_creates_a_private_expiring_room_and_two_tokens(settings):
    settings.DAILY_API_KEY = "test-key"
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        import json

        payload = json.loads(request.content)
        seen.append((request.url.path, request.headers["Authorization"], payload))
        if request.url.path.endswith("/rooms"):
            return httpx.Response(
                200, json={"name": payload["name"], "url": f"https://practice.daily.co/{payload['name']}"}
            )
        return httpx.Response(200, json={"token": "tok-owner" if payload["properties"]["is_owner"] else "tok-guest"})

    provider = DailyVideoProvider(transport=httpx.MockTransport(handler), base_url="https://api.daily.test/v1")
    links = provider.create_links(starts_at=START, ends_at=START + timedelta(minutes=20))
    assert [p for p, _, _ in seen] == ["/v1/rooms", "/v1/meeting-tokens", "/v1/meeting-tokens"]
    assert all(auth == "Bearer test-key" for _, auth, _ in seen)
    room = seen[0][2]
    assert room["privacy"] == "private" and room["properties"]["exp"] > START.timestamp()
    assert all(p["properties"]["exp"] == room["properties"]["exp"] for _, _, p in seen[1:])
    assert links.patient_url.endswith("?t=tok-guest") and links.physician_url.endswith("?t=tok-owner")


def test_daily_provider_errors_become_service_unavailable(settings):
    from api.errors import ServiceUnavailable

    provider = DailyVideoProvider(
        api_key="k", transport=httpx.MockTransport(lambda r: httpx.Response(500, json={"error": "x"}))
    )
    with pytest.raises(ServiceUnavailable):
        provider.create_links(starts_at=START, ends_at=START + timedelta(minutes=20))


def test_daily_provider_refuses_to_start_without_a_key(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.DAILY_API_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        DailyVideoProvider()


def test_static_and_fake_providers():
    static = StaticLinkVideoProvider().create_links(
        starts_at=START, ends_at=START, static_url="https://meet.example/dr"
    )
    assert static.patient_url == static.physician_url == "https://meet.example/dr"
    fake = FakeVideoProvider().create_links(starts_at=START, ends_at=START)
    assert ".invalid/" in fake.patient_url and fake.patient_url != fake.physician_url


# --- iCalendar ------------------------------------------------------------------------


def test_physician_calendar_feed_has_no_patient_names(api, physician, patient, visit):
    with time_machine.travel(START - timedelta(days=1), tick=False):
        response = api(physician).get("/api/v1/physician/calendar.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    text = response.content.decode()
    assert "BEGIN:VEVENT" in text and "SUMMARY:Video visit" in text
    assert str(visit.public_id) in text
    assert patient.last_name not in text and patient.email not in text


def test_appointment_ics_for_its_patient_only(api, patient, other_patient, staff, visit):
    assert api(patient).get(f"/api/v1/appointments/{visit.public_id}/calendar.ics").status_code == 200
    assert api(other_patient).get(f"/api/v1/appointments/{visit.public_id}/calendar.ics").status_code == 404
    assert api(staff).get(f"/api/v1/appointments/{visit.public_id}/calendar.ics").status_code == 404


def test_calendar_feed_is_for_physicians_only(api, patient):
    response = api(patient).get("/api/v1/physician/calendar.ics")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_appointment_types_come_from_the_data_migration():
    types = {t.code: (t.duration_minutes, t.requires_subscription) for t in AppointmentType.objects.all()}
    assert types == {
        "free_consultation": (20, False),
        "follow_up": (30, True),
        "medication_review": (20, True),
        "in_person_evaluation": (60, True),
    }
    assert list(AppointmentType.objects.filter(in_person=True).values_list("code", flat=True)) == [
        "in_person_evaluation"
    ]


def test_a_visit_left_creating_by_a_killed_worker_gets_its_links_after_the_stale_window(visit):
    with time_machine.travel(START - timedelta(minutes=25), tick=False):
        Appointment.objects.filter(pk=visit.pk).update(video_status="creating", updated_at=timezone.now())
    with time_machine.travel(START - timedelta(minutes=22), tick=False):
        assert tasks.create_due_video_links() == 0  # claimed 3 minutes ago: maybe still running
    with time_machine.travel(START - timedelta(minutes=19), tick=False):
        assert tasks.create_due_video_links() == 1
    visit.refresh_from_db()
    assert visit.video_status == "ready" and visit.patient_video_url
