"""Refill requests: one open per prescription, the physician's queue, approval within the
refill limit and the 6-month expiry, decline with a reason."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection

from accounts.models import AuditEvent
from prescriptions.errors import RefillAlreadyRequested
from prescriptions.models import DeliveryOrder, OrderStatus, RefillRequest
from prescriptions.services.refills import refill_request_create
from tests.prescriptions.conftest import pause_shipments

pytestmark = pytest.mark.django_db


def request_url(rx):
    return f"/api/v1/patient/prescriptions/{rx.public_id}/refill-requests/"


def approve(api, physician, refill_id, **data):
    return api(physician).post(f"/api/v1/physician/refill-requests/{refill_id}/approve/", data, format="json")


def test_patient_requests_a_refill_and_it_reaches_the_physicians_queue(api, patient, physician, signed):
    response = api(patient).post(request_url(signed), {"note": "Sessions going well."}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "open"
    queue = api(physician).get("/api/v1/physician/refill-requests/").json()
    assert [r["id"] for r in queue["results"]] == [response.json()["id"]]


def test_at_most_one_open_request_per_prescription(api, patient, signed):
    assert api(patient).post(request_url(signed), {}, format="json").status_code == 201
    second = api(patient).post(request_url(signed), {}, format="json")
    assert second.status_code == 409
    assert second.json()["code"] == "refill_already_requested"
    assert RefillRequest.objects.count() == 1


def test_approval_creates_the_next_order_with_a_staged_quantity(
    api, patient, physician, signed, django_capture_on_commit_callbacks
):
    refill_id = api(patient).post(request_url(signed), {}, format="json").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = approve(api, physician, refill_id, quantity=6)
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved"
    order = DeliveryOrder.objects.get(public_id=response.json()["order"])
    assert (order.sequence, order.quantity, order.status) == (2, 6, OrderStatus.SENT_TO_PHARMACY)
    assert AuditEvent.objects.filter(object_type="prescriptions.refillrequest", action="update").exists()


def test_approval_quantity_cannot_exceed_the_prescribed_quantity(api, patient, physician, signed):
    refill_id = api(patient).post(request_url(signed), {}, format="json").json()["id"]
    response = approve(api, physician, refill_id, quantity=signed.quantity + 1)
    assert response.status_code == 400 and response.json()["code"] == "invalid_quantity"
    assert DeliveryOrder.objects.filter(prescription=signed).count() == 1


def test_refills_stop_at_the_prescribed_number(api, patient, physician, signed):
    assert signed.refills == 2
    for _ in range(2):
        refill_id = api(patient).post(request_url(signed), {}, format="json").json()["id"]
        assert approve(api, physician, refill_id).status_code == 200
    response = api(patient).post(request_url(signed), {}, format="json")
    assert response.status_code == 422
    assert [r["code"] for r in response.json()["reasons"]] == ["refills_exhausted"]
    assert DeliveryOrder.objects.filter(prescription=signed).count() == 3


def test_a_cancelled_fill_does_not_use_up_a_refill(api, patient, physician, signed, staff):
    from prescriptions.services.orders import delivery_order_transition

    first = DeliveryOrder.objects.get(prescription=signed)
    delivery_order_transition(actor=staff, order_id=first.public_id, to_status="cancelled")
    for _ in range(3):
        refill_id = api(patient).post(request_url(signed), {}, format="json").json()["id"]
        assert approve(api, physician, refill_id).status_code == 200
    assert api(patient).post(request_url(signed), {}, format="json").status_code == 422


def test_the_prescription_expires_six_months_after_issue(api, patient, physician, signed):
    refill_id = api(patient).post(request_url(signed), {}, format="json").json()["id"]
    assert str(signed.expires_on) == "2027-05-20"
    with time_machine.travel("2027-05-20T20:00:00Z", tick=False):  # still the 20th in Florida
        assert api(patient).get(f"/api/v1/patient/prescriptions/{signed.public_id}/").status_code == 200
    with time_machine.travel("2027-05-21T15:00:00Z", tick=False):
        response = approve(api, physician, refill_id)
        assert response.status_code == 422
        assert "prescription_expired" in [r["code"] for r in response.json()["reasons"]]
        RefillRequest.objects.filter(pk__isnull=False).update(status="declined")
        again = api(patient).post(request_url(signed), {}, format="json")
        assert [r["code"] for r in again.json()["reasons"]] == ["prescription_expired"]


def test_approval_rechecks_the_safety_flag(api, patient, physician, signed):
    from tests.patients.factories import SafetyFlagFactory

    refill_id = api(patient).post(request_url(signed), {}, format="json").json()["id"]
    SafetyFlagFactory(patient=patient)
    response = approve(api, physician, refill_id)
    assert response.status_code == 422
    assert [r["code"] for r in response.json()["reasons"]] == ["open_safety_flag"]
    assert RefillRequest.objects.get(public_id=refill_id).status == "open"


def test_approval_is_paused_while_the_membership_is_past_due(api, patient, physician, signed):
    refill_id = api(patient).post(request_url(signed), {}, format="json").json()["id"]
    pause_shipments(patient)
    response = approve(api, physician, refill_id)
    assert response.status_code == 422
    assert [r["code"] for r in response.json()["reasons"]] == ["subscription_past_due"]
    assert DeliveryOrder.objects.filter(prescription=signed).count() == 1


def test_decline_needs_a_reason_and_closes_the_request(api, patient, physician, signed):
    refill_id = api(patient).post(request_url(signed), {}, format="json").json()["id"]
    url = f"/api/v1/physician/refill-requests/{refill_id}/decline/"
    assert api(physician).post(url, {}, format="json").status_code == 400
    response = api(physician).post(url, {"reason": "Let's review at your follow-up first."}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "declined"
    assert approve(api, physician, refill_id).json()["code"] == "refill_not_open"
    assert api(patient).post(request_url(signed), {}, format="json").status_code == 201  # may ask again


def test_refill_scoping(api, patient, other_patient, physician, other_physician, signed):
    assert api(other_patient).post(request_url(signed), {}, format="json").status_code == 404
    refill_id = api(patient).post(request_url(signed), {}, format="json").json()["id"]
    assert approve(api, other_physician, refill_id).status_code == 404
    assert api(other_physician).get("/api/v1/physician/refill-requests/").json()["count"] == 0
    assert api(patient).get("/api/v1/physician/refill-requests/").status_code == 403


def test_a_draft_cannot_be_refilled(api, patient, draft):
    assert api(patient).post(request_url(draft), {}, format="json").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_concurrent_refill_requests_give_one(on_postgres, reference_data, patient, physician, product, pharmacy):
    from django.utils import timezone

    from tests.prescriptions.conftest import make_ready
    from tests.prescriptions.factories import SignedPrescriptionFactory

    make_ready(patient, physician)
    rx = SignedPrescriptionFactory(
        patient=patient,
        physician=physician,
        product=product,
        pharmacy=pharmacy,
        expires_on=timezone.localdate() + timedelta(days=90),
    )
    barrier = threading.Barrier(4)
    outcomes = []

    def attempt():
        try:
            barrier.wait()
            refill_request_create(actor=patient, prescription_id=rx.public_id)
            outcomes.append("created")
        except RefillAlreadyRequested:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "created"]
    assert RefillRequest.objects.filter(prescription=rx, status="open").count() == 1
