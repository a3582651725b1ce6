"""Fixtures of the prescriptions tests: catalogue, pharmacies, orders, webhook signing."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from prescriptions.carriers import FakeCarrierTracker
from prescriptions.erx.sandbox import SandboxErxGateway
from tests.prescriptions.factories import DeliveryOrderFactory, ProductFactory, licensed_pharmacy

WEBHOOK_SECRET = "whsec-test-only-0123456789"
ERX_WEBHOOK_SECRET = "erx-test-only-secret-0123456789abcdef"
SANDBOX_TEST_CODE = "246810"


def enrol_epcs(physician, *, ready: bool = True, clinician_id: str | None = None):
    """The physician's sandbox vendor account, identity-proofed and 2FA-enrolled when `ready`."""
    from django.utils import timezone

    from prescriptions.erx.models import ErxPrescriber

    when = timezone.now() if ready else None
    row, _ = ErxPrescriber.objects.update_or_create(
        physician=physician,
        defaults={
            "provider": "sandbox",
            "vendor_clinician_id": clinician_id or f"sbx-cl-{physician.pk}",
            "identity_proofed_at": when,
            "two_factor_enrolled_at": when,
        },
    )
    return row


def complete_epcs_signature(rx, *, outcome: str = "transmitted"):
    """What happens after `prescription_sign` outside our API: the queued proposal reaches the
    vendor, the prescriber signs there (the sandbox's one-time code, set to a known value here
    instead of read from the log), and the vendor's notifications are applied. Returns `rx` fresh."""
    from django.test import TestCase

    from prescriptions.erx.models import ErxSubmission, SandboxPrescription
    from prescriptions.erx.sandbox import _hash
    from prescriptions.services import erx

    with TestCase.captureOnCommitCallbacks(execute=True):
        submission = ErxSubmission.objects.filter(prescription=rx).order_by("-attempt").first()
        if submission.send_state == "pending":
            erx.erx_proposal_send(submission_id=submission.pk)
        submission.refresh_from_db()
        SandboxPrescription.objects.filter(idempotency_key=submission.idempotency_key).update(
            code_hash=_hash(SANDBOX_TEST_CODE)
        )
        erx.erx_sandbox_sign(actor=rx.physician, prescription_id=rx.public_id, code=SANDBOX_TEST_CODE, outcome=outcome)
    rx.refresh_from_db()
    return rx


NOW = "2026-11-20T15:00:00Z"  # a Friday, 10:00 in Florida and New Jersey, before 2026-12-31


@pytest.fixture(autouse=True)
def _frozen_now():
    import time_machine

    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def _prescriptions_settings(settings):
    settings.EASYPOST_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.CARRIER_TRACKER = "fake"
    settings.PHARMACY_GATEWAY = "email"
    settings.ERX_PROVIDER = "sandbox"
    settings.ERX_WEBHOOK_SECRET = ERX_WEBHOOK_SECRET
    FakeCarrierTracker.statuses.clear()
    SandboxErxGateway.reset()
    yield
    FakeCarrierTracker.statuses.clear()
    SandboxErxGateway.reset()


@pytest.fixture(autouse=True)
def _without_fill_checks(settings):
    """Prescriptions' own tests run without the apps above it: the fill checks those apps plug
    into PRESCRIPTIONS_FILL_CHECKS (early refills, fill holds) are tested in tests/treatment."""
    settings.PRESCRIPTIONS_FILL_CHECKS = {"hold_reasons": [], "early_refill": []}


@pytest.fixture
def product(db):
    return ProductFactory()


@pytest.fixture
def pharmacy(db):
    """Licensed for Florida and New Jersey."""
    return licensed_pharmacy("FL", "NJ", name="Sunshine Compounding")


@pytest.fixture
def fl_only_pharmacy(db):
    return licensed_pharmacy("FL", name="Gulf Coast Compounding")


@pytest.fixture
def order_factory(db):
    return DeliveryOrderFactory


def sign_body(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "hmac-sha256-hex=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def tracker_event(*, event_id: str, tracker_id: str, status: str, updated_at: str, carrier: str = "USPS") -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "Event",
            "description": "tracker.updated",
            "result": {
                "id": tracker_id,
                "object": "Tracker",
                "tracking_code": "9400100000000000000000",
                "carrier": carrier,
                "status": status,
                "updated_at": updated_at,
            },
        }
    ).encode()


@pytest.fixture
def post_webhook(client):
    def post(body: bytes, signature: str | None = None):
        headers = {} if signature == "" else {"HTTP_X_HMAC_SIGNATURE": signature or sign_body(body)}
        return client.post("/webhooks/easypost/", data=body, content_type="application/json", **headers)

    return post


# --- A patient ready for a prescription: every signing gate met ---------------------------------
NJ_ADDRESS = {
    "state": "NJ",
    "county_id": "34013",
    "city": "Newark",
    "zip_code": "07102",
    "address_line1": "1 Broad St",
    "time_zone": "America/New_York",
}


def make_ready(
    patient, physician, *, state: str = "FL", pdmp: bool = True, evaluation: bool = True, screening: bool = True
):
    """Build, with the other apps' factories and services, everything signing checks."""
    from datetime import timedelta

    from django.utils import timezone

    from patients.services.consents import consent_sign, current_documents
    from practice.models import PhysicianProfile
    from tests.billing.factories import StripeCustomerFactory, SubscriptionFactory
    from tests.patients.factories import PatientProfileFactory
    from tests.practice.factories import (
        DEARegistrationFactory,
        NJCDSRegistrationFactory,
        PhysicianProfileFactory,
        StateLicenseFactory,
    )
    from tests.prescriptions.factories import PDMPCheckFactory
    from tests.scheduling.factories import AppointmentFactory

    now = timezone.now()
    enrol_epcs(physician)
    if not PhysicianProfile.objects.filter(user=physician).exists():
        PhysicianProfileFactory(
            user=physician,
            office_address_line1="100 Clinic Way",
            office_city="Tampa",
            office_state="FL",
            office_zip_code="33602",
        )
    StateLicenseFactory(physician=physician, state=state)
    DEARegistrationFactory(physician=physician, state=state, number="AP5836727" if state == "FL" else "BB1388568")
    if state == "NJ":
        NJCDSRegistrationFactory(physician=physician)
    PatientProfileFactory(user=patient, assigned_physician=physician, **(NJ_ADDRESS if state == "NJ" else {}))
    for document in current_documents():
        consent_sign(patient=patient, document=document)
    SubscriptionFactory(customer=StripeCustomerFactory(patient=patient), patient=patient)
    if evaluation:
        # One hour apart per patient: a physician's visits may not overlap (PostgreSQL exclusion).
        starts_at = now - timedelta(days=10, hours=patient.pk % 200)
        AppointmentFactory(
            patient=patient,
            physician=physician,
            starts_at=starts_at,
            status="completed",
            completed_at=starts_at + timedelta(minutes=30),
            patient_state=state,
            patient_state_at_visit=state,
        )
    if pdmp:
        PDMPCheckFactory(patient=patient, checked_by=physician, state=state, checked_at=now)
    if screening:
        from patients.models import Screening

        Screening.objects.create(
            patient=patient, source="physician", screened_at=now - timedelta(days=10), recorded_by=physician
        )
    return patient


@pytest.fixture
def ready(db, patient, physician):
    """`patient` on `physician`'s caseload in Florida, every gate met (call ready(state="NJ") for NJ)."""
    return make_ready(patient, physician)


@pytest.fixture
def draft(ready, physician, product, pharmacy):
    from tests.prescriptions.factories import PrescriptionFactory

    return PrescriptionFactory(
        patient=ready, physician=physician, product=product, pharmacy=pharmacy, quantity=8, first_fill_quantity=4
    )


@pytest.fixture
def signed(draft, physician, django_capture_on_commit_callbacks):
    """The draft, signed through the real service and the sandbox EPCS vendor (first fill created
    and handed off)."""
    from prescriptions.services.signing import prescription_sign
    from tests.factories import PASSWORD

    with django_capture_on_commit_callbacks(execute=True):
        prescription_sign(
            actor=physician, prescription_id=draft.public_id, password=PASSWORD, pregnant_or_nursing=False
        )
    return complete_epcs_signature(draft)


def pause_shipments(patient):
    """A membership past due beyond the grace period (billing's rule)."""
    from datetime import timedelta

    from django.utils import timezone

    from billing.models import Subscription

    Subscription.objects.filter(patient=patient).update(
        status="past_due", past_due_since=timezone.now() - timedelta(days=30)
    )


@pytest.fixture
def reference_data(transactional_db):
    """Reload the migrations' reference rows (counties, appointment types, consent documents, the
    default policy) for threaded tests: a transactional test starts from a flushed database. The
    loaders are idempotent. (serialized_rollback would do it too, but it collides with content
    types re-created by other transactional tests' flushes.)"""
    import importlib

    from django.apps import apps

    for module, function in (
        ("practice.migrations.0002_load_counties", "load_counties"),
        ("scheduling.migrations.0002_appointment_types", "create_types"),
        ("patients.migrations.0002_load_consent_documents", "load"),
        ("prescriptions.migrations.0002_default_prescribing_policy", "create_default_policy"),
    ):
        getattr(importlib.import_module(module), function)(apps, None)
