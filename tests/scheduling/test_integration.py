"""The same flows against the real apps: practice licences and profiles, patients' profiles and
caseload, billing's standing, prescriptions' status. PostgreSQL: concurrency and the exclusion
constraint."""

import threading
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from scheduling.models import Appointment, AppointmentStatus, WeeklyAvailability
from tests.billing.factories import SubscriptionFactory
from tests.factories import PatientUserFactory, PhysicianUserFactory
from tests.patients.factories import PatientProfileFactory, QuestionnaireFactory, SafetyFlagFactory
from tests.practice.factories import PhysicianProfileFactory, StateLicenseFactory
from tests.scheduling.factories import AppointmentFactory, book

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def make_physician(user=None, *, states=("FL",), expires=date(2027, 12, 31), tz="America/New_York", **profile):
    user = user or PhysicianUserFactory()
    PhysicianProfileFactory(user=user, time_zone=tz, **profile)
    for state in states:
        StateLicenseFactory(physician=user, state=state, expires_on=expires)
    for weekday in range(7):
        WeeklyAvailability.objects.create(physician=user, weekday=weekday, start_time=time(9), end_time=time(12))
    return user


def make_patient(user=None, **profile):
    from practice.models import County

    # A transactional test elsewhere may have flushed the counties (a data migration).
    County.objects.get_or_create(fips="12086", defaults={"name": "Miami-Dade", "state": "FL"})
    user = user or PatientUserFactory()
    PatientProfileFactory(user=user, **profile)
    return user


def search(client, **params):
    params.setdefault("appointment_type", "free_consultation")
    return client.get("/api/v1/availability/", params).json()


def test_licence_expiring_mid_window_with_real_licences(api, patient, physician, frozen):
    make_physician(physician, expires=date(2026, 6, 3))
    make_patient(patient)
    body = search(api(patient), start="2026-06-02", end="2026-06-06")
    days = sorted({s["starts_at"][:10] for r in body["results"] for s in r["slots"]})
    assert days == ["2026-06-02", "2026-06-03"]
    response = book(api(patient), physician, starts_at="2026-06-04T13:00:00Z")
    assert response.status_code == 422 and response.json()["code"] == "physician_not_licensed"
    assert response.json()["reasons"][0]["code"] == "licence_expired"
    assert not Appointment.objects.exists()


def test_central_time_patient_in_escambia_and_eastern_physician(api, patient, physician, frozen):
    make_physician(physician)
    make_patient(patient, county_id="12033", zip_code="32501", city="Pensacola", time_zone="America/Chicago")
    body = search(api(patient), start="2026-06-02", end="2026-06-02")
    assert body["time_zone"] == "America/Chicago"
    assert body["results"][0]["slots"][0]["starts_at"] == "2026-06-02T08:00:00-05:00"


def test_new_jersey_patient_is_not_offered_a_florida_only_physician(api, patient, physician, other_physician, frozen):
    make_physician(physician, states=("FL",))
    make_physician(other_physician, states=("NJ",))
    make_patient(patient, state="NJ", county_id="34013", zip_code="07102", city="Newark")
    body = search(api(patient), start="2026-06-02", end="2026-06-02")
    assert [r["physician"]["id"] for r in body["results"]] == [str(other_physician.public_id)]
    response = book(api(patient), physician)
    assert response.status_code == 422 and response.json()["code"] == "physician_not_licensed"


def test_prospective_patient_by_zip_uses_the_service_area(anon_client, physician, frozen):
    make_physician(physician)
    body = search(anon_client, start="2026-06-02", end="2026-06-02", zip="32501")
    assert body["state"] == "FL" and body["time_zone"] == "America/Chicago"
    assert body["results"][0]["slots"][0]["starts_at"].endswith("-05:00")
    outside = anon_client.get("/api/v1/availability/", {"start": "2026-06-02", "end": "2026-06-02", "zip": "10001"})
    assert outside.status_code == 400 and outside.json()["code"] == "location_not_served"


def test_caseload_cap_with_real_profiles(api, patient, other_patient, physician, frozen):
    make_physician(physician, new_patient_cap=1)
    make_patient(patient)
    make_patient(other_patient, assigned_physician=physician)
    assert search(api(patient), start="2026-06-02", end="2026-06-02")["results"] == []
    assert len(search(api(other_patient), start="2026-06-02", end="2026-06-02")["results"]) == 1


def test_follow_up_needs_a_real_active_subscription(api, patient, physician, frozen):
    make_physician(physician)
    make_patient(patient, assigned_physician=physician)
    response = book(api(patient), physician, appointment_type="follow_up")
    assert response.status_code == 422 and response.json()["code"] == "subscription_required"
    SubscriptionFactory(customer__patient=patient)
    assert book(api(patient), physician, appointment_type="follow_up", key="key-00000002").status_code == 201


def test_a_follow_up_judges_the_current_subscription_read_with_the_limits(api, patient, physician, frozen, settings):
    """Good standing is judged from the subscription columns of the booking's limits statement:
    past due within the grace days books, past them it is refused with the billing reason; an
    active subscription newer than a canceled one speaks for the patient."""
    settings.BILLING_PAST_DUE_GRACE_DAYS = 7
    make_physician(physician)
    make_patient(patient, assigned_physician=physician)
    old = SubscriptionFactory(customer__patient=patient, status="canceled")
    late = SubscriptionFactory(
        customer=old.customer, status="past_due", past_due_since=NOW - timedelta(days=8), stripe_created_at=NOW
    )
    response = book(api(patient), physician, appointment_type="follow_up")
    assert response.status_code == 422 and response.json()["code"] == "subscription_required"
    assert response.json()["reasons"][0]["code"] == "payment_past_due"
    late.past_due_since = NOW - timedelta(days=2)
    late.save()
    assert book(api(patient), physician, appointment_type="follow_up", key="key-00000002").status_code == 201


def test_an_inactive_licence_is_refused_with_its_reason(api, patient, physician, frozen):
    """The limits statement's licence answer is a no; the reasons are the rule's own."""
    make_physician(physician)
    physician.state_licences.update(status="suspended")
    make_patient(patient)
    response = book(api(patient), physician)
    assert response.status_code == 422 and response.json()["code"] == "physician_not_licensed"
    assert [r["code"] for r in response.json()["reasons"]] == ["licence_inactive"]
    assert not Appointment.objects.exists()


def test_completing_a_free_consultation_assigns_the_patient(api, patient, physician):
    make_physician(physician)
    make_patient(patient)
    start = datetime(2026, 6, 3, 13, tzinfo=UTC)
    appointment = AppointmentFactory(patient=patient, physician=physician, starts_at=start)
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        response = api(physician).post(
            f"/api/v1/appointments/{appointment.public_id}/complete/", {"visit_note": "ok"}, format="json"
        )
    assert response.status_code == 200 and response.json()["patient_state_at_visit"] == "FL"
    patient.patient_profile.refresh_from_db()
    assert patient.patient_profile.assigned_physician_id == physician.pk


def _caseload(physician, n, *, first=0):
    for i in range(first, first + n):
        p = make_patient(assigned_physician=physician)
        QuestionnaireFactory(patient=p, instrument="phq9", answers=[2] * 9)
        QuestionnaireFactory(patient=p, instrument="gad7", answers=[1] * 7)
        SafetyFlagFactory(patient=p)
        SubscriptionFactory(customer__patient=p)
        AppointmentFactory(patient=p, physician=physician, starts_at=NOW + timedelta(days=2, hours=i))


def test_caseload_lists_the_physicians_patients_in_constant_queries(api, physician, other_physician, frozen):
    make_physician(physician)
    client = api(physician)
    _caseload(physician, 3)
    make_patient(assigned_physician=other_physician)
    with CaptureQueriesContext(connection) as small:
        body = client.get("/api/v1/physician/caseload/").json()
    assert body["count"] == 3
    row = body["results"][0]
    assert row["phq9"]["score"] == 18 and row["phq9"]["band"] == "moderately_severe"
    assert row["gad7"]["score"] == 7
    assert row["open_safety_flags"] == 1
    assert row["subscription"]["ok"] is True
    assert row["next_appointment_at"] is not None and row["last_visit_at"] is None
    assert "prescription_status" in row
    assert AuditEvent.objects.filter(actor=physician, detail="caseload").count() == 3
    _caseload(physician, 27, first=3)
    with CaptureQueriesContext(connection) as large:
        body = client.get("/api/v1/physician/caseload/", {"page_size": 50}).json()
    assert body["count"] == 30 and len(body["results"]) == 30
    assert len(large) == len(small)


def test_caseload_is_for_physicians_only(api, patient, staff):
    assert api(patient).get("/api/v1/physician/caseload/").status_code == 403
    assert api(staff).get("/api/v1/physician/caseload/").status_code == 403


# --- PostgreSQL -----------------------------------------------------------------------


def test_exclusion_constraint_refuses_overlapping_rows_whatever_the_code_does(on_postgres, physician):
    start = datetime(2026, 6, 3, 13, tzinfo=UTC)
    AppointmentFactory(physician=physician, starts_at=start)
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentFactory(physician=physician, starts_at=start + timedelta(minutes=10))
    # Cancelled visits do not hold the time; back-to-back visits do not overlap.
    AppointmentFactory(physician=physician, starts_at=start + timedelta(minutes=5), status=AppointmentStatus.CANCELLED)
    AppointmentFactory(physician=physician, starts_at=start + timedelta(minutes=20))
    assert Appointment.objects.filter(physician=physician).count() == 3


@pytest.mark.django_db(transaction=True)
def test_ten_threads_booking_the_same_slot_give_one_appointment(on_postgres, api):
    from tests.conftest import client_for

    with time_machine.travel(NOW, tick=False):
        physician = make_physician()
        patients = [make_patient() for _ in range(10)]
        clients = [client_for(p) for p in patients]
        barrier = threading.Barrier(10)
        results: list[tuple[int, str]] = []

        def attempt(client, i):
            try:
                barrier.wait()
                response = book(client, physician, key=f"thread-key-{i:03d}")
                results.append((response.status_code, response.json().get("code", "")))
            finally:
                connection.close()

        threads = [threading.Thread(target=attempt, args=(c, i)) for i, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    statuses = sorted(s for s, _ in results)
    assert statuses == [201] + [409] * 9
    assert {code for s, code in results if s == 409} == {"slot_unavailable"}
    assert Appointment.objects.filter(physician=physician).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_constraint_alone_turns_a_race_into_409(on_postgres, monkeypatch):
    """Even if the application check is skipped (as if two checks ran before either insert),
    the database refuses the second booking and the API answers 409, not 500."""
    from scheduling.services import booking

    with time_machine.travel(NOW, tick=False):
        physician = make_physician()
        first, second = make_patient(), make_patient()
        from tests.conftest import client_for

        assert book(client_for(first), physician).status_code == 201
        original = booking._check_slot

        def without_busy_check(**kw):
            Appointment.objects.filter(physician=physician).update(buffer_minutes=0)
            kw["exclude_appointment_id"] = Appointment.objects.get(physician=physician).pk
            return original(**kw)

        monkeypatch.setattr(booking, "_check_slot", without_busy_check)
        response = book(client_for(second), physician, key="second-key-01")
    assert response.status_code == 409 and response.json()["code"] == "slot_unavailable"
    assert Appointment.objects.filter(physician=physician).count() == 1


def test_availability_with_real_licences_costs_the_same_for_5_and_50_physicians(
    api, patient, frozen, django_capture_on_commit_callbacks, types_cached
):
    make_patient(patient)
    client = api(patient)
    params = {"start": "2026-06-02", "end": "2026-06-15", "appointment_type": "free_consultation", "page_size": 100}
    for _ in range(5):
        make_physician(new_patient_cap=10)
    with CaptureQueriesContext(connection) as small:
        assert client.get("/api/v1/availability/", params).json()["count"] == 5
    with django_capture_on_commit_callbacks(execute=True):  # new physicians show once committed
        for _ in range(45):
            make_physician(new_patient_cap=10)
    with CaptureQueriesContext(connection) as large:
        assert client.get("/api/v1/availability/", params).json()["count"] == 50
    assert len(large) == len(small) <= 15


def test_the_strip_and_day_view_with_real_rows_cost_the_same_for_5_and_50_physicians(
    api, patient, frozen, django_capture_on_commit_callbacks, types_cached
):
    """The twin of test_availability_days' constant-queries test, every contract real: the
    licences, profiles and caps the day strip and the day view read (docs/availability.md)."""
    make_patient(patient)
    client = api(patient)
    strip = {"start": "2026-06-02", "end": "2026-06-15", "appointment_type": "free_consultation"}
    day = {"date": "2026-06-02", "appointment_type": "free_consultation", "page_size": 100}

    def both(expected):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/availability/days/", strip).json()["days"][0]["physicians"] == expected
            assert client.get("/api/v1/availability/", day).json()["count"] == expected
        return len(queries)

    for _ in range(5):
        make_physician(new_patient_cap=10)
    small = both(5)
    with django_capture_on_commit_callbacks(execute=True):  # new physicians show once committed
        for _ in range(45):
            make_physician(new_patient_cap=10)
    assert both(50) == small


def test_availability_is_throttled(anon_client, monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle

    cache.clear()
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"availability": "2/min"})
    params = {"start": "2026-06-02", "end": "2026-06-03", "zip": "32501"}
    codes = [anon_client.get("/api/v1/availability/", params).status_code for _ in range(3)]
    assert codes[:2] == [200, 200] and codes[2] == 429


def test_prospective_patient_searches_with_their_assessment(anon_client, physician, frozen):
    import hashlib
    import uuid

    from patients.models import Assessment

    make_physician(physician)
    assessment = Assessment.objects.create(
        date_of_birth=date(1990, 1, 1),
        zip_code="32501",
        state="FL",
        county_id="12033",
        time_zone="America/Chicago",
        outcome="likely_eligible",
        claim_token_hash=hashlib.sha256(b"the-claim-token").hexdigest(),
    )
    body = search(
        anon_client,
        start="2026-06-02",
        end="2026-06-02",
        assessment=str(assessment.public_id),
        assessment_token="the-claim-token",
    )
    assert body["state"] == "FL" and body["time_zone"] == "America/Chicago"
    assert body["results"][0]["slots"][0]["starts_at"] == "2026-06-02T08:00:00-05:00"
    unknown = anon_client.get(
        "/api/v1/availability/", {"start": "2026-06-02", "end": "2026-06-02", "assessment": str(uuid.uuid4())}
    )
    assert unknown.status_code == 400 and unknown.json()["code"] == "location_not_served"


def test_in_person_evaluation_with_the_real_apps(api, patient, physician, frozen, django_capture_on_commit_callbacks):
    """A Florida member books the Miami office of a physician licensed in Florida, the physician
    completes it with the attestation, and the evaluation stands for the prescribing basis; the
    home address comes from the verified profile for a home visit."""
    from scheduling.models import AppointmentType, InPersonEvaluation
    from scheduling.selectors import latest_in_person_evaluation
    from tests.scheduling.factories import VisitLocationFactory

    AppointmentType.objects.get_or_create(
        code="in_person_evaluation",
        defaults={"name": "In-person evaluation", "duration_minutes": 60, "buffer_minutes": 15, "in_person": True},
    )
    miami = VisitLocationFactory()
    make_physician(physician, states=("FL",))
    WeeklyAvailability.objects.create(
        physician=physician, location=miami, weekday=2, start_time=time(13), end_time=time(16)
    )
    make_patient(patient, assigned_physician=physician)
    SubscriptionFactory(customer__patient=patient)
    body = search(api(patient), appointment_type="in_person_evaluation", start="2026-06-03", end="2026-06-03")
    [entry] = body["results"]
    assert entry["location"]["id"] == str(miami.public_id)
    assert entry["slots"][0]["starts_at"] == "2026-06-03T13:00:00-04:00"
    with django_capture_on_commit_callbacks(execute=True):
        booked = book(
            api(patient),
            physician,
            starts_at=entry["slots"][0]["starts_at_utc"],
            appointment_type="in_person_evaluation",
        )
    assert booked.status_code == 201, booked.json()
    visit = Appointment.objects.get(public_id=booked.json()["id"])
    with time_machine.travel(visit.starts_at + timedelta(minutes=55), tick=False):
        done = api(physician).post(
            f"/api/v1/appointments/{visit.public_id}/complete/",
            {"visit_note": "Examined.", "attest_in_person": True, "others_present": "Medical assistant"},
            format="json",
        )
    assert done.status_code == 200, done.json()
    evaluation = InPersonEvaluation.objects.get(appointment=visit)
    assert evaluation.evaluated_on == date(2026, 6, 3) and evaluation.place_state == "FL"
    assert latest_in_person_evaluation(patient=patient, physician=physician, on=date(2026, 6, 3)) == evaluation
    from scheduling import contracts

    address, state = contracts.patient_home_address(patient)
    assert state == "FL" and address.startswith("1 Ocean Drive")


@pytest.mark.django_db(transaction=True)
def test_one_patient_booking_free_consultations_with_three_physicians_in_parallel_gets_one(on_postgres, api):
    """The booking lock is per physician; the patient's row is locked too, so three parallel
    requests for three physicians' free consultations give exactly one visit."""
    from tests.conftest import client_for

    with time_machine.travel(NOW, tick=False):
        physicians = [make_physician() for _ in range(3)]
        patient = make_patient()
        clients = [client_for(patient) for _ in physicians]
        barrier = threading.Barrier(3)
        results: list[tuple[int, str]] = []

        def attempt(client, physician, i):
            try:
                barrier.wait()
                response = book(client, physician, key=f"parallel-free-{i:03d}")
                results.append((response.status_code, response.json().get("code", "")))
            finally:
                connection.close()

        threads = [
            threading.Thread(target=attempt, args=(c, p, i))
            for i, (c, p) in enumerate(zip(clients, physicians, strict=True))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sorted(results) == [(201, ""), (422, "free_consultation_used"), (422, "free_consultation_used")]
    assert Appointment.objects.filter(patient=patient).count() == 1
