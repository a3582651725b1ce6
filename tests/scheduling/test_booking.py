"""Booking, idempotency, refusals, cancel and reschedule with cutoffs, scoping."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import AuditEvent
from scheduling.models import Appointment, AppointmentStatus, FreeConsultationGrant, Reminder, ReminderStatus
from tests.factories import PatientUserFactory
from tests.scheduling.factories import AppointmentFactory, book

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # Monday 08:00 in New York
SLOT = "2026-06-03T13:00:00Z"  # Wednesday 09:00 EDT


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def setup(world, patient, physician):
    world.physician(physician)
    world.patient(patient)
    world.hours(physician, time(9), time(12))
    return world


def test_booking_a_free_slot_creates_the_appointment_and_its_reminders(api, patient, physician, setup):
    response = book(api(patient), physician)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "booked" and body["appointment_type"] == "free_consultation"
    assert body["starts_at"] == "2026-06-03T13:00:00Z" and body["ends_at"] == "2026-06-03T13:20:00Z"
    appointment = Appointment.objects.get()
    assert appointment.patient_state == "FL"
    kinds = sorted(Reminder.objects.values_list("channel", "kind"))
    assert kinds == [("email", "1h"), ("email", "24h"), ("sms", "1h"), ("sms", "24h")]
    assert AuditEvent.objects.filter(object_id=str(appointment.pk), action="create").count() == 1


def test_retry_with_the_same_idempotency_key_returns_the_same_appointment(api, patient, physician, setup):
    client = api(patient)
    first = book(client, physician)
    again = book(client, physician)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert Appointment.objects.count() == 1


def test_a_retry_is_answered_with_the_first_booking_whatever_has_changed_since(api, patient, physician, setup, frozen):
    """The key is looked up when the booking does not go through, so a retry gets its first
    booking back even when booking again would now be refused: too soon, the physician gone."""
    client = api(patient)
    first = book(client, physician)
    assert first.status_code == 201
    frozen.move_to(datetime(2026, 6, 3, 12, 30, tzinfo=UTC))  # 30 minutes before the slot: too soon
    from tests.conftest import client_for

    client = client_for(patient)  # a token issued at the travelled-to time
    again = book(client, physician)
    assert again.status_code == 200 and again.json() == first.json()
    physician.is_active = False
    physician.save(update_fields=["is_active"])
    assert book(client, physician).json() == first.json()
    assert Appointment.objects.count() == 1


def test_a_first_booking_does_not_look_up_its_key(api, patient, physician, setup):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert book(api(patient), physician).status_code == 201
    lookups = [q["sql"] for q in queries.captured_queries if '"idempotency_key" =' in q["sql"]]
    assert lookups == []


def test_reusing_a_key_for_another_slot_is_a_conflict(api, patient, physician, setup):
    client = api(patient)
    book(client, physician)
    response = book(client, physician, starts_at="2026-06-03T14:00:00Z")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert Appointment.objects.count() == 1


def test_a_slot_taken_a_moment_earlier_is_409_slot_unavailable(api, patient, other_patient, physician, setup):
    setup.patient(other_patient)
    assert book(api(other_patient), physician, key="other-key-1").status_code == 201
    response = book(api(patient), physician)
    assert response.status_code == 409
    assert response.json()["code"] == "slot_unavailable"
    # The buffer after the first visit also blocks an overlapping start.
    response = book(api(patient), physician, starts_at="2026-06-03T13:15:00Z", key="key-00000002")
    assert response.json()["code"] == "slot_unavailable"
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(
    ("starts_at", "status", "code"),
    [
        ("2026-06-03T13:05:00Z", 400, "not_on_grid"),
        ("2026-06-03T02:00:00Z", 400, "not_on_grid"),  # on the grid but outside working hours
        ("2026-05-30T13:00:00Z", 400, "in_the_past"),
        ("2026-06-01T13:00:00Z", 400, "too_soon"),  # inside the 2-hour lead time
    ],
)
def test_bad_times_are_refused_with_stable_codes_and_nothing_saved(
    api, patient, physician, setup, starts_at, status, code
):
    response = book(api(patient), physician, starts_at=starts_at)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert not Appointment.objects.exists() and not Reminder.objects.exists()


def test_physician_not_licensed_for_the_patients_state_is_refused(api, patient, physician, setup):
    setup.licences[(physician.pk, "FL")] = []
    response = book(api(patient), physician)
    assert response.status_code == 422
    assert response.json()["code"] == "physician_not_licensed"
    assert response.json()["reasons"][0]["code"] == "no_licence"
    assert not Appointment.objects.exists()


def test_unknown_physician_and_bad_payload_are_validation_errors(api, patient, setup):
    client = api(patient)
    response = client.post(
        "/api/v1/appointments/",
        {
            "physician": "00000000-0000-0000-0000-000000000000",
            "appointment_type": "free_consultation",
            "starts_at": SLOT,
            "idempotency_key": "key-00000001",
        },
        format="json",
    )
    assert response.status_code == 400 and "physician" in response.json()["fields"]
    response = client.post("/api/v1/appointments/", {"starts_at": "soon"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) >= {"physician", "appointment_type", "starts_at", "idempotency_key"}


def test_follow_up_needs_good_standing(api, patient, physician, setup):
    setup.standing[patient.pk] = setup.standing[patient.pk].__class__(ok=False, status="none", reason="no_subscription")
    response = book(api(patient), physician, appointment_type="follow_up")
    assert response.status_code == 422
    assert response.json()["code"] == "subscription_required"
    setup.standing[patient.pk] = setup.standing[patient.pk].__class__(ok=True, status="active")
    assert book(api(patient), physician, appointment_type="follow_up", key="key-00000002").status_code == 201


def test_second_free_consultation_is_refused_unless_staff_allow_another(api, patient, physician, staff, setup):
    client = api(patient)
    assert book(client, physician).status_code == 201
    response = book(client, physician, starts_at="2026-06-04T13:00:00Z", key="key-00000002")
    assert response.status_code == 422 and response.json()["code"] == "free_consultation_used"
    FreeConsultationGrant.objects.create(patient=patient, granted_by=staff)
    assert book(client, physician, starts_at="2026-06-04T13:00:00Z", key="key-00000003").status_code == 201


def test_cancelled_free_consultation_does_not_use_the_allowance(api, patient, physician, setup):
    client = api(patient)
    first = book(client, physician).json()
    assert client.post(f"/api/v1/appointments/{first['id']}/cancel/").status_code == 200
    assert book(client, physician, starts_at="2026-06-04T13:00:00Z", key="key-00000002").status_code == 201


def test_too_many_future_bookings(api, patient, physician, setup, settings):
    settings.SCHEDULING_MAX_FUTURE_BOOKINGS = 2
    client = api(patient)
    assert book(client, physician, appointment_type="follow_up", key="k-000001").status_code == 201
    assert book(client, physician, "2026-06-04T13:00:00Z", "k-000002", "follow_up").status_code == 201
    response = book(client, physician, "2026-06-05T13:00:00Z", "k-000003", "follow_up")
    assert response.status_code == 422 and response.json()["code"] == "too_many_bookings"
    assert Appointment.objects.count() == 2


def test_physician_at_cap_refuses_a_new_patients_free_consultation(api, patient, other_patient, physician, setup):
    setup.physicians[physician.pk] = ("America/New_York", True, 1, "")
    setup.assigned[other_patient.pk] = physician.pk
    response = book(api(patient), physician)
    assert response.status_code == 422 and response.json()["code"] == "physician_not_accepting"


def test_only_patients_book(api, physician, staff, setup):
    assert book(api(physician), physician).status_code == 403
    assert book(api(staff), physician).status_code == 403


# --- cancel and reschedule ------------------------------------------------------------


def _booked(api, patient, physician, starts_at=SLOT):
    return book(api(patient), physician, starts_at=starts_at).json()["id"]


def test_patient_cancels_before_the_cutoff_and_reminders_are_dropped(api, patient, physician, setup):
    appointment_id = _booked(api, patient, physician)
    response = api(patient).post(f"/api/v1/appointments/{appointment_id}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert set(Reminder.objects.values_list("status", flat=True)) == {ReminderStatus.CANCELLED}
    # The slot is free again.
    newcomer = setup.patient(PatientUserFactory())
    assert book(api(newcomer), physician, key="newcomer-key").status_code == 201


def test_patient_cannot_cancel_inside_the_cutoff_but_the_physician_can(api, patient, physician, setup, frozen):
    appointment_id = _booked(api, patient, physician)
    frozen.move_to(datetime(2026, 6, 2, 14, 0, tzinfo=UTC))  # 23 hours before
    response = api(patient).post(f"/api/v1/appointments/{appointment_id}/cancel/")
    assert response.status_code == 409 and response.json()["code"] == "cutoff_passed"
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED
    assert api(physician).post(f"/api/v1/appointments/{appointment_id}/cancel/").status_code == 200


def test_staff_cancel_any_time(api, patient, physician, staff, setup, frozen):
    appointment_id = _booked(api, patient, physician)
    frozen.move_to(datetime(2026, 6, 3, 12, 30, tzinfo=UTC))
    assert api(staff).post(f"/api/v1/appointments/{appointment_id}/cancel/").status_code == 200


def test_cancelling_twice_is_a_conflict(api, patient, physician, setup):
    appointment_id = _booked(api, patient, physician)
    api(patient).post(f"/api/v1/appointments/{appointment_id}/cancel/")
    response = api(patient).post(f"/api/v1/appointments/{appointment_id}/cancel/")
    assert response.status_code == 409 and response.json()["code"] == "invalid_status"


def test_reschedule_moves_the_visit_and_replans_reminders(api, patient, physician, other_patient, setup):
    appointment_id = _booked(api, patient, physician)
    before = dict(Reminder.objects.values_list("kind", "due_at").filter(channel="email"))
    response = api(patient).post(
        f"/api/v1/appointments/{appointment_id}/reschedule/", {"starts_at": "2026-06-04T14:00:00Z"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["starts_at"] == "2026-06-04T14:00:00Z" and response.json()["reschedule_count"] == 1
    after = dict(Reminder.objects.values_list("kind", "due_at").filter(channel="email"))
    assert after["24h"] == before["24h"] + timedelta(days=1, hours=1)
    assert Reminder.objects.filter(status="pending").count() == 4
    # The old slot is free for someone else.
    setup.patient(other_patient)
    assert book(api(other_patient), physician, key="other-key-1").status_code == 201


def test_reschedule_to_a_taken_or_off_grid_slot_is_refused(api, patient, other_patient, physician, setup):
    setup.patient(other_patient)
    book(api(other_patient), physician, starts_at="2026-06-04T13:00:00Z", key="other-key-1")
    appointment_id = _booked(api, patient, physician)
    client = api(patient)
    url = f"/api/v1/appointments/{appointment_id}/reschedule/"
    assert client.post(url, {"starts_at": "2026-06-04T13:00:00Z"}, format="json").json()["code"] == "slot_unavailable"
    assert client.post(url, {"starts_at": "2026-06-04T13:07:00Z"}, format="json").json()["code"] == "not_on_grid"
    assert Appointment.objects.get(public_id=appointment_id).starts_at == datetime(2026, 6, 3, 13, tzinfo=UTC)


def test_reschedule_within_its_own_buffer_is_allowed(api, patient, physician, setup):
    appointment_id = _booked(api, patient, physician)
    response = api(patient).post(
        f"/api/v1/appointments/{appointment_id}/reschedule/", {"starts_at": "2026-06-03T13:15:00Z"}, format="json"
    )
    assert response.status_code == 200


def test_patient_reschedule_inside_the_cutoff_is_refused(api, patient, physician, setup, frozen):
    appointment_id = _booked(api, patient, physician)
    frozen.move_to(datetime(2026, 6, 2, 14, 0, tzinfo=UTC))
    response = api(patient).post(
        f"/api/v1/appointments/{appointment_id}/reschedule/", {"starts_at": "2026-06-04T14:00:00Z"}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "cutoff_passed"


# --- reads and scoping ----------------------------------------------------------------


def test_lists_are_scoped_by_role_and_audited(api, patient, other_patient, physician, other_physician, staff, setup):
    mine = AppointmentFactory(patient=patient, physician=physician, starts_at=datetime(2026, 6, 3, 13, tzinfo=UTC))
    theirs = AppointmentFactory(
        patient=other_patient, physician=other_physician, starts_at=datetime(2026, 6, 3, 13, tzinfo=UTC)
    )

    def ids(user):
        return {r["id"] for r in api(user).get("/api/v1/appointments/").json()["results"]}

    assert ids(patient) == {str(mine.public_id)}
    assert ids(physician) == {str(mine.public_id)}
    assert ids(staff) == {str(mine.public_id), str(theirs.public_id)}
    assert AuditEvent.objects.filter(actor=staff, action="read").count() == 2


def test_other_peoples_appointments_are_404(api, patient, other_patient, physician, other_physician, setup):
    appointment = AppointmentFactory(
        patient=patient, physician=physician, starts_at=datetime(2026, 6, 3, 13, tzinfo=UTC)
    )
    for outsider in (other_patient, other_physician):
        client = api(outsider)
        assert client.get(f"/api/v1/appointments/{appointment.public_id}/").status_code == 404
        assert client.post(f"/api/v1/appointments/{appointment.public_id}/cancel/").status_code == 404
        assert client.get(f"/api/v1/appointments/{appointment.public_id}/join/").status_code == 404
    assert api(patient).get(f"/api/v1/appointments/{appointment.public_id}/").status_code == 200
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED


def test_list_query_count_does_not_grow(api, physician, django_assert_max_num_queries, setup):
    for day in range(2, 12):
        AppointmentFactory(physician=physician, starts_at=datetime(2026, 6, day, 13, tzinfo=UTC))
    with django_assert_max_num_queries(8):
        response = api(physician).get("/api/v1/appointments/")
    assert response.json()["count"] == 10


@pytest.mark.django_db(transaction=True)
def test_booking_statement_budget(api, patient, physician, setup):
    """The write budget: the request as production runs it (its transaction the outermost, so no
    test SAVEPOINT), the signed-in user's row included; the transaction's own BEGIN/COMMIT (logged
    on SQLite only) are not statements of the work."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scheduling.selectors import appointment_type_get

    client = api(patient)
    # The patient searched availability before booking, which cached the appointment types (rows
    # changed only in the admin: scheduling/appointment_types.py); the booking reads none.
    appointment_type_get(code="free_consultation")
    with CaptureQueriesContext(connection) as queries:
        assert book(client, physician).status_code == 201
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN IMMEDIATE", "BEGIN", "COMMIT")]
    # The caseload row's version bump (docs/caseload.md#invalidation) is in; the patient's
    # notification choices come with the lock.
    assert len(statements) <= 10, "\n".join(s[:160] for s in statements)
    assert not [s for s in statements if s.startswith('SELECT "scheduling_appointmenttype"')]
    assert not [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE"))]


# --- the overlap check's reach (scheduling.models.LONGEST_VISIT_MINUTES / LONGEST_BUFFER_MINUTES) --


def test_the_overlap_check_reaches_the_longest_visit_and_its_longest_buffer(physician):
    from django.utils import timezone

    from scheduling.errors import SlotUnavailable
    from scheduling.services.booking import _refuse_overlap
    from scheduling.slots import Interval

    start = timezone.now().replace(second=0, microsecond=0) + timedelta(days=3)
    AppointmentFactory(physician=physician, starts_at=start, ends_at=start + timedelta(minutes=240), buffer_minutes=120)
    free_from = start + timedelta(minutes=240 + 120)
    with pytest.raises(SlotUnavailable):  # starts six hours before, still holds the last minute
        _refuse_overlap(
            physician=physician,
            held=Interval(free_from - timedelta(minutes=1), free_from + timedelta(minutes=20)),
            exclude_appointment_id=None,
        )
    _refuse_overlap(  # the minute its buffer ends is free
        physician=physician, held=Interval(free_from, free_from + timedelta(minutes=20)), exclude_appointment_id=None
    )


@pytest.mark.parametrize(("minutes", "buffer"), [(241, 10), (30, 121)])
def test_a_visit_longer_or_with_a_longer_buffer_than_any_type_is_refused_by_the_database(physician, minutes, buffer):
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    start = timezone.now().replace(microsecond=0) + timedelta(days=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentFactory(
            physician=physician, starts_at=start, ends_at=start + timedelta(minutes=minutes), buffer_minutes=buffer
        )
