"""The read paths the benchmark tuned (caseload, a patient's visits, the staff delivery board; docs/performance.md) keep
their answers: plain-dict output equal to the documented serializers, contract columns equal to
the contracts they fold into one query, page totals equal to COUNT(*), and absolute query budgets.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from api.clock import practice_date
from tests.conftest import client_for
from tests.factories import PatientUserFactory, PharmacyLiaisonFactory, PhysicianUserFactory, StaffUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def physician():
    from tests.practice.factories import PhysicianProfileFactory

    user = PhysicianUserFactory()
    PhysicianProfileFactory(user=user)
    return user


def _caseload(physician, n: int) -> list:
    """n patients on the caseload with a mix of everything the caseload shows."""
    from tests.billing.factories import StripeCustomerFactory, SubscriptionFactory
    from tests.patients.factories import PatientProfileFactory, QuestionnaireFactory, SafetyFlagFactory
    from tests.prescriptions.factories import PrescriptionFactory, SignedPrescriptionFactory
    from tests.scheduling.factories import AppointmentFactory

    now = timezone.now()
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    patients = []
    for i in range(n):
        patient = PatientProfileFactory(assigned_physician=physician).user
        patients.append(patient)
        if i % 4 != 3:
            SubscriptionFactory(customer=StripeCustomerFactory(patient=patient))
        if i % 2 == 0:
            QuestionnaireFactory(patient=patient, answers=[3] * 9, taken_at=now - timedelta(days=30), is_baseline=True)
            QuestionnaireFactory(patient=patient, answers=[i % 4] * 9, taken_at=now - timedelta(days=1))
        if i % 3 == 0:
            QuestionnaireFactory(patient=patient, instrument="gad7", answers=[2] * 7, taken_at=now)
        if i % 5 == 0:
            SafetyFlagFactory(patient=patient)
        if i % 4 == 0:
            SignedPrescriptionFactory(patient=patient, physician=physician)
        elif i % 4 == 1:
            PrescriptionFactory(patient=patient, physician=physician)
        elif i % 4 == 2:
            SignedPrescriptionFactory(patient=patient, physician=physician, expires_on=practice_date() - timedelta(1))
        if i % 2 == 1:
            AppointmentFactory(patient=patient, physician=physician, starts_at=start + timedelta(hours=i))
    return patients


# --- contract columns = the contracts ----------------------------------------------------------
def test_caseload_columns_answer_what_the_contracts_answer(physician):
    from patients.models import PatientProfile
    from patients.selectors import latest_scores_by_patient, open_flag_counts
    from prescriptions.selectors import prescription_status_by_patient
    from scheduling import contracts

    patients = _caseload(physician, 12)
    ids = [p.pk for p in patients]
    rows = list(
        PatientProfile.objects.filter(user_id__in=ids).annotate(**contracts.caseload_columns(patient_ref="user_id"))
    )
    scores = latest_scores_by_patient(patient_ids=ids)
    flags = open_flag_counts(patient_ids=ids)
    statuses = prescription_status_by_patient(patient_ids=ids)
    assert set(statuses.values()) == {"active", "draft", "expired", "none"}  # the case covers every label
    assert any(flags.values()) and not all(flags.get(i) for i in ids)
    for row in rows:
        assert row.prescription_status == statuses[row.user_id]
        assert row.open_flags == flags.get(row.user_id, 0)
        for instrument in contracts.CASELOAD_INSTRUMENTS:
            assert contracts.score_from_row(row, instrument) == scores.get(row.user_id, {}).get(instrument)


# --- plain output = the documented serializers ---------------------------------------------------
def test_caseload_answer_is_the_serializers_shape(physician):
    from scheduling import selectors
    from scheduling.serializers import CaseloadRowOutput, caseload_row_data

    _caseload(physician, 8)
    rows = selectors.caseload_rows(profiles=list(selectors.caseload_queryset(physician=physician)))

    def as_serializer_input(row):
        standing = row.subscription
        score = {
            k: {"score": s.total, "band": s.band, "taken_at": s.taken_at} if s else None
            for k, s in (("phq9", row.scores.get("phq9")), ("gad7", row.scores.get("gad7")))
        }
        return {
            "patient": row.patient,
            "next_appointment_id": row.next_appointment_id,
            "next_appointment_at": row.next_appointment_at,
            "last_visit_at": row.last_visit_at,
            **score,
            "open_safety_flags": row.open_flags,
            "subscription": {"ok": standing.ok, "status": standing.status} if standing is not None else None,
            "prescription_status": row.prescription_status,
            **row.columns,
        }

    expected = CaseloadRowOutput([as_serializer_input(r) for r in rows], many=True).data
    assert [caseload_row_data(r) for r in rows] == expected
    assert [list(d) for d in map(caseload_row_data, rows)] == [list(d) for d in expected]
    assert any(r["phq9"] for r in expected) and any(r["next_appointment_at"] for r in expected)


def test_appointment_list_answer_is_the_serializers_shape(physician):
    from scheduling.models import Appointment
    from scheduling.selectors import appointment_list, appointment_list_rows
    from scheduling.serializers import AppointmentOutput, appointment_data, appointment_list_data
    from tests.scheduling.factories import AppointmentFactory, VisitLocationFactory

    patient = PatientUserFactory()
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    AppointmentFactory(patient=patient, physician=physician, starts_at=start)
    AppointmentFactory(patient=patient, physician=physician, starts_at=start + timedelta(hours=2))
    Appointment.objects.filter(starts_at=start).update(
        status="completed", started_at=start, completed_at=start + timedelta(minutes=40), video_status="ready"
    )
    office = VisitLocationFactory(address_line2="Suite 2")
    AppointmentFactory(
        patient=patient,
        physician=physician,
        starts_at=start + timedelta(hours=4),
        modality="in_person",
        location=office,
    )
    home = VisitLocationFactory(kind="home_visit", address_line1="", city="", zip_code="")
    AppointmentFactory(
        patient=patient, physician=physician, starts_at=start + timedelta(hours=6), modality="in_person", location=home
    )
    for viewer in (patient, physician, StaffUserFactory()):
        page = list(appointment_list(viewer=viewer))
        expected = AppointmentOutput(page, many=True).data
        with CaptureQueriesContext(connection) as ctx:
            data = appointment_list_data(appointment_list_rows(viewer=viewer)[0:20])
        assert len(ctx.captured_queries) == 1
        assert data == expected
        assert [list(d) for d in data] == [list(d) for d in expected]
        assert json.dumps(data) == json.dumps(expected)
    for appointment in Appointment.objects.filter(patient=patient).order_by("starts_at"):
        one = AppointmentOutput(appointment).data
        assert appointment_data(appointment) == one
        assert json.dumps(appointment_data(appointment)) == json.dumps(one)
    assert expected[-1]["video_ready"] is True and expected[-1]["completed_at"] is not None
    assert [d["location"] and d["location"]["address"] for d in expected[:2]] == ["At your home", office.address_text]
    assert appointment_list_rows(viewer=PharmacyLiaisonFactory())[0:20] == []


def test_appointment_rows_through_the_orm_are_the_prepared_rows(physician):
    """A keyset cursor or another order reads the rows through the ORM: the same tuples."""
    from scheduling.selectors import appointment_list_rows

    patient = PatientUserFactory()
    _appointments(patient, physician, 5)
    rows = appointment_list_rows(viewer=patient)
    prepared = rows[0:20]
    assert len(prepared) == 5
    assert rows._wrap(rows.queryset) == prepared
    assert rows.keyset(("-starts_at", "-id"), None, 3) == prepared[:3]
    assert rows.keyset(("starts_at", "id"), None, 20) == prepared[::-1]
    assert rows[1:3] == prepared[1:3] and rows[4:9] == prepared[4:]
    assert rows.count() == 5 and rows.ordering == ("-starts_at", "-id")


def test_delivery_board_answer_is_the_serializers_shape(physician):
    from prescriptions.models import DeliveryOrder
    from prescriptions.selectors import delivery_order_board, delivery_order_list_for_staff
    from prescriptions.serializers import DeliveryOrderOutput, delivery_order_list_data
    from tests.prescriptions.factories import DeliveryOrderFactory, SignedPrescriptionFactory

    rx = SignedPrescriptionFactory(physician=physician)
    for i in range(3):
        DeliveryOrderFactory(prescription=rx, sequence=i + 1)
    DeliveryOrder.objects.filter(sequence=1).update(
        status="shipped", carrier="UPS", tracking_number="1Z999", shipped_at=F("created_at")
    )
    DeliveryOrder.objects.filter(sequence=2).update(hold_reasons=["address_unverified"], status="on_hold")
    with CaptureQueriesContext(connection) as ctx:
        data = delivery_order_list_data(delivery_order_board()[0:20])
    assert len(ctx.captured_queries) == 1  # the row's columns are all the output reads
    full = list(DeliveryOrder.objects.select_related("patient", "pharmacy", "prescription__product").order_by("-id"))
    expected = DeliveryOrderOutput(full, many=True).data
    assert sorted(data, key=lambda d: d["id"]) == sorted(expected, key=lambda d: d["id"])
    assert [list(d) for d in data] == [list(d) for d in expected]
    assert json.dumps(data) == json.dumps(DeliveryOrderOutput(list(delivery_order_list_for_staff()), many=True).data)
    shipped = delivery_order_list_data(delivery_order_board(status="shipped")[0:20])  # through the ORM
    assert shipped == DeliveryOrderOutput(list(delivery_order_list_for_staff(status="shipped")), many=True).data
    assert len(shipped) == 1


# --- page totals ---------------------------------------------------------------------------------
def _appointments(patient, physician, n):
    from tests.scheduling.factories import AppointmentFactory

    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    for i in range(n):
        AppointmentFactory(patient=patient, physician=physician, starts_at=start + timedelta(hours=i))


@pytest.mark.parametrize(("n", "page_size", "page"), [(0, 20, 1), (3, 20, 1), (5, 2, 3), (6, 2, 3), (7, 3, 2)])
def test_page_first_totals_equal_count(physician, n, page_size, page):
    patient = PatientUserFactory()
    _appointments(patient, physician, n)
    body = client_for(patient).get(reverse("v1:appointments"), {"page_size": page_size, "page": page}).json()
    assert body["count"] == n
    assert len(body["results"]) == max(0, min(page_size, n - (page - 1) * page_size))
    assert (body["next"] is not None) == (page * page_size < n)


def test_a_short_page_needs_no_count_query(physician):
    patient = PatientUserFactory()
    _appointments(patient, physician, 3)
    client = client_for(patient)
    client.get(reverse("v1:appointments"))
    with CaptureQueriesContext(connection) as ctx:
        body = client.get(reverse("v1:appointments")).json()
    assert body["count"] == 3
    assert not [q for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()], ctx.captured_queries


@pytest.mark.parametrize("page", ["9", "0", "x"])
def test_a_bad_or_past_the_end_page_is_still_a_400_page_field_error(physician, page):
    patient = PatientUserFactory()
    _appointments(patient, physician, 3)
    response = client_for(patient).get(reverse("v1:appointments"), {"page": page})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["fields"]["page"][0]["code"] == "invalid_page"


def test_caseload_total_rides_on_the_page_query(physician):
    _caseload(physician, 7)
    client = client_for(physician)
    for page_size, page in ((3, 1), (3, 3), (50, 1)):
        body = client.get(reverse("v1:physician-caseload"), {"page_size": page_size, "page": page}).json()
        assert body["count"] == 7
    past_the_end = client.get(reverse("v1:physician-caseload"), {"page_size": 3, "page": 4})
    assert past_the_end.status_code == 400 and "page" in past_the_end.json()["fields"]
    assert client.get(reverse("v1:physician-caseload"), {"page": "last", "page_size": 3}).json()["count"] == 7


def test_board_total_follows_new_orders_at_once_and_filters_count_exactly(physician):
    from tests.prescriptions.factories import DeliveryOrderFactory, SignedPrescriptionFactory

    rx = SignedPrescriptionFactory(physician=physician)
    client = client_for(StaffUserFactory())
    url = reverse("v1:staff-order-list")
    DeliveryOrderFactory(prescription=rx, sequence=1)
    assert client.get(url).json()["count"] == 1
    assert client.get(url).json()["count"] == 1  # from the cache
    DeliveryOrderFactory(prescription=rx, sequence=2, status="shipped")
    assert client.get(url).json()["count"] == 2
    assert client.get(url, {"status": "shipped"}).json()["count"] == 1


# --- absolute budgets (tests/perf/test_query_budgets.py checks 1 row = 50 rows) -------------------
def _queries(client, url) -> list[str]:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def test_caseload_budget(physician):
    _caseload(physician, 5)
    # user, page (rows + total + every contract column), standing, audit insert; the columns of
    # the apps above scheduling: treatment 2 (+ its policy row), outcomes 4 (zones, first
    # sessions, first signatures, diary)
    assert len(_queries(client_for(physician), reverse("v1:physician-caseload"))) <= 11


def test_patient_home_budget(physician):
    patient = PatientUserFactory()
    _appointments(patient, physician, 3)
    # user, page (a short page carries its total), audit insert
    assert len(_queries(client_for(patient), reverse("v1:appointments"))) <= 3


def test_delivery_board_budget(physician):
    from tests.prescriptions.factories import DeliveryOrderFactory, SignedPrescriptionFactory

    rx = SignedPrescriptionFactory(physician=physician)
    for i in range(3):
        DeliveryOrderFactory(prescription=rx, sequence=i + 1)
    # user, newest order (the cached count's key), page, audit insert
    queries = _queries(client_for(StaffUserFactory()), reverse("v1:staff-order-list"))
    assert len(queries) <= 4
    assert not [q for q in queries if "COUNT(" in q.upper()]
