"""E-prescribing end to end with the sandbox vendor: our gates, the proposal outbox, the
prescriber's EPCS signature at the vendor, the vendor's notifications, cancellations."""

from __future__ import annotations

import json
import logging
import re
from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from prescriptions.erx.gateway import ErxTransientError
from prescriptions.erx.models import ErxEvent, ErxStatus, ErxSubmission, SandboxPrescription
from prescriptions.erx.sandbox import SandboxErxGateway
from prescriptions.models import DeliveryOrder, OrderStatus, PrescriptionStatus, SigningAttempt
from prescriptions.services import erx
from prescriptions.services.signing import prescription_sign
from tests.factories import PASSWORD
from tests.prescriptions.conftest import ERX_WEBHOOK_SECRET, complete_epcs_signature, enrol_epcs

pytestmark = pytest.mark.django_db

PHI = ("Alice", "Anders", "Ocean Drive", "33139", "1985-06-15", "AP5836727")


def url(rx, action: str) -> str:
    return f"/api/v1/physician/prescriptions/{rx.public_id}/{action}/"


def propose(rx, physician, capture):
    with capture(execute=True):
        prescription_sign(actor=physician, prescription_id=rx.public_id, password=PASSWORD, pregnant_or_nursing=False)
    rx.refresh_from_db()
    return ErxSubmission.objects.get(prescription=rx)


def assert_no_phi(records):
    for record in records:
        text = record.getMessage()
        assert not any(value in text for value in PHI), text


# --- the whole flow through the API -------------------------------------------------------------
def test_end_to_end_sign_then_epcs_signature_at_the_sandbox_vendor(
    api, patient, physician, draft, caplog, django_capture_on_commit_callbacks
):
    client = api(physician)
    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(draft, "sign"), {"password": PASSWORD, "patient_pregnant_or_nursing": False}, format="json"
        )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["signed_at"], body["orders"]) == ("awaiting_epcs_signature", None, [])
    draft.refresh_from_db()
    assert draft.erx_status == ErxStatus.AWAITING_SIGNATURE  # the proposal reached the vendor
    # Not yet a prescription for the patient, nor an order for the pharmacy.
    assert api(patient).get("/api/v1/patient/prescriptions/").json()["count"] == 0
    assert not DeliveryOrder.objects.exists()

    session = client.get(url(draft, "epcs-session"))
    assert session.status_code == 200, session.json()
    assert session.json()["provider"] == "sandbox" and session.json()["url"].startswith("https://")
    assert session.json()["vendor_prescription_id"].startswith("sbx-rx-")

    # The sandbox "sends" the one-time code to the prescriber through the log.
    (line,) = [r.getMessage() for r in caplog.records if "one-time signing code" in r.getMessage()]
    code = re.search(r": (\d{6}) ", line).group(1)
    assert client.post(url(draft, "sandbox-sign"), {"code": "000000"}, format="json").json()["code"] == (
        "invalid_epcs_code"
    )
    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        signed = client.post(url(draft, "sandbox-sign"), {"code": code}, format="json")
    assert signed.status_code == 200, signed.json()
    draft.refresh_from_db()
    assert draft.status == PrescriptionStatus.SIGNED and draft.erx_status == ErxStatus.TRANSMITTED
    submission = ErxSubmission.objects.get(prescription=draft)
    assert draft.signed_at == submission.vendor_signed_at  # the vendor's signing time
    assert draft.expires_on == date(2027, 5, 20)
    order = DeliveryOrder.objects.get(prescription=draft)
    assert (order.sequence, order.quantity, order.status) == (1, 4, OrderStatus.SENT_TO_PHARMACY)
    assert mail.outbox == []  # no prescription by email
    assert api(patient).get("/api/v1/patient/prescriptions/").json()["count"] == 1
    # The code is single-use.
    again = client.post(url(draft, "sandbox-sign"), {"code": code}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "not_awaiting_epcs_signature"
    assert_no_phi(caplog.records)


def test_a_physician_without_epcs_gets_epcs_not_enabled_and_nothing_is_sent(api, physician, draft):
    enrol_epcs(physician, ready=False)
    response = api(physician).post(
        url(draft, "sign"), {"password": PASSWORD, "patient_pregnant_or_nursing": False}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "epcs_not_enabled"
    draft.refresh_from_db()
    assert draft.status == PrescriptionStatus.DRAFT
    assert not ErxSubmission.objects.exists() and not SandboxPrescription.objects.exists()


def test_epcs_session_needs_a_prescription_awaiting_signature(api, physician, other_physician, draft):
    response = api(physician).get(url(draft, "epcs-session"))
    assert response.status_code == 409 and response.json()["code"] == "not_awaiting_epcs_signature"
    assert api(other_physician).get(url(draft, "epcs-session")).status_code == 404


def test_sandbox_sign_is_not_found_with_a_real_vendor(api, physician, draft, settings):
    settings.ERX_PROVIDER = "dosespot"
    response = api(physician).post(url(draft, "sandbox-sign"), {"code": "123456"}, format="json")
    assert response.status_code == 404


# --- gates between the proposal and the vendor's signature --------------------------------------
def test_a_flag_opened_while_awaiting_signature_cancels_the_proposal_at_the_vendor(
    patient, physician, draft, django_capture_on_commit_callbacks
):
    from tests.patients.factories import SafetyFlagFactory

    submission = propose(draft, physician, django_capture_on_commit_callbacks)
    SafetyFlagFactory(patient=patient)
    with django_capture_on_commit_callbacks(execute=True):
        assert erx.erx_recheck_awaiting() == 1
    draft.refresh_from_db()
    submission.refresh_from_db()
    assert (draft.status, draft.erx_status) == (PrescriptionStatus.DRAFT, ErxStatus.CANCELLED)
    assert "open safety flag" in draft.erx_message
    assert (submission.status, submission.cancel_state) == (ErxStatus.CANCELLED, "done")
    assert SandboxPrescription.objects.get().status == "Deleted"
    assert SigningAttempt.objects.filter(prescription=draft, succeeded=False).exists()


def test_the_signing_session_rechecks_the_gates_and_refuses_when_one_fails(
    api, physician, draft, django_capture_on_commit_callbacks
):
    from practice.models import StateLicense

    propose(draft, physician, django_capture_on_commit_callbacks)
    StateLicense.objects.filter(physician=physician).update(expires_on=date(2026, 11, 19))
    with django_capture_on_commit_callbacks(execute=True):
        response = api(physician).get(url(draft, "epcs-session"))
    assert response.status_code == 422 and response.json()["code"] == "signing_refused"
    assert "licence_expired" in [r["code"] for r in response.json()["reasons"]]
    draft.refresh_from_db()
    assert draft.status == PrescriptionStatus.DRAFT and draft.erx_status == ErxStatus.CANCELLED


def test_a_gate_failing_by_the_vendors_signing_time_cancels_the_transmitted_prescription(
    patient, physician, draft, django_capture_on_commit_callbacks
):
    from tests.patients.factories import SafetyFlagFactory

    propose(draft, physician, django_capture_on_commit_callbacks)
    SafetyFlagFactory(patient=patient)  # before the beat's re-check had a chance to run
    rx = complete_epcs_signature(draft)
    assert rx.status == PrescriptionStatus.CANCELLED and rx.signed_at is not None
    assert rx.erx_status == ErxStatus.CANCELLED  # the vendor confirmed the cancellation
    assert not DeliveryOrder.objects.filter(prescription=rx).exists()
    assert SandboxPrescription.objects.get().status == "Cancelled"  # CancelRx after transmission


def test_florida_pdmp_same_day_is_judged_on_the_vendors_signing_date(
    physician, draft, django_capture_on_commit_callbacks
):
    propose(draft, physician, django_capture_on_commit_callbacks)
    with time_machine.travel("2026-11-21T15:00:00Z", tick=False):  # signed at the vendor the next day
        rx = complete_epcs_signature(draft)
    assert rx.status == PrescriptionStatus.CANCELLED
    assert "pdmp_check_missing" in rx.erx_message


# --- the vendor refusing, failing, retrying -----------------------------------------------------
def test_a_pharmacy_off_the_network_returns_the_draft_with_the_vendors_message(
    physician, draft, django_capture_on_commit_callbacks
):
    draft.pharmacy.ncpdp_id = "0000000"
    draft.pharmacy.save()
    submission = propose(draft, physician, django_capture_on_commit_callbacks)
    draft.refresh_from_db()
    assert (draft.status, draft.erx_status) == (PrescriptionStatus.DRAFT, ErxStatus.ERROR)
    assert "not on the e-prescribing network" in draft.erx_message
    assert (submission.status, submission.send_state) == (ErxStatus.ERROR, "failed")
    # Fixing it and signing again is a new attempt with its own idempotency key.
    draft.pharmacy.ncpdp_id = "4499999"
    draft.pharmacy.save()
    with django_capture_on_commit_callbacks(execute=True):
        prescription_sign(
            actor=physician, prescription_id=draft.public_id, password=PASSWORD, pregnant_or_nursing=False
        )
    second = ErxSubmission.objects.get(prescription=draft, attempt=2)
    assert second.idempotency_key == f"{draft.public_id}-2" and second.status == ErxStatus.AWAITING_SIGNATURE


def test_a_transient_vendor_failure_is_retried_by_the_sweep_and_proposed_once(
    physician, draft, django_capture_on_commit_callbacks
):
    SandboxErxGateway.script_failure("propose", ErxTransientError("vendor down"))
    submission = propose(draft, physician, django_capture_on_commit_callbacks)
    assert (submission.send_state, submission.send_attempts) == ("pending", 1)
    assert submission.next_attempt_at > timezone.now()
    assert erx.erx_sweep()["send"] == []  # not before its backoff time
    due = erx.erx_sweep(now=submission.next_attempt_at + timedelta(seconds=1))["send"]
    assert due == [submission.pk]
    assert erx.erx_proposal_send(submission_id=submission.pk) == "sent"
    assert erx.erx_proposal_send(submission_id=submission.pk) == "not_claimed"  # a duplicate task
    assert SandboxPrescription.objects.count() == 1
    draft.refresh_from_db()
    assert draft.erx_status == ErxStatus.AWAITING_SIGNATURE


def test_a_worker_that_died_while_sending_is_taken_back_by_the_sweep(physician, draft):
    prescription_sign(
        actor=physician, prescription_id=draft.public_id, password=PASSWORD, pregnant_or_nursing=False
    )  # task lost
    submission = ErxSubmission.objects.get(prescription=draft)
    ErxSubmission.objects.filter(pk=submission.pk).update(
        send_state="sending", claimed_at=timezone.now() - timedelta(minutes=11), claimed_by="dead-task"
    )
    assert erx.erx_sweep()["send"] == [submission.pk]
    assert erx.erx_proposal_send(submission_id=submission.pk) == "sent"
    # The same task delivered again (worker lost) takes back its own claim at once.
    ErxSubmission.objects.filter(pk=submission.pk).update(send_state="sending", claimed_by="task-7")
    assert erx.erx_proposal_send(submission_id=submission.pk, task_id="task-7") == "abandoned"


def test_an_error_at_transmission_returns_the_draft_with_the_vendors_message(physician, draft):
    prescription_sign(actor=physician, prescription_id=draft.public_id, password=PASSWORD, pregnant_or_nursing=False)
    rx = complete_epcs_signature(draft, outcome="error")
    assert (rx.status, rx.erx_status) == (PrescriptionStatus.DRAFT, ErxStatus.ERROR)
    assert rx.erx_message == "Pharmacy did not acknowledge the transmission (sandbox)."


# --- vendor events: webhook, duplicates, order, poll --------------------------------------------
def _webhook(client, payload, secret=ERX_WEBHOOK_SECRET):
    headers = {"HTTP_AUTHORIZATION": secret} if secret else {}
    return client.post("/webhooks/erx/", data=json.dumps(payload), content_type="application/json", **headers)


def _result(vendor_rx_id: str, status: int, at: str, details: str = "") -> dict:
    return {
        "EventType": "PrescriptionResult",
        "Data": {
            "PatientId": "sbx-pt-1",
            "ClinicId": 21,
            "ClinicianId": "sbx-cl-1",
            "PrescriptionId": vendor_rx_id,
            "PrescriptionStatus": status,
            "StatusDateTime": at,
            "StatusDetails": details,
            "PatientName": "must not be stored",
        },
    }


def test_webhook_events_are_stored_once_and_applied_forward_only(
    client, physician, draft, django_capture_on_commit_callbacks
):
    submission = propose(draft, physician, django_capture_on_commit_callbacks)
    vendor_id = submission.vendor_prescription_id
    verified = _result(vendor_id, 13, "2026-11-20T15:05:00Z", "Prescription delivery verified")
    sent = _result(vendor_id, 4, "2026-11-20T15:04:00Z")
    with django_capture_on_commit_callbacks(execute=True):
        first = _webhook(client, verified)  # PharmacyVerified arrives before eRxSent
        duplicate = _webhook(client, verified)
        late = _webhook(client, [sent])
    assert first.json() == {"received": 1, "stored": 1, "duplicates": 0}
    assert duplicate.json() == {"received": 1, "stored": 0, "duplicates": 1}
    assert late.json()["stored"] == 1
    draft.refresh_from_db()
    assert draft.status == PrescriptionStatus.SIGNED
    assert draft.erx_status == ErxStatus.PHARMACY_RECEIVED  # the late eRxSent moved nothing back
    assert DeliveryOrder.objects.filter(prescription=draft).count() == 1
    assert ErxEvent.objects.count() == 2
    assert all("PatientName" not in e.data for e in ErxEvent.objects.all())
    assert sorted(ErxEvent.objects.values_list("outcome", flat=True)) == ["signed", "stale"]


def test_webhook_with_a_wrong_or_missing_secret_is_refused_and_stores_nothing(client):
    payload = _result("sbx-rx-1", 4, "2026-11-20T15:04:00Z")
    assert _webhook(client, payload, secret="wrong").status_code == 400
    response = _webhook(client, payload, secret="")
    assert response.status_code == 400 and response.json()["code"] == "invalid_signature"
    bad = client.post(
        "/webhooks/erx/", data=b"not json", content_type="application/json", HTTP_AUTHORIZATION=ERX_WEBHOOK_SECRET
    )
    assert bad.status_code == 400
    assert not ErxEvent.objects.exists()


def test_a_cancellation_at_the_pharmacy_cancels_the_prescription_and_its_open_orders(client, signed):
    submission = ErxSubmission.objects.get(prescription=signed)
    payload = {
        "EventType": "MedicationStatusUpdate",
        "Data": {
            "PrescriptionId": submission.vendor_prescription_id,
            "MedicationStatus": 8,
            "StatusDateTime": "2026-11-20T16:00:00Z",
            "StatusNotes": "Cancelled at the pharmacy",
        },
    }
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert _webhook(client, payload).status_code == 200
    signed.refresh_from_db()
    assert (signed.status, signed.erx_status) == (PrescriptionStatus.CANCELLED, ErxStatus.CANCELLED)
    assert DeliveryOrder.objects.get(prescription=signed).status == OrderStatus.CANCELLED


def test_the_beat_poll_learns_what_the_vendor_did_when_webhooks_are_silent(signed, settings):
    settings.ERX_SANDBOX_PHARMACY_DELAY_SECONDS = 60
    submission = ErxSubmission.objects.get(prescription=signed)
    assert erx.silent_submission_ids() == []
    with time_machine.travel("2026-11-20T15:30:00Z", tick=False):
        ids = erx.silent_submission_ids()
        assert ids == [submission.pk]
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True):
            assert erx.erx_poll(submission_id=submission.pk) == "new_status"
        assert erx.erx_poll(submission_id=submission.pk) == "unchanged"
        assert erx.silent_submission_ids() == []  # just polled
    signed.refresh_from_db()
    assert signed.erx_status == ErxStatus.PHARMACY_RECEIVED


def test_discarding_a_prescription_awaiting_signature_cancels_it_at_the_vendor(
    api, physician, draft, django_capture_on_commit_callbacks
):
    propose(draft, physician, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(physician).post(url(draft, "discard"), format="json")
    assert response.status_code == 200 and response.json()["status"] == "discarded"
    assert SandboxPrescription.objects.get().status == "Deleted"


def test_prescriber_events_keep_the_epcs_status_current(client, physician, draft):
    row = enrol_epcs(physician, clinician_id="sbx-cl-77")
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        _webhook(client, {"EventType": "ClinicianTfaDeactivateSuccess", "Data": {"ClinicianId": "sbx-cl-77"}})
    row.refresh_from_db()
    assert not row.epcs_enabled
    with TestCase.captureOnCommitCallbacks(execute=True):
        _webhook(client, {"EventType": "ClinicianTfaActivateSuccess", "Data": {"ClinicianId": "sbx-cl-77"}})
    row.refresh_from_db()
    assert row.epcs_enabled
