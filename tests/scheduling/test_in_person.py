"""In-person evaluation visits (docs/in-person-visits.md): hours per visit location, search only
at locations in the patient's state with times in the location's zone, booking without a video
room, reminders and calendar events naming the address, completion with the attestation
recording the in-person evaluation once, and the practitioner present at a video visit."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import notifications
from accounts.models import AuditEvent
from scheduling import contracts, tasks
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    AvailabilityException,
    InPersonEvaluation,
    Reminder,
    VisitPractitionerPresence,
    WeeklyAvailability,
)
from scheduling.selectors import practitioner_present_visits_for
from scheduling.services.reminders import reminder_text
from tests.scheduling.factories import AppointmentFactory, VisitLocationFactory, book

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # Monday 08:00 in New York
WEDNESDAY, THURSDAY = 2, 3
IN_PERSON = "in_person_evaluation"
SEARCH = "/api/v1/availability/"
WEEKLY = "/api/v1/physician/availability/weekly/"
EXCEPTIONS = "/api/v1/physician/availability/exceptions/"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _contacts_from_world(monkeypatch):
    monkeypatch.setattr(
        contracts, "patient_contacts", lambda patients: {p.pk: contracts.patient_contact(p) for p in patients}
    )


@pytest.fixture
def miami(db):
    return VisitLocationFactory()


@pytest.fixture
def newark(db):
    return VisitLocationFactory(
        name="Newark office", address_line1="1 Gateway Center", city="Newark", state="NJ", zip_code="07102"
    )


def in_person_hours(physician, location, weekday, start=time(13), end=time(15)):
    return WeeklyAvailability.objects.create(
        physician=physician, location=location, weekday=weekday, start_time=start, end_time=end
    )


@pytest.fixture
def office_hours(world, physician, patient, miami, newark):
    """A Central-time physician licensed in both states: video hours 9-12 (their zone) on
    weekdays, in person at Miami on Wednesdays and Newark on Thursdays, 13-15 local."""
    world.physician(physician, tz="America/Chicago")
    world.patient(patient, state="FL", tz="America/Chicago")  # a Panhandle patient
    world.hours(physician, time(9), time(12), weekdays=range(5))
    in_person_hours(physician, miami, WEDNESDAY)
    in_person_hours(physician, newark, THURSDAY)
    return world


def search(client, **params):
    params.setdefault("appointment_type", IN_PERSON)
    params.setdefault("start", "2026-06-01")
    params.setdefault("end", "2026-06-07")
    return client.get(SEARCH, params)


def book_in_person(client, physician, starts_at="2026-06-03T17:00:00Z", key="inperson-0001", **extra):
    body = {
        "physician": str(physician.public_id),
        "appointment_type": IN_PERSON,
        "starts_at": starts_at,
        "idempotency_key": key,
        **extra,
    }
    return client.post("/api/v1/appointments/", body, format="json")


# --- locations --------------------------------------------------------------------------


def test_visit_locations_are_public_and_filtered_by_state(api, client, miami, newark):
    VisitLocationFactory(name="Closed office", is_active=False)
    response = client.get("/api/v1/visit-locations/", {"state": "FL"})
    assert response.status_code == 200
    rows = response.json()
    assert [r["name"] for r in rows] == ["Miami office"]
    assert rows[0]["address"] == "200 Biscayne Blvd, Miami, FL 33131"
    assert rows[0]["time_zone"] == "America/New_York" and rows[0]["id"] == str(miami.public_id)
    assert len(client.get("/api/v1/visit-locations/").json()) == 2
    assert client.get("/api/v1/visit-locations/", {"state": "NY"}).status_code == 400


# --- hours per location -----------------------------------------------------------------


def test_physician_publishes_in_person_hours_at_a_location(api, physician, world, miami):
    world.physician(physician)
    client = api(physician)
    body = {"weekday": 2, "start_time": "13:00", "end_time": "15:00", "location": str(miami.public_id)}
    created = client.post(WEEKLY, body, format="json")
    assert created.status_code == 201 and created.json()["location"] == str(miami.public_id)
    video = client.post(WEEKLY, {"weekday": 2, "start_time": "09:00", "end_time": "12:00"}, format="json")
    assert video.status_code == 201 and video.json()["location"] is None
    listed = client.get(WEEKLY).json()["results"]
    assert {r["location"] for r in listed} == {None, str(miami.public_id)}


def test_in_person_and_video_hours_may_not_overlap_even_across_zones(api, physician, world, miami):
    world.physician(physician, tz="America/Chicago")
    client = api(physician)
    assert (
        client.post(WEEKLY, {"weekday": 2, "start_time": "09:00", "end_time": "12:00"}, format="json").status_code
        == 201
    )
    # 10:00-11:00 in Miami is 09:00-10:00 in Chicago: the physician cannot be in both places.
    clash = {"weekday": 2, "start_time": "10:00", "end_time": "11:00", "location": str(miami.public_id)}
    response = client.post(WEEKLY, clash, format="json")
    assert response.status_code == 409 and response.json()["code"] == "availability_overlap"
    # 12:00-13:00 in Miami is 11:00-12:00 in Chicago: still overlapping.
    clash["start_time"], clash["end_time"] = "12:00", "13:00"
    assert client.post(WEEKLY, clash, format="json").json()["code"] == "availability_overlap"
    # 13:00-15:00 in Miami is 12:00-14:00 in Chicago: after the video hours.
    clash["start_time"], clash["end_time"] = "13:00", "15:00"
    row = client.post(WEEKLY, clash, format="json")
    assert row.status_code == 201
    # Moving it back over the video hours is refused too, and the row is left as it was.
    moved = client.patch(f"{WEEKLY}{row.json()['id']}/", {"start_time": "11:00"}, format="json")
    assert moved.status_code == 409
    assert WeeklyAvailability.objects.get(public_id=row.json()["id"]).start_time == time(13)
    # Extra video hours on a Wednesday over the in-person block: refused.
    extra = {"date": "2026-06-10", "kind": "extra_hours", "start_time": "12:30", "end_time": "13:30"}
    assert client.post(EXCEPTIONS, extra, format="json").json()["code"] == "availability_overlap"
    assert not AvailabilityException.objects.exists()


def test_time_off_takes_no_location_and_unknown_locations_are_refused(api, physician, world, miami):
    world.physician(physician)
    client = api(physician)
    off = {"date": "2026-06-03", "kind": "time_off", "location": str(miami.public_id)}
    response = client.post(EXCEPTIONS, off, format="json")
    assert response.status_code == 400 and "location" in response.json()["fields"]
    unknown = {"weekday": 1, "start_time": "09:00", "end_time": "10:00", "location": str(physician.public_id)}
    response = client.post(WEEKLY, unknown, format="json")
    assert response.status_code == 400 and "location" in response.json()["fields"]
    assert not WeeklyAvailability.objects.exists() and not AvailabilityException.objects.exists()


# --- search -----------------------------------------------------------------------------


def test_in_person_search_offers_only_location_hours_in_the_patients_state(api, patient, physician, office_hours):
    body = search(api(patient)).json()
    assert body["appointment_type"] == IN_PERSON and body["state"] == "FL"
    [entry] = body["results"]  # Miami only: Newark is in New Jersey
    assert entry["location"]["name"] == "Miami office"
    assert entry["location"]["address"] == "200 Biscayne Blvd, Miami, FL 33131"
    assert entry["location"]["time_zone"] == "America/New_York"
    starts = [s["starts_at"] for s in entry["slots"]]
    # In the location's zone (Eastern), not the Central patient's: 13:00 and 14:00 on Wednesday.
    assert starts[0] == "2026-06-03T13:00:00-04:00"
    assert starts[-1] == "2026-06-03T14:00:00-04:00"
    assert {s[:10] for s in starts} == {"2026-06-03"}


def test_new_jersey_patient_sees_the_newark_office(api, other_patient, physician, office_hours):
    office_hours.patient(other_patient, state="NJ")
    [entry] = search(api(other_patient)).json()["results"]
    assert entry["location"]["name"] == "Newark office"
    assert {s["starts_at"][:10] for s in entry["slots"]} == {"2026-06-04"}


def test_video_search_ignores_in_person_hours(api, patient, physician, office_hours):
    body = search(api(patient), appointment_type="follow_up").json()
    [entry] = body["results"]
    assert "location" not in entry
    # Video hours 9-12 Central only: no slot in the Wednesday in-person afternoon.
    utc_hours = {s["starts_at_utc"][11:13] for s in entry["slots"]}
    assert utc_hours <= {"14", "15", "16"}


def test_no_in_person_slots_where_the_physician_is_not_licensed(api, patient, physician, office_hours):
    office_hours.licences.pop((physician.pk, "FL"))
    assert search(api(patient)).json()["results"] == []


def test_location_filter_narrows_to_one_office(api, patient, physician, other_physician, office_hours, miami):
    coral = VisitLocationFactory(name="Coral Gables office", address_line1="1 Alhambra Plaza", zip_code="33134")
    office_hours.physician(other_physician)
    in_person_hours(other_physician, coral, WEDNESDAY)
    both = search(api(patient)).json()["results"]
    assert sorted(e["location"]["name"] for e in both) == ["Coral Gables office", "Miami office"]
    only = search(api(patient), location=str(coral.public_id)).json()["results"]
    assert [e["location"]["name"] for e in only] == ["Coral Gables office"]
    assert only[0]["physician"]["id"] == str(other_physician.public_id)


def test_in_person_slots_keep_the_location_wall_clock_across_dst(api, patient, physician, world, miami):
    world.physician(physician, tz="America/Chicago")
    world.patient(patient, tz="America/Chicago")
    for weekday in range(7):
        in_person_hours(physician, miami, weekday, time(9), time(10))
    with time_machine.travel(datetime(2026, 10, 25, 12, tzinfo=UTC), tick=False):
        body = search(api(patient), start="2026-10-31", end="2026-11-01").json()
    slots = body["results"][0]["slots"]
    assert [s["starts_at"] for s in slots] == ["2026-10-31T09:00:00-04:00", "2026-11-01T09:00:00-05:00"]
    assert [s["starts_at_utc"] for s in slots] == ["2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z"]


def test_cached_answers_keep_video_and_in_person_hours_apart(api, patient, physician, world, miami):
    """Same physician, same duration and zone: only the place tells the two entries apart."""
    AppointmentType.objects.filter(code=IN_PERSON).update(duration_minutes=30, buffer_minutes=10)
    world.physician(physician)
    world.patient(patient)
    world.hours(physician, time(9), time(10), weekdays=[WEDNESDAY])
    in_person_hours(physician, miami, WEDNESDAY, time(13), time(14))
    client = api(patient)
    in_person = [s["starts_at"] for e in search(client).json()["results"] for s in e["slots"]]
    video = [s["starts_at"] for e in search(client, appointment_type="follow_up").json()["results"] for s in e["slots"]]
    assert in_person == ["2026-06-03T13:00:00-04:00", "2026-06-03T13:15:00-04:00", "2026-06-03T13:30:00-04:00"]
    assert video == ["2026-06-03T09:00:00-04:00", "2026-06-03T09:15:00-04:00", "2026-06-03T09:30:00-04:00"]
    with CaptureQueriesContext(connection) as queries:
        again = [s["starts_at"] for e in search(client).json()["results"] for s in e["slots"]]
    assert again == in_person
    assert not [q for q in queries.captured_queries if 'scheduling_appointment"' in q["sql"]]


def test_new_in_person_hours_show_in_the_next_search(
    api, patient, physician, office_hours, miami, django_capture_on_commit_callbacks
):
    client = api(patient)
    assert {s["starts_at"][:10] for e in search(client).json()["results"] for s in e["slots"]} == {"2026-06-03"}
    with django_capture_on_commit_callbacks(execute=True):
        in_person_hours(physician, miami, 4)  # Friday
    days = {s["starts_at"][:10] for e in search(client).json()["results"] for s in e["slots"]}
    assert days == {"2026-06-03", "2026-06-05"}


# --- booking ----------------------------------------------------------------------------


def test_booking_an_in_person_evaluation_names_the_office_and_makes_no_video_room(
    api, patient, physician, office_hours, miami
):
    response = book_in_person(api(patient), physician)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["modality"] == "in_person" and body["patient_state"] == "FL"
    assert body["location"]["address"] == "200 Biscayne Blvd, Miami, FL 33131"
    assert body["location"]["id"] == str(miami.public_id) and body["video_ready"] is False
    appointment = Appointment.objects.get()
    assert appointment.location == miami and appointment.ends_at - appointment.starts_at == timedelta(minutes=60)
    assert Reminder.objects.filter(appointment=appointment).count() == 4
    with time_machine.travel(appointment.starts_at - timedelta(minutes=20), tick=False):
        assert tasks.create_due_video_links() == 0
        for user in (patient, physician):
            joined = api(user).get(f"/api/v1/appointments/{appointment.public_id}/join/")
            assert joined.status_code == 409 and joined.json()["code"] == "not_a_video_visit"
    appointment.refresh_from_db()
    assert appointment.video_status == "none" and appointment.patient_video_url == ""
    listed = api(patient).get("/api/v1/appointments/").json()["results"]
    assert listed[0]["location"]["name"] == "Miami office"


def test_booking_needs_a_location_when_the_physician_has_several_in_the_state(
    api, patient, physician, office_hours, miami
):
    coral = VisitLocationFactory(name="Coral Gables office", address_line1="1 Alhambra Plaza", zip_code="33134")
    in_person_hours(physician, coral, 4)
    client = api(patient)
    response = book_in_person(client, physician)
    assert response.status_code == 400 and response.json()["code"] == "visit_location_required"
    # At Coral Gables on a Wednesday: it has no hours then.
    response = book_in_person(client, physician, location=str(coral.public_id), key="inperson-0002")
    assert response.status_code == 400 and response.json()["code"] == "not_on_grid"
    response = book_in_person(client, physician, location=str(miami.public_id), key="inperson-0003")
    assert response.status_code == 201 and response.json()["location"]["id"] == str(miami.public_id)


def test_booking_at_an_office_in_another_state_is_refused(api, patient, physician, office_hours, newark):
    response = book_in_person(api(patient), physician, starts_at="2026-06-04T17:00:00Z", location=str(newark.public_id))
    assert response.status_code == 422 and response.json()["code"] == "location_out_of_state"
    assert not Appointment.objects.exists()


def test_in_person_booking_is_only_in_location_hours_and_video_takes_no_location(
    api, patient, physician, office_hours, miami
):
    client = api(patient)
    # Wednesday 10:00 Central: video hours, not in-person ones.
    assert book_in_person(client, physician, starts_at="2026-06-03T15:00:00Z").json()["code"] == "not_on_grid"
    video = book(client, physician, starts_at="2026-06-03T15:00:00Z", appointment_type="follow_up", key="video-001")
    assert video.status_code == 201 and video.json()["location"] is None
    with_location = client.post(
        "/api/v1/appointments/",
        {
            "physician": str(physician.public_id),
            "appointment_type": "follow_up",
            "starts_at": "2026-06-03T16:00:00Z",
            "idempotency_key": "video-002",
            "location": str(miami.public_id),
        },
        format="json",
    )
    assert with_location.status_code == 400 and "location" in with_location.json()["fields"]


def test_in_person_booking_checks_the_licence_of_the_locations_state(api, patient, physician, office_hours):
    office_hours.licences[(physician.pk, "FL")] = [(date(2020, 1, 1), date(2026, 6, 2))]
    response = book_in_person(api(patient), physician)
    assert response.status_code == 422 and response.json()["code"] == "physician_not_licensed"


def test_a_booked_in_person_visit_and_its_buffer_hold_the_physicians_time(api, patient, physician, world, miami):
    world.physician(physician)
    world.patient(patient)
    in_person_hours(physician, miami, WEDNESDAY, time(9), time(11))
    assert book_in_person(api(patient), physician, starts_at="2026-06-03T13:00:00Z").status_code == 201
    # 10:00 would end at 11:00 but the 15-minute buffer after the 9:00 visit holds 10:00-10:15.
    slots = [s["starts_at"] for e in search(api(patient)).json()["results"] for s in e["slots"]]
    assert slots == []


def test_rescheduling_an_in_person_visit_stays_at_its_office(api, patient, physician, office_hours, miami):
    booked = book_in_person(api(patient), physician)
    assert booked.status_code == 201
    url = f"/api/v1/appointments/{booked.json()['id']}/reschedule/"
    # Thursday 13:00 Eastern is Newark time, not Miami's: no hours at this visit's office then.
    moved = api(patient).post(url, {"starts_at": "2026-06-04T17:00:00Z"}, format="json")
    assert moved.status_code == 400 and moved.json()["code"] == "not_on_grid"
    moved = api(patient).post(url, {"starts_at": "2026-06-10T18:00:00Z"}, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["location"]["id"] == str(miami.public_id) and moved.json()["modality"] == "in_person"


# --- reminders and calendar ---------------------------------------------------------------


def test_reminder_names_the_address_and_the_location_time(world, patient, physician, miami):
    world.physician(physician)
    world.patient(patient, tz="America/Chicago")
    start = datetime(2026, 12, 9, 20, 0, tzinfo=UTC)  # 3:00 PM EST in Miami, 2:00 PM CST for the patient
    appointment = AppointmentFactory(
        patient=patient,
        physician=physician,
        starts_at=start,
        location=miami,
        modality="in_person",
        appointment_type=AppointmentType.objects.get(code=IN_PERSON),
    )
    from scheduling.services.reminders import reminders_plan

    reminders_plan(appointment=appointment, now=start - timedelta(days=3), new=True)
    with time_machine.travel(start - timedelta(hours=23), tick=False):
        assert tasks.send_due_reminders() == 2
    expected = "Reminder: your in-person visit is tomorrow at 3:00 PM EST at 200 Biscayne Blvd, Miami, FL 33131."
    assert notifications.sms_outbox[0].body == expected
    assert mail.outbox[0].body == expected and mail.outbox[0].subject == "Your upcoming in-person visit"
    assert patient.last_name not in expected


def test_home_visit_reminder_does_not_name_an_address(miami):
    home = VisitLocationFactory(name="Home visits (Miami-Dade)", kind="home_visit", address_line1="", zip_code="")
    start = datetime(2026, 6, 3, 19, 0, tzinfo=UTC)
    text = reminder_text(starts_at=start, tz=UTC, now=start - timedelta(hours=2), location=home)
    assert text == "Reminder: your in-person visit is today at 3:00 PM EDT at your home."


def test_calendar_event_carries_the_address_and_no_video_link(api, patient, physician, world, miami):
    world.physician(physician)
    appointment = AppointmentFactory(
        patient=patient, physician=physician, starts_at=datetime(2026, 6, 3, 17, tzinfo=UTC), location=miami
    )
    text = api(patient).get(f"/api/v1/appointments/{appointment.public_id}/calendar.ics").content.decode()
    unfolded = text.replace("\r\n ", "")
    assert "SUMMARY:In-person visit" in unfolded
    assert "LOCATION:200 Biscayne Blvd\\, Miami\\, FL 33131" in unfolded
    assert "video.invalid" not in unfolded and patient.last_name not in unfolded


# --- completing the visit ---------------------------------------------------------------


@pytest.fixture
def in_person_visit(world, patient, physician, miami):
    world.physician(physician)
    world.patient(patient, state="FL", tz="America/Chicago")
    # Wednesday 3 June, 22:30 in Miami (02:30 UTC on the 4th): the evaluation's date is the 3rd.
    return AppointmentFactory(
        patient=patient,
        physician=physician,
        starts_at=datetime(2026, 6, 4, 2, 30, tzinfo=UTC),
        location=miami,
        modality="in_person",
        appointment_type=AppointmentType.objects.get(code=IN_PERSON),
    )


def complete(client, appointment, **body):
    body.setdefault("visit_note", "Examined in person.")
    return client.post(f"/api/v1/appointments/{appointment.public_id}/complete/", body, format="json")


def test_completing_an_in_person_visit_needs_the_attestation(api, physician, in_person_visit):
    with time_machine.travel(in_person_visit.starts_at + timedelta(minutes=50), tick=False):
        response = complete(api(physician), in_person_visit)
    assert response.status_code == 400 and response.json()["code"] == "attestation_required"
    assert "attest_in_person" in response.json()["fields"]
    in_person_visit.refresh_from_db()
    assert in_person_visit.status == AppointmentStatus.BOOKED and not InPersonEvaluation.objects.exists()


def test_completing_an_in_person_visit_records_the_evaluation_once(api, physician, patient, in_person_visit, miami):
    with time_machine.travel(in_person_visit.starts_at + timedelta(minutes=50), tick=False):
        client = api(physician)
        response = complete(client, in_person_visit, attest_in_person=True, others_present="Medical assistant")
        assert response.status_code == 200, response.json()
        again = complete(client, in_person_visit, attest_in_person=True)
    body = response.json()
    assert body["status"] == "completed" and body["modality"] == "in_person"
    assert body["patient_state_at_visit"] == "FL"
    assert again.status_code == 409 and again.json()["code"] == "invalid_status"
    evaluation = InPersonEvaluation.objects.get()
    assert evaluation.source == "visit" and evaluation.appointment == in_person_visit
    assert evaluation.patient == patient and evaluation.physician == physician == evaluation.attested_by
    assert evaluation.evaluated_on == date(2026, 6, 3)  # the local date in Miami
    assert evaluation.place_address == "200 Biscayne Blvd, Miami, FL 33131" and evaluation.place_state == "FL"
    assert evaluation.location == miami and not evaluation.home_visit
    assert evaluation.others_present == "Medical assistant"
    assert AuditEvent.objects.filter(object_type="scheduling.inpersonevaluation", action="create").count() == 1
    from scheduling.selectors import latest_in_person_evaluation

    assert latest_in_person_evaluation(patient=patient, physician=physician, on=date(2026, 6, 3)) == evaluation


def test_an_in_person_visit_cannot_be_completed_as_video(api, physician, in_person_visit):
    with time_machine.travel(in_person_visit.starts_at + timedelta(minutes=50), tick=False):
        response = complete(api(physician), in_person_visit, attest_in_person=True, modality="audio_video")
    assert response.status_code == 400 and "modality" in response.json()["fields"]
    assert not InPersonEvaluation.objects.exists()


def test_home_visit_records_the_patients_verified_home_address(api, physician, patient, in_person_visit, monkeypatch):
    home = VisitLocationFactory(name="Home visits", kind="home_visit", address_line1="", zip_code="", city="")
    Appointment.objects.filter(pk=in_person_visit.pk).update(location=home)
    monkeypatch.setattr(contracts, "patient_home_address", lambda p: ("1 Ocean Drive, Miami Beach, FL 33139", "FL"))
    with time_machine.travel(in_person_visit.starts_at + timedelta(minutes=50), tick=False):
        response = complete(api(physician), in_person_visit, attest_in_person=True)
    assert response.status_code == 200, response.json()
    evaluation = InPersonEvaluation.objects.get()
    assert evaluation.home_visit and evaluation.place_address == "1 Ocean Drive, Miami Beach, FL 33139"


# --- practitioner present (21 U.S.C. 802(54)(B)) ---------------------------------------------------


@pytest.fixture
def video_visit(world, patient, physician):
    world.physician(physician)
    world.patient(patient, state="NJ")
    return AppointmentFactory(
        patient=patient, physician=physician, starts_at=datetime(2026, 6, 3, 13, tzinfo=UTC), patient_state="NJ"
    )


PRESENT = {"name": "Pat Rivera, APN", "npi": "1234567893", "dea_number": "AP5836727", "state": "NJ"}


def test_video_visit_records_the_practitioner_present(api, physician, patient, video_visit):
    with time_machine.travel(video_visit.starts_at + timedelta(minutes=20), tick=False):
        response = complete(api(physician), video_visit, practitioner_present=PRESENT)
    assert response.status_code == 200, response.json()
    presence = VisitPractitionerPresence.objects.get()
    assert presence.appointment == video_visit and presence.practitioner_state == "NJ"
    assert presence.practitioner_npi == "1234567893" and not presence.dea_needs_verification
    assert presence.recorded_by == physician
    assert AuditEvent.objects.filter(object_type="scheduling.visitpractitionerpresence").count() == 1
    found = practitioner_present_visits_for(patient_ids=[patient.pk], physician_ids=[physician.pk])
    assert list(found) == [video_visit]


def test_a_dea_checksum_failure_is_kept_and_flagged(api, physician, video_visit):
    with time_machine.travel(video_visit.starts_at + timedelta(minutes=20), tick=False):
        response = complete(api(physician), video_visit, practitioner_present={**PRESENT, "dea_number": "AP5836728"})
    assert response.status_code == 200
    assert VisitPractitionerPresence.objects.get().dea_needs_verification


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"npi": "1234567890"}, "validation_error"),  # Luhn check digit wrong
        ({"dea_number": "A12345678"}, "validation_error"),  # not a DEA number's shape
        ({"state": "FL"}, "practitioner_state_mismatch"),  # the patient was in New Jersey
    ],
)
def test_practitioner_present_is_validated_and_nothing_is_half_written(api, physician, video_visit, change, code):
    with time_machine.travel(video_visit.starts_at + timedelta(minutes=20), tick=False):
        response = complete(api(physician), video_visit, practitioner_present={**PRESENT, **change})
    assert response.status_code == 400 and response.json()["code"] == code
    video_visit.refresh_from_db()
    assert video_visit.status == AppointmentStatus.BOOKED and not VisitPractitionerPresence.objects.exists()


def test_practitioner_present_is_for_video_visits_only(api, physician, in_person_visit):
    with time_machine.travel(in_person_visit.starts_at + timedelta(minutes=50), tick=False):
        response = complete(
            api(physician), in_person_visit, attest_in_person=True, practitioner_present={**PRESENT, "state": "FL"}
        )
    assert response.status_code == 400 and "practitioner_present" in response.json()["fields"]
    assert not InPersonEvaluation.objects.exists() and not VisitPractitionerPresence.objects.exists()


# --- record and void services (called by the physician endpoint) ----------------------------------


@pytest.fixture
def caseload(world, patient, physician):
    world.physician(physician)
    world.patient(patient, state="FL", tz="America/New_York")
    world.assigned[patient.pk] = physician.pk
    return world


def record(actor, patient, **overrides):
    from scheduling.services.evaluations import in_person_evaluation_record

    values = {
        "evaluated_on": date(2026, 5, 20),
        "place_address": "Jackson Memorial Hospital, 1611 NW 12th Ave, Miami, FL 33136",
        "place_state": "FL",
        "others_present": "Nurse",
        **overrides,
    }
    return in_person_evaluation_record(actor=actor, patient=patient, **values)


def test_record_an_evaluation_done_elsewhere(caseload, physician, patient):
    evaluation = record(physician, patient)
    assert evaluation.source == "recorded" and evaluation.appointment is None
    assert evaluation.physician == physician == evaluation.attested_by and evaluation.attested_at == NOW
    assert evaluation.place_state == "FL" and evaluation.others_present == "Nurse"
    assert AuditEvent.objects.filter(object_id=str(evaluation.pk), action="create").count() == 1


def test_record_with_a_location_given_by_public_id(caseload, physician, patient, miami, newark):
    evaluation = record(physician, patient, location=str(miami.public_id), place_address=miami.address_text)
    assert evaluation.location == miami
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        record(physician, patient, location=newark)
    assert "location" in refused.value.message_dict


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"evaluated_on": date(2026, 6, 2)}, "date_in_future"),
        ({"place_state": "NY"}, "state_not_served"),
    ],
)
def test_record_refusals(caseload, physician, patient, overrides, code):
    from api.errors import DomainError

    with pytest.raises(DomainError) as refused:
        record(physician, patient, **overrides)
    assert refused.value.code == code
    assert not InPersonEvaluation.objects.exists()


def test_record_dates_are_judged_in_the_patients_zone(caseload, physician, patient):
    """22:00 EDT on 1 June is 02:00 UTC on the 2nd: 2 June is still the future in Miami."""
    from api.errors import DomainError

    with time_machine.travel(datetime(2026, 6, 2, 2, 0, tzinfo=UTC), tick=False):
        with pytest.raises(DomainError) as refused:
            record(physician, patient, evaluated_on=date(2026, 6, 2))
        assert refused.value.code == "date_in_future"
        assert record(physician, patient, evaluated_on=date(2026, 6, 1)).evaluated_on == date(2026, 6, 1)


def test_record_for_a_patient_off_the_caseload_is_not_found(caseload, other_physician, patient, other_patient):
    from api.errors import NotFound

    caseload.physician(other_physician)
    with pytest.raises(NotFound):
        record(other_physician, patient)
    with pytest.raises(NotFound):
        record(other_physician, other_patient)
    assert not InPersonEvaluation.objects.exists()


def test_void_an_evaluation(caseload, physician, other_physician, patient):
    from api.errors import DomainError, NotFound
    from scheduling.selectors import latest_in_person_evaluation
    from scheduling.services.evaluations import in_person_evaluation_void

    evaluation = record(physician, patient)
    with pytest.raises(NotFound):
        in_person_evaluation_void(actor=other_physician, public_id=evaluation.public_id, reason="Wrong patient")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        in_person_evaluation_void(actor=physician, public_id=evaluation.public_id, reason="  ")
    assert latest_in_person_evaluation(patient=patient, physician=physician, on=date(2026, 6, 1)) == evaluation
    voided = in_person_evaluation_void(actor=physician, public_id=evaluation.public_id, reason="Wrong patient")
    assert voided.voided_at == NOW and voided.void_reason == "Wrong patient"
    assert latest_in_person_evaluation(patient=patient, physician=physician, on=date(2026, 6, 1)) is None
    with pytest.raises(DomainError) as again:
        in_person_evaluation_void(actor=physician, public_id=evaluation.public_id, reason="Again")
    assert again.value.code == "already_voided"
    assert AuditEvent.objects.filter(object_id=str(evaluation.pk), action="update").count() == 1


# --- staff manage locations ---------------------------------------------------------------


def test_staff_create_change_and_deactivate_an_office(api, staff, patient, physician, client):
    body = {
        "name": "Tampa office",
        "address_line1": "100 N Tampa St",
        "city": "Tampa",
        "state": "FL",
        "zip_code": "33602",
        "instructions": "Suite 400.",
    }
    created = api(staff).post("/api/v1/staff/visit-locations/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["time_zone"] == "America/New_York" and created.json()["is_active"] is True
    url = f"/api/v1/staff/visit-locations/{created.json()['id']}/"
    assert [r["name"] for r in client.get("/api/v1/visit-locations/").json()] == ["Tampa office"]
    assert api(staff).patch(url, {"is_active": False}, format="json").json()["is_active"] is False
    assert client.get("/api/v1/visit-locations/").json() == []
    assert len(api(staff).get("/api/v1/staff/visit-locations/").json()) == 1
    # An office needs an address; patients and physicians do not manage offices.
    assert api(staff).patch(url, {"address_line1": ""}, format="json").status_code == 400
    for user in (patient, physician):
        assert (
            api(user).patch(url, {"name": "Mine"}, format="json").status_code == 404
        )  # not their capability: not found
    assert AuditEvent.objects.filter(object_type="scheduling.visitlocation").count() == 2


def test_the_day_strip_and_day_view_of_in_person_visits(api, patient, physician, office_hours):
    # The strip groups in-person slots by the location's local date, like the day view shows them.
    client = api(patient)
    params = {"appointment_type": IN_PERSON, "start": "2026-06-01", "end": "2026-06-07"}
    days = client.get("/api/v1/availability/days/", params).json()["days"]
    assert [d["date"] for d in days if d["available"]] == ["2026-06-03"]
    [wednesday] = [d for d in days if d["available"]]
    assert (wednesday["physicians"], wednesday["earliest_start_utc"]) == (1, "2026-06-03T17:00:00Z")
    body = client.get(SEARCH, {"appointment_type": IN_PERSON, "date": "2026-06-03"}).json()
    [entry] = body["results"]
    assert entry["location"]["name"] == "Miami office" and entry["slots"][0]["starts_at_utc"] == "2026-06-03T17:00:00Z"
