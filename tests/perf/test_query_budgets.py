"""Query budgets (docs/performance.md): a list costs the same number of queries for one row as for fifty.

The list endpoints are found from the URL resolver: every API route whose view is a paginated
GenericAPIView answering GET. Each has a case below that builds more than 50 rows visible to
the role that reads it (with the apps' own test factories); a new list route without a case
fails `test_every_paginated_list_route_has_a_budget`, so nobody adds a list without a budget.

A failure here is an N+1 query: the message lists the queries of both requests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.generics import GenericAPIView

from scheduling import caseload
from tests.conftest import client_for
from tests.factories import PhysicianUserFactory, StaffUserFactory

N = 51  # more rows than the large page, so the page of 50 is full
BIG, SMALL = 50, 1


# --- the routes ------------------------------------------------------------------------------
def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), f"{namespace}{p.name}" if p.name else None, p.callback


def paginated_list_routes() -> dict[str, str]:
    """Route name -> pattern of every API route whose GET answers a paginated list."""
    routes = {}
    for pattern, name, callback in _walk(get_resolver().url_patterns):
        cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if not pattern.startswith("api/v1/") or cls is None or not hasattr(cls, "get"):
            continue
        if issubclass(cls, GenericAPIView) and getattr(cls, "pagination_class", None) is not None:
            routes[name] = pattern
    return routes


# --- the world each case builds on ------------------------------------------------------------
@dataclass
class World:
    physician: object
    staff: object
    patient: object  # on the physician's caseload, Florida


@pytest.fixture
def world(db):
    from tests.patients.factories import PatientProfileFactory
    from tests.practice.factories import PhysicianProfileFactory

    physician = PhysicianUserFactory()
    PhysicianProfileFactory(user=physician)
    patient = PatientProfileFactory(assigned_physician=physician).user
    return World(physician=physician, staff=StaffUserFactory(), patient=patient)


def _caseload(w: World, n: int = N) -> list:
    from tests.patients.factories import PatientProfileFactory

    return [PatientProfileFactory(assigned_physician=w.physician).user for _ in range(n)]


def _subscription(patient):
    from tests.billing.factories import StripeCustomerFactory, SubscriptionFactory

    return SubscriptionFactory(customer=StripeCustomerFactory(patient=patient))


def _signed(w: World, n: int = N, patient=None) -> list:
    from tests.prescriptions.factories import SignedPrescriptionFactory, licensed_pharmacy

    pharmacy = licensed_pharmacy("FL", "NJ")
    return [
        SignedPrescriptionFactory(patient=patient or w.patient, physician=w.physician, pharmacy=pharmacy)
        for _ in range(n)
    ]


def _orders(w: World, n: int = N) -> list:
    from tests.prescriptions.factories import DeliveryOrderFactory

    rx = _signed(w, 1)[0]
    return [DeliveryOrderFactory(prescription=rx, sequence=i + 1) for i in range(n)]


def _questionnaires(patient, n: int = N) -> None:
    from tests.patients.factories import QuestionnaireFactory

    now = timezone.now()
    for i in range(n):
        QuestionnaireFactory(patient=patient, taken_at=now - timedelta(hours=i), is_baseline=i == n - 1)


def _vitals(patient, n: int = N) -> None:
    from patients.models import VitalReading

    now = timezone.now()
    VitalReading.objects.bulk_create(
        VitalReading(patient=patient, measured_at=now - timedelta(hours=i), systolic=120, diastolic=80)
        for i in range(n)
    )


def _appointments(w: World, n: int = N) -> None:
    from tests.scheduling.factories import AppointmentFactory

    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    for i in range(n):
        AppointmentFactory(patient=w.patient, physician=w.physician, starts_at=start + timedelta(hours=i))


# Each case: (route name, role) -> builder(world) returning (user, url kwargs, minimum rows expected[, query]).
Case = Callable[[World], tuple]


def case_invoices(w):
    from tests.billing.factories import InvoiceFactory

    subscription = _subscription(w.patient)
    for i in range(N):
        InvoiceFactory(subscription=subscription, stripe_created_at=timezone.now() - timedelta(days=i))
    return w.patient, {}, N


def case_staff_invoices(w):
    from tests.billing.factories import InvoiceFactory

    InvoiceFactory.create_batch(N)
    return w.staff, {}, N


def case_staff_subscriptions(w):
    from tests.billing.factories import SubscriptionFactory

    SubscriptionFactory.create_batch(N)
    return w.staff, {}, N


def case_staff_past_due(w):
    from tests.billing.factories import SubscriptionFactory

    SubscriptionFactory.create_batch(N, status="past_due", past_due_since=timezone.now() - timedelta(days=2))
    return w.staff, {}, N


def case_counties(w):
    return w.patient, {}, 67  # loaded by a migration: 67 Florida + 21 New Jersey counties


def case_staff_physicians(w):
    from tests.practice.factories import DEARegistrationFactory, PhysicianProfileFactory, StateLicenseFactory

    for _ in range(N):
        user = PhysicianProfileFactory().user
        StateLicenseFactory(physician=user)
        DEARegistrationFactory(physician=user)
    return w.staff, {}, N


def case_licences(w):
    from tests.practice.factories import StateLicenseFactory

    StateLicenseFactory.create_batch(N, physician=w.physician)
    return w.staff, {"physician_id": w.physician.public_id}, N


def case_dea(w):
    from tests.practice.factories import DEARegistrationFactory

    DEARegistrationFactory.create_batch(N, physician=w.physician, status="expired")
    return w.staff, {"physician_id": w.physician.public_id}, N


def case_cds(w):
    from tests.practice.factories import NJCDSRegistrationFactory

    NJCDSRegistrationFactory.create_batch(N, physician=w.physician, status="expired")
    return w.staff, {"physician_id": w.physician.public_id}, N


def case_consents(w):
    return w.patient, {}, 2  # the current consent documents (a handful, from a migration)


def case_questionnaires(w):
    _questionnaires(w.patient)
    return w.patient, {}, N


def case_vitals(w):
    _vitals(w.patient)
    return w.patient, {}, N


def case_safety_flags(w):
    from tests.patients.factories import SafetyFlagFactory

    for patient in _caseload(w):
        SafetyFlagFactory(patient=patient)
    return w.physician, {}, N


def case_care_team_questionnaires(w):
    _questionnaires(w.patient)
    return w.physician, {"patient_id": w.patient.public_id}, N


def case_care_team_vitals(w):
    _vitals(w.patient)
    return w.physician, {"patient_id": w.patient.public_id}, N


def case_care_team_screenings(w):
    from patients.models import Screening

    now = timezone.now()
    Screening.objects.bulk_create(
        Screening(patient=w.patient, source="physician", screened_at=now - timedelta(days=i), recorded_by=w.physician)
        for i in range(N)
    )
    return w.physician, {"patient_id": w.patient.public_id}, N


def case_care_team_contraindications(w):
    from patients.models import Contraindication

    today = timezone.localdate()
    Contraindication.objects.bulk_create(
        Contraindication(patient=w.patient, code=f"item_{i}", severity="review", source="assessment", source_date=today)
        for i in range(N)
    )
    return w.physician, {"patient_id": w.patient.public_id}, N


def case_review_assessments(w):
    from patients.models import Assessment

    Assessment.objects.bulk_create(
        Assessment(
            date_of_birth=dt.date(1980, 1, 1),
            zip_code="33139",
            state="FL",
            county_id="12086",
            outcome="needs_review",
            claim_token_hash=f"{i:064d}",
        )
        for i in range(N)
    )
    return w.staff, {}, N


def case_review_registrations(w):
    from tests.patients.factories import PatientProfileFactory

    PatientProfileFactory.create_batch(N, assigned_physician=None)
    return w.staff, {}, N


def case_appointments_patient(w):
    _appointments(w)
    return w.patient, {}, N


def case_appointments_physician(w):
    _appointments(w)
    return w.physician, {}, N


def case_appointments_staff(w):
    _appointments(w)
    return w.staff, {}, N


def case_caseload(w):
    from outcomes.models import HeadacheDiaryEntry
    from tests.patients.factories import QuestionnaireFactory, SafetyFlagFactory
    from tests.scheduling.factories import AppointmentFactory
    from tests.treatment.conftest import dosing_session

    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    for i, patient in enumerate(_caseload(w)):
        _subscription(patient)
        QuestionnaireFactory(patient=patient, is_baseline=True)
        if i % 3 == 0:
            SafetyFlagFactory(patient=patient)
        AppointmentFactory(patient=patient, physician=w.physician, starts_at=start + timedelta(hours=i))
        if i % 4 == 0:  # the treatment and headache columns (scheduling/caseload_columns.py)
            rx = _signed(w, 1, patient=patient)[0]
            dosing_session(rx, at=timezone.now() - timedelta(days=i % 20 + 1))
            HeadacheDiaryEntry.objects.bulk_create(
                HeadacheDiaryEntry(patient=patient, date=timezone.localdate() - timedelta(days=d), headache=d % 3 == 0)
                for d in range(i % 28)
            )
    _signed(w, 3)
    # The caseload's read model computed: pages read stored rows (a page computing its rows
    # costs the same for any size too: tests/treatment/test_caseload.py).
    caseload.rebuild(physician=w.physician)
    return w.physician, {}, N


def case_weekly(w):
    from scheduling.models import WeeklyAvailability

    WeeklyAvailability.objects.bulk_create(
        WeeklyAvailability(
            physician=w.physician, weekday=i % 7, start_time=dt.time(i // 7, 0), end_time=dt.time(i // 7, 30)
        )
        for i in range(N)
    )
    return w.physician, {}, N


def case_exceptions(w):
    from scheduling.models import AvailabilityException

    today = timezone.localdate()
    AvailabilityException.objects.bulk_create(
        AvailabilityException(physician=w.physician, date=today + timedelta(days=i + 1), kind="time_off")
        for i in range(N)
    )
    return w.physician, {}, N


def _products():
    from tests.prescriptions.factories import ProductFactory

    for i in range(N):
        ProductFactory(strength=Decimal(10 + i))


def case_medications(w):
    _products()
    return w.physician, {}, N


def case_staff_medications(w):
    _products()
    return w.staff, {}, N


def case_pharmacies(w):
    from tests.prescriptions.factories import licensed_pharmacy

    for _ in range(N):
        licensed_pharmacy("FL", "NJ")
    return w.physician, {}, N, {"state": "FL"}


def case_physician_rx(w):
    _signed(w)
    return w.physician, {}, N


def case_pdmp(w):
    from tests.prescriptions.factories import PDMPCheckFactory

    PDMPCheckFactory.create_batch(N, patient=w.patient, checked_by=w.physician)
    return w.physician, {"patient_id": w.patient.public_id}, N


def case_refill_queue(w):
    from prescriptions.models import RefillRequest

    for rx in _signed(w):
        RefillRequest.objects.create(prescription=rx, patient=w.patient)
    return w.physician, {}, N


def case_physician_orders(w):
    _orders(w)
    return w.physician, {}, N


def case_patient_rx(w):
    _signed(w)
    return w.patient, {}, N


def case_patient_orders(w):
    _orders(w)
    return w.patient, {}, N


def case_staff_orders(w):
    _orders(w)
    return w.staff, {}, N


def case_cluster_attacks(w):
    from outcomes.models import ClusterAttack

    now = timezone.now()
    ClusterAttack.objects.bulk_create(
        ClusterAttack(patient=w.patient, started_at=now - timedelta(hours=i + 1), minutes=40, side="left")
        for i in range(N)
    )
    return w.patient, {}, N


def case_outcome_review_flags(w):
    from outcomes.models import OutcomeReviewFlag

    for patient in _caseload(w):
        OutcomeReviewFlag.objects.create(patient=patient, kind="medication_overuse", window_end=timezone.localdate())
    return w.physician, {}, N


def _sessions(w: World, n: int = N) -> None:
    """n sessions of the caseload patient on n days, each checked in with a (resolved) flag."""
    from patients.models import PreSessionCheck, SafetyFlag
    from tests.prescriptions.factories import DeliveryOrderFactory
    from treatment.models import DosingSession, SessionCheckIn

    rx = _signed(w, 1)[0]
    fill = DeliveryOrderFactory(prescription=rx, quantity=100, status="delivered", delivered_at=timezone.now())
    now = timezone.now()
    for i in range(n):
        at = now - timedelta(days=i + 1)
        check = PreSessionCheck.objects.create(
            patient=w.patient,
            checked_at=at,
            rested_5_minutes=True,
            monitor_present=True,
            monitor_adult=True,
            monitor_sober=True,
            judged_systolic=120,
            judged_diastolic=80,
            outcome="go",
        )
        session = DosingSession.objects.create(
            patient=w.patient,
            prescription=rx,
            fill=fill,
            product=rx.product,
            pre_session_check=check,
            dose_units=1,
            dispensing_unit="troche",
            dose_text=rx.dose,
            monitor_name="Mo Nitor",
            monitor_attested_at=at,
            started_at=at,
            local_date=at.date(),
            time_zone="America/New_York",
            ended_at=at + timedelta(hours=1),
            status="ended",
        )
        check_in = SessionCheckIn.objects.create(
            session=session,
            overall=5,
            nausea_vomiting=False,
            dizziness=False,
            dissociation=9,
            headache=False,
            urinary_pain=False,
            blood_in_urine=False,
            did_not_drive=True,
            flag_reasons=["severe_dissociation"],
        )
        check_in.flags.add(
            SafetyFlag.objects.create(
                patient=w.patient,
                kind="severe_dissociation",
                status="resolved",
                resolved_at=at,
                resolved_by=w.physician,
            )
        )


def case_patient_sessions(w):
    _sessions(w)
    return w.patient, {}, N


def case_care_team_sessions(w):
    _sessions(w)
    return w.physician, {"patient_id": w.patient.public_id}, N


def case_in_person_evaluations(w):
    from datetime import date

    from tests.scheduling.factories import InPersonEvaluationFactory

    for i in range(N):
        InPersonEvaluationFactory(
            patient=w.patient, physician=w.physician, evaluated_on=date(2025, 1, 1) + timedelta(days=i)
        )
    return w.physician, {"patient_id": w.patient.public_id}, N


def _thread(w, patient=None):
    from messaging.models import Message, Thread

    patient = patient or w.patient
    now = timezone.now()
    thread = Thread.objects.create(patient=patient, waiting_since=now, due_at=now + timedelta(days=1))
    for i in range(N):
        sender, role = (patient, "patient") if i % 2 else (w.physician, "care_team")
        Message.objects.create(thread=thread, sender=sender, sender_role=role, body=f"m{i}")
    return thread


def case_patient_messages(w):
    _thread(w)
    return w.patient, {}, N


def case_care_team_messages(w):
    _thread(w)
    return w.physician, {"patient_id": w.patient.public_id}, N


def case_care_team_inbox(w):
    from messaging.models import Message, Thread

    now = timezone.now()
    for i, patient in enumerate(_caseload(w)):
        thread = Thread.objects.create(
            patient=patient, waiting_since=now, due_at=now + timedelta(hours=i), last_answered_by=w.staff
        )
        Message.objects.create(thread=thread, sender=patient, sender_role="patient", body="q")
    return w.staff, {}, N


CASES: dict[tuple[str, str], Case] = {
    ("v1:patient-messages", "patient"): case_patient_messages,
    ("v1:care-team-messages", "physician"): case_care_team_messages,
    ("v1:care-team-inbox", "staff"): case_care_team_inbox,
    ("v1:billing:invoices", "patient"): case_invoices,
    ("v1:billing:staff-invoices", "staff"): case_staff_invoices,
    ("v1:billing:staff-subscriptions", "staff"): case_staff_subscriptions,
    ("v1:billing:staff-past-due", "staff"): case_staff_past_due,
    ("v1:service-area-counties", "patient"): case_counties,
    ("v1:staff-physicians", "staff"): case_staff_physicians,
    ("v1:staff-physician-licences", "staff"): case_licences,
    ("v1:staff-physician-dea-registrations", "staff"): case_dea,
    ("v1:staff-physician-cds-registrations", "staff"): case_cds,
    ("v1:patient-consents", "patient"): case_consents,
    ("v1:patient-questionnaires", "patient"): case_questionnaires,
    ("v1:patient-vitals", "patient"): case_vitals,
    ("v1:safety-flags", "physician"): case_safety_flags,
    ("v1:care-team-questionnaires", "physician"): case_care_team_questionnaires,
    ("v1:care-team-vitals", "physician"): case_care_team_vitals,
    ("v1:care-team-screenings", "physician"): case_care_team_screenings,
    ("v1:care-team-contraindications", "physician"): case_care_team_contraindications,
    ("v1:review-queue-assessments", "staff"): case_review_assessments,
    ("v1:review-queue-registrations", "staff"): case_review_registrations,
    ("v1:appointments", "patient"): case_appointments_patient,
    ("v1:appointments", "physician"): case_appointments_physician,
    ("v1:appointments", "staff"): case_appointments_staff,
    ("v1:physician-caseload", "physician"): case_caseload,
    ("v1:weekly-availability", "physician"): case_weekly,
    ("v1:availability-exceptions", "physician"): case_exceptions,
    ("v1:medication-list", "physician"): case_medications,
    ("v1:pharmacy-list", "physician"): case_pharmacies,
    ("v1:staff-medication-list", "staff"): case_staff_medications,
    ("v1:physician-rx-list", "physician"): case_physician_rx,
    ("v1:pdmp-checks", "physician"): case_pdmp,
    ("v1:physician-refill-queue", "physician"): case_refill_queue,
    ("v1:physician-order-list", "physician"): case_physician_orders,
    ("v1:patient-rx-list", "patient"): case_patient_rx,
    ("v1:patient-order-list", "patient"): case_patient_orders,
    ("v1:staff-order-list", "staff"): case_staff_orders,
    ("v1:cluster-attacks", "patient"): case_cluster_attacks,
    ("v1:outcome-review-flags", "physician"): case_outcome_review_flags,
    ("v1:patient-sessions", "patient"): case_patient_sessions,
    ("v1:care-team-sessions", "physician"): case_care_team_sessions,
    ("v1:physician-patient-in-person-evaluations", "physician"): case_in_person_evaluations,
}


def test_every_paginated_list_route_has_a_budget():
    routes = paginated_list_routes()
    assert len(routes) >= 25, routes  # the resolver walk found the lists (guards against a silent empty walk)
    covered = {name for name, _ in CASES}
    missing = sorted(set(routes) - covered)
    assert not missing, f"list routes without a query budget case in {__name__}: {missing}"
    stale = sorted(covered - set(routes))
    assert not stale, f"cases for routes that are no longer paginated lists: {stale}"


def _queries(ctx) -> str:
    return "\n".join(f"  {q['sql'][:220]}" for q in ctx.captured_queries)


def _measure(client, url: str, page_size: int, params: dict):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {**params, "page_size": page_size})
    return response, ctx


@pytest.mark.parametrize(("route", "role"), sorted(CASES), ids=[f"{n.split(':')[-1]}-{r}" for n, r in sorted(CASES)])
def test_list_costs_the_same_queries_for_1_and_50_rows(route, role, world):
    user, kwargs, minimum, *rest = CASES[(route, role)](world)
    params = rest[0] if rest else {}
    assert user.role == role or (role == "staff" and user.is_practice_staff)
    client = client_for(user)
    url = reverse(route, kwargs=kwargs)
    # A first request fills the per-process caches (content types, ...): they stay out of the count.
    warm = client.get(url, {**params, "page_size": SMALL})
    assert warm.status_code == 200, warm.content[:300]

    small, small_queries = _measure(client, url, SMALL, params)
    big, big_queries = _measure(client, url, BIG, params)

    assert small.status_code == big.status_code == 200, (small.content[:300], big.content[:300])
    assert len(small.json()["results"]) == 1
    assert len(big.json()["results"]) >= min(BIG, minimum), "the case did not build enough visible rows"
    assert len(big_queries) == len(small_queries), (
        f"{route} as {role}: {len(small_queries)} queries for 1 row, {len(big_queries)} for {BIG} (N+1)\n"
        f"page of 1:\n{_queries(small_queries)}\npage of {BIG}:\n{_queries(big_queries)}"
    )


# --- availability: the same queries for 5 and for 50 physicians ---------------------------------
def _licensed_physicians(n: int, locations: list | None = None) -> list:
    """`locations`: in-person hours at these visit locations (in turn) instead of video hours."""
    from scheduling.models import WeeklyAvailability
    from tests.practice.factories import PhysicianProfileFactory, StateLicenseFactory

    today = timezone.localdate()
    doctors = []
    for _ in range(n):
        doctor = PhysicianProfileFactory().user
        StateLicenseFactory(
            physician=doctor, state="FL", issued_on=today - timedelta(days=365), expires_on=today + timedelta(days=365)
        )
        location = locations[len(doctors) % len(locations)] if locations else None
        WeeklyAvailability.objects.bulk_create(
            WeeklyAvailability(
                physician=doctor, weekday=d, start_time=dt.time(9), end_time=dt.time(17), location=location
            )
            for d in range(7)
        )
        doctors.append(doctor)
    return doctors


@pytest.mark.parametrize("appointment_type", ["free_consultation", "follow_up", "in_person_evaluation"])
def test_availability_costs_the_same_queries_for_5_and_50_physicians(
    appointment_type, world, django_capture_on_commit_callbacks
):
    from scheduling.models import AppointmentType
    from tests.scheduling.factories import AppointmentFactory, VisitLocationFactory

    locations = None
    if appointment_type == "in_person_evaluation":
        AppointmentType.objects.get_or_create(
            code=appointment_type,
            defaults={"name": "In-person evaluation", "duration_minutes": 60, "buffer_minutes": 15, "in_person": True},
        )
        locations = [VisitLocationFactory(), VisitLocationFactory(name="Tampa office", city="Tampa", zip_code="33602")]

    client = client_for(world.patient)
    today = timezone.localdate()
    params = {
        "start": (today + timedelta(days=1)).isoformat(),
        "end": (today + timedelta(days=14)).isoformat(),
        "appointment_type": appointment_type,
        "page_size": 100,
    }
    url = reverse("v1:availability")

    def measure(expected_physicians: int):
        client.get(url, params)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, params)
        assert response.status_code == 200, response.content[:300]
        assert response.json()["count"] == expected_physicians
        return ctx

    doctors = _licensed_physicians(5, locations)
    for i, doctor in enumerate(doctors):  # some booked time, so the busy intervals are read too
        start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2, hours=i)
        AppointmentFactory(physician=doctor, starts_at=start)
    five = measure(5)
    with django_capture_on_commit_callbacks(execute=True):  # new physicians show once committed
        _licensed_physicians(45, locations)
    fifty = measure(50)
    assert len(fifty) == len(five), (
        f"availability: {len(five)} queries for 5 physicians, {len(fifty)} for 50\n"
        f"5:\n{_queries(five)}\n50:\n{_queries(fifty)}"
    )
