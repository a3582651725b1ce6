"""The caseload's treatment and headache columns, added through scheduling's extension point
(scheduling/caseload_columns.py): values, the same answer as the per-patient reads, a fixed
number of queries, the serializer's shape and the OpenAPI schema."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from outcomes.models import HeadacheDiaryEntry
from scheduling.models import CaseloadEntry
from tests.conftest import client_for
from tests.patients.factories import PatientProfileFactory
from tests.prescriptions.factories import SignedPrescriptionFactory
from tests.treatment.conftest import dosing_session, run_session

pytestmark = pytest.mark.django_db

URL = "/api/v1/physician/caseload/"
TREATMENT = ("last_session_at", "sessions_last_28_days", "doses_left", "overdue_check_in")
HEADACHE = (
    "headache_days_last_28",
    "headache_days_logged_last_28",
    "baseline_headache_days",
    "headache_days_change_pct",
    "responder_50",
    "responder_75",
)


def diary(patient, end: dt.date, *, days: int, headache_days: int):
    HeadacheDiaryEntry.objects.bulk_create(
        HeadacheDiaryEntry(
            patient=patient,
            date=end - timedelta(days=i),
            headache=i < headache_days,
            peak_pain=5 if i < headache_days else None,
        )
        for i in range(days)
    )


def rows_by_patient(client) -> dict:
    body = client.get(URL, {"page_size": 100}).json()
    return {r["patient"]["id"]: r for r in body["results"]}


def test_caseload_shows_sessions_supply_and_overdue_check_in(api, patient, physician, rx, fill, clock):
    run_session(api, patient, clock)
    row = rows_by_patient(client_for(physician))[str(patient.public_id)]
    assert (row["sessions_last_28_days"], row["doses_left"], row["overdue_check_in"]) == (1, 3, False)
    assert row["last_session_at"] is not None

    clock.shift(timedelta(hours=5))  # the 4-hour check-in window closed without one
    row = rows_by_patient(client_for(physician))[str(patient.public_id)]
    assert row["overdue_check_in"] is True

    clock.shift(timedelta(days=29))  # out of the 28 days; still the last session
    row = rows_by_patient(client_for(physician))[str(patient.public_id)]
    assert row["sessions_last_28_days"] == 0 and row["last_session_at"] is not None


def test_caseload_shows_headache_days_against_the_baseline(api, patient, physician, rx, clock):
    # Treatment starts with the first session (Oct 1, Miami); the baseline is Sep 3 - Sep 30.
    dosing_session(rx, at=dt.datetime(2026, 10, 1, 15, tzinfo=dt.UTC))
    diary(patient, dt.date(2026, 9, 30), days=28, headache_days=14)
    diary(patient, dt.date(2026, 11, 20), days=28, headache_days=4)
    row = rows_by_patient(client_for(physician))[str(patient.public_id)]
    assert {k: row[k] for k in HEADACHE} == {
        "headache_days_last_28": 4,
        "headache_days_logged_last_28": 28,
        "baseline_headache_days": 14,
        "headache_days_change_pct": -71.4,
        "responder_50": "responder",
        "responder_75": "non_responder",
    }


def test_a_patient_without_treatment_or_diary_reads_empty_columns(physician):
    patient = PatientProfileFactory(assigned_physician=physician).user
    row = rows_by_patient(client_for(physician))[str(patient.public_id)]
    assert {k: row[k] for k in TREATMENT} == {
        "last_session_at": None,
        "sessions_last_28_days": 0,
        "doses_left": 0,
        "overdue_check_in": False,
    }
    assert row["headache_days_last_28"] is None and row["baseline_headache_days"] is None
    assert row["responder_50"] == row["responder_75"] == "no_baseline"


def _mixed_caseload(physician, n: int, offset: int = 0) -> list:
    """n patients: some with a signed prescription only, some dosing, diaries of every kind."""
    today = timezone.localdate()
    patients = []
    for i in range(offset, offset + n):
        patient = PatientProfileFactory(assigned_physician=physician).user
        patients.append(patient)
        if i % 4 == 3:
            continue  # nothing at all
        rx = SignedPrescriptionFactory(
            patient=patient, physician=physician, signed_at=timezone.now() - timedelta(days=60 + i)
        )
        if i % 2 == 0:
            dosing_session(rx, at=timezone.now() - timedelta(days=40 + i))
            dosing_session(rx, at=timezone.now() - timedelta(days=2), ended=i % 3 != 0)
        diary(patient, today, days=10 + 3 * (i % 7), headache_days=i % 9)
        diary(patient, today - timedelta(days=60 + i), days=25, headache_days=12)
    return patients


def test_the_columns_answer_what_the_per_patient_reads_answer(physician):
    from outcomes.selectors import headache_summary
    from scheduling import selectors
    from treatment.selectors import caseload_treatment_columns

    patients = _mixed_caseload(physician, 12)
    rows = {
        r.patient.pk: r
        for r in selectors.caseload_rows(profiles=list(selectors.caseload_queryset(physician=physician)))
    }
    assert set(rows) == {p.pk for p in patients}
    verdicts = {r.columns["responder_50"] for r in rows.values()}
    assert {"responder", "insufficient_data", "no_baseline"} <= verdicts  # the data covers every branch
    for patient in patients:
        columns = rows[patient.pk].columns
        assert {k: columns[k] for k in TREATMENT} == caseload_treatment_columns(patient_ids=[patient.pk])[patient.pk]
        summary = headache_summary(patient=patient)
        current, baseline = summary.current, summary.baseline
        assert columns["headache_days_logged_last_28"] == current.days_logged
        assert columns["headache_days_last_28"] == (current.headache_days if current.days_logged else None)
        assert columns["baseline_headache_days"] == (
            baseline.headache_days if baseline and baseline.days_logged else None
        )
        assert columns["headache_days_change_pct"] == summary.change_headache_pct
        assert (columns["responder_50"], columns["responder_75"]) == (
            summary.responders[50].status,
            summary.responders[75].status,
        )


def _count(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, {"page_size": 100})
    assert response.status_code == 200
    return len(response.json()["results"]), len(ctx.captured_queries)


def test_the_caseload_costs_the_same_queries_for_3_and_24_patients(physician):
    client = client_for(physician)
    _mixed_caseload(physician, 3)
    client.get(URL)  # warm the per-process caches (content types, policy rows)
    CaseloadEntry.objects.all().delete()  # no stored rows: the page is computed
    few, few_queries = _count(client)
    _mixed_caseload(physician, 21, offset=3)
    CaseloadEntry.objects.all().delete()
    many, many_queries = _count(client)
    assert (few, many) == (3, 24)
    assert few_queries == many_queries
    # Rows computed (docs/caseload.md): auth + page + standing + audit (4), treatment (2),
    # headache columns (4), the policy row (1), and for the read model the new rows and their
    # versions (2), the clock-only expiry (policy row + 1) and the upsert (1).
    assert many_queries <= 17
    # Read from the stored rows: auth + the page with its rows + audit.
    assert _count(client) == (24, 3)


def test_the_fast_path_is_the_serializers_shape(physician):
    from scheduling import selectors
    from scheduling.serializers import CaseloadRowOutput, caseload_row_data

    _mixed_caseload(physician, 8)
    rows = selectors.caseload_rows(profiles=list(selectors.caseload_queryset(physician=physician)))

    def as_input(r):
        standing = r.subscription
        return {
            "patient": r.patient,
            "next_appointment_id": r.next_appointment_id,
            "next_appointment_at": r.next_appointment_at,
            "last_visit_at": r.last_visit_at,
            "phq9": None,
            "gad7": None,
            "open_safety_flags": r.open_flags,
            "subscription": {"ok": standing.ok, "status": standing.status} if standing else None,
            "prescription_status": r.prescription_status,
            **r.columns,
        }

    expected = CaseloadRowOutput([as_input(r) for r in rows], many=True).data
    assert [caseload_row_data(r) for r in rows] == expected
    assert all(set(TREATMENT + HEADACHE) <= set(row) for row in expected)


def test_the_schema_describes_the_columns():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    props = schema["components"]["schemas"]["CaseloadRowOutput"]["properties"]
    for name in TREATMENT + HEADACHE:
        assert name in props and props[name].get("nullable") is True, name
        assert props[name].get("description"), name
    assert props["last_session_at"]["format"] == "date-time"
    assert props["doses_left"]["type"] == "integer"
