"""Supply: doses left and run-out, early refills flagged for the physician, and new fills paused
(on_hold with the reason) by a 90-day gap, a missed follow-up or an open hold
(docs/treatment.md#supply)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from prescriptions.models import DeliveryOrder, OrderStatus, RefillRequest
from prescriptions.services.orders import delivery_order_hand_off, delivery_order_release_holds
from scheduling.models import AppointmentType
from tests.factories import StaffUserFactory
from tests.patients.factories import SafetyFlagFactory
from tests.scheduling.factories import AppointmentFactory
from tests.treatment.conftest import check_in, deliver, run_session
from treatment.models import DosingSession

pytestmark = pytest.mark.django_db


def refill(api, patient, rx):
    return api(patient).post(f"/api/v1/patient/prescriptions/{rx.public_id}/refill-requests/", {}, format="json")


def approve(api, physician, refill_id, **data):
    return api(physician).post(f"/api/v1/physician/refill-requests/{refill_id}/approve/", data, format="json")


def test_supply_shows_doses_left_and_the_expected_run_out_date(api, patient, rx, fill, clock):
    run_session(api, patient, clock)
    body = api(patient).get("/api/v1/patient/supply/").json()
    assert len(body) == 1
    row = body[0]
    assert (row["doses_shipped"], row["doses_used"], row["doses_left"], row["sessions_left"]) == (4, 1, 3, 3)
    assert row["sessions_per_week"] == 2 and row["dispensing_unit"] == "troche"
    # 3 sessions at 2 a week: 10.5 days, rounded up, from today (20 Nov)
    assert row["expected_run_out_on"] == "2026-12-01"


def test_supply_counts_fills_on_their_way_apart(api, patient, rx, fill):
    DeliveryOrder.objects.create(
        **{
            f.name: getattr(fill, f.name)
            for f in fill._meta.fields
            if f.name not in ("id", "public_id", "sequence", "status", "delivered_at")
        },
        sequence=99,
        status=OrderStatus.IN_TRANSIT,
    )
    row = api(patient).get("/api/v1/patient/supply/").json()[0]
    assert (row["doses_left"], row["doses_in_transit"]) == (4, 4)


def test_early_refill_is_accepted_but_flagged_and_approval_needs_a_note(api, patient, physician, rx, fill):
    response = refill(api, patient, rx)  # 4 doses on hand = 14 days at 2 a week: early
    assert response.status_code == 201
    assert response.json()["early_refill"] is True
    assert response.json()["early_refill_detail"]["doses_left"] == 4
    queue = api(physician).get("/api/v1/physician/refill-requests/").json()["results"]
    assert queue[0]["early_refill"] is True
    refused = approve(api, physician, response.json()["id"])
    assert refused.status_code == 400 and refused.json()["code"] == "approval_note_required"
    assert RefillRequest.objects.get().status == "open"
    approved = approve(api, physician, response.json()["id"], note="Travelling for three weeks; reviewed.")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["approval_note"] == "Travelling for three weeks; reviewed."


def test_refill_when_the_supply_runs_low_is_not_flagged(api, patient, physician, rx, clock):
    deliver(rx, quantity=2)
    run_session(api, patient, clock)  # 1 dose left: 3.5 days at 2 a week
    response = refill(api, patient, rx)
    assert response.json()["early_refill"] is False
    assert approve(api, physician, response.json()["id"]).status_code == 200


def test_more_than_90_days_without_a_session_holds_the_next_fill_until_a_visit(
    api, patient, physician, rx, clock, django_capture_on_commit_callbacks
):
    deliver(rx, quantity=2, days_ago=120)
    run_session(api, patient, clock)
    DosingSession.objects.update(
        started_at=timezone.now() - timedelta(days=100), ended_at=timezone.now() - timedelta(days=100)
    )
    refill_id = refill(api, patient, rx).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = approve(api, physician, refill_id)
    assert response.status_code == 200
    order = DeliveryOrder.objects.get(public_id=response.json()["order"])
    assert order.status == OrderStatus.ON_HOLD and order.hold_reasons == ["session_gap_visit_required"]
    assert order.events.last().to_status == OrderStatus.ON_HOLD
    assert delivery_order_release_holds() == 0
    # a follow-up visit completed now clears it: the order goes back to the hand-off
    AppointmentFactory(
        patient=patient,
        physician=physician,
        appointment_type=AppointmentType.objects.get(code="follow_up"),
        starts_at=timezone.now() - timedelta(hours=2),
        status="completed",
        completed_at=timezone.now() - timedelta(hours=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_order_release_holds() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.SENT_TO_PHARMACY and order.hold_reasons == []


def test_a_missed_follow_up_pauses_new_fills(api, patient, physician, rx, fill, django_capture_on_commit_callbacks):
    AppointmentFactory(
        patient=patient,
        physician=physician,
        appointment_type=AppointmentType.objects.get(code="follow_up"),
        starts_at=timezone.now() - timedelta(days=2),
        status="no_show",
    )
    refill_id = refill(api, patient, rx).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = approve(api, physician, refill_id, note="ok")
    order = DeliveryOrder.objects.get(public_id=response.json()["order"])
    assert order.status == OrderStatus.ON_HOLD and order.hold_reasons == ["missed_follow_up"]


def test_a_hold_that_appears_before_the_hand_off_pauses_the_fill(api, patient, staff, rx):
    order = DeliveryOrder.objects.create(
        prescription=rx,
        patient=patient,
        pharmacy=rx.pharmacy,
        sequence=1,
        quantity=4,
        ship_to_name="x",
        ship_to_line1="1 Ocean Drive",
        ship_to_city="Miami",
        ship_to_state="FL",
        ship_to_zip="33139",
    )
    SafetyFlagFactory(patient=patient)
    assert delivery_order_hand_off(order_id=order.pk) is False
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD and order.hold_reasons == ["open_safety_flag"]
    board = api(staff).get("/api/v1/staff/delivery-orders/?status=on_hold").json()["results"]
    assert [(o["id"], o["hold_reasons"]) for o in board] == [(str(order.public_id), ["open_safety_flag"])]


def test_care_team_sees_sessions_with_check_ins_and_flags(
    api, patient, physician, other_physician, staff, rx, fill, clock
):
    session_id = run_session(api, patient, clock)
    check_in(api, patient, session_id, urinary_pain=True)
    url = f"/api/v1/physician/patients/{patient.public_id}/sessions/"
    response = api(physician).get(url)
    assert response.status_code == 200
    row = response.json()["results"][0]
    assert row["session_id"] == session_id and row["check_in_status"] == "done"
    assert [f["kind"] for f in row["check_in"]["flags"]] == ["urinary_symptoms"]
    assert AuditEvent.objects.filter(actor=physician, action="read", object_type="treatment.dosingsession").exists()
    # Sessions are chart content: the medical director reads them, a care coordinator does not.
    assert api(StaffUserFactory(staff_role="medical_director")).get(url).status_code == 200
    assert api(staff).get(url).status_code == 404
    assert api(other_physician).get(url).status_code == 404
    assert api(patient).get(url).status_code == 404


def test_care_team_sees_an_overdue_check_in(api, patient, physician, rx, fill, clock):
    run_session(api, patient, clock)
    clock.shift(timedelta(hours=5))
    row = api(physician).get(f"/api/v1/physician/patients/{patient.public_id}/sessions/").json()["results"][0]
    assert row["check_in_status"] == "overdue" and row["check_in"] is None


def test_caseload_columns_contract(api, patient, other_patient, rx, fill, clock, django_assert_max_num_queries):
    from treatment.selectors import caseload_treatment_columns

    run_session(api, patient, clock)
    clock.shift(timedelta(hours=5))
    with django_assert_max_num_queries(4):
        columns = caseload_treatment_columns(patient_ids=[patient.pk, other_patient.pk])
    mine = columns[patient.pk]
    assert (mine["sessions_last_28_days"], mine["doses_left"], mine["overdue_check_in"]) == (1, 3, True)
    assert mine["last_session_at"] is not None
    assert columns[other_patient.pk] == {
        "last_session_at": None,
        "sessions_last_28_days": 0,
        "doses_left": 0,
        "overdue_check_in": False,
    }


def test_an_order_held_by_staff_is_not_released_by_beat(api, staff, rx):
    order = deliver(rx)
    DeliveryOrder.objects.filter(pk=order.pk).update(status=OrderStatus.CREATED, delivered_at=None)
    response = api(staff).post(
        f"/api/v1/staff/delivery-orders/{order.public_id}/transition/", {"to": "on_hold", "note": "address query"}
    )
    assert response.status_code == 200, response.json()
    assert delivery_order_release_holds() == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD and order.hold_reasons == ["staff_hold"]
