"""A new patient's whole journey over HTTP, as the mobile app walks it, with time moved not waited for.

free assessment -> register -> profile (claiming the assessment) and consents -> a free video
consultation booked from the open slots -> membership through the billing sandbox (the same
signed-webhook path as Stripe) -> the visit completed by the physician -> a prescription signed at
the EPCS sandbox vendor -> the first fill through the pharmacy to delivered (carrier webhooks signed
locally) -> the pre-session check and a session -> a refill requested and approved.

Only the physician's and staff's steps use their own endpoints; the practice set-up (the physician's
credentials, the catalogue, a pharmacy) comes from factories, as an administrator would enter it.
Everything that commits runs its after-commit work (Celery tasks, outbox) at once, as a worker would.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import TestCase

from tests.conftest import client_for
from tests.factories import PASSWORD, PhysicianUserFactory, StaffUserFactory
from tests.prescriptions.conftest import complete_epcs_signature, enrol_epcs
from tests.prescriptions.factories import ProductFactory, licensed_pharmacy

pytestmark = pytest.mark.django_db

MIAMI = ZoneInfo("America/New_York")
START = datetime(2026, 11, 16, 9, 0, tzinfo=MIAMI)  # a Monday morning in Florida
EASYPOST_SECRET = "whsec-journey-only-0123456789"


@pytest.fixture(autouse=True)
def _journey_settings(settings):
    settings.BILLING_PROVIDER = "sandbox"
    settings.BILLING_ENABLED = True
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PRICE_ID = "price_sandbox_membership_monthly"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_sandbox"
    settings.ERX_PROVIDER = "sandbox"
    settings.EASYPOST_WEBHOOK_SECRET = EASYPOST_SECRET
    settings.CARRIER_TRACKER = "fake"
    settings.PHARMACY_GATEWAY = "email"


class App:
    """The mobile app (or the physician's and staff's clients): JSON over HTTP, signed in with a JWT.
    Each request's after-commit work runs before the next request, as a worker would run it."""

    def __init__(self, user=None):
        self.user = user
        self.client = client_for(user)

    def login(self, email: str, password: str = PASSWORD):
        response = self.call("post", "/api/v1/auth/token/", {"email": email, "password": password}, expect=200)
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {response['access']}")
        return self

    def call(self, method: str, url: str, body=None, *, expect: int = 200, **kwargs):
        with TestCase.captureOnCommitCallbacks(execute=True):
            if method == "get":
                response = self.client.get(url, body, **kwargs)
            else:
                response = getattr(self.client, method)(url, body, format="json", **kwargs)
        assert response.status_code == expect, f"{method.upper()} {url}: {response.status_code} {response.content!r}"
        return response.json() if response.content else None


def easypost(client, *, event_id: str, tracker_id: str, status: str, at: datetime):
    body = json.dumps(
        {
            "id": event_id,
            "object": "Event",
            "description": "tracker.updated",
            "result": {
                "id": tracker_id,
                "object": "Tracker",
                "tracking_code": "9400100000000000000000",
                "carrier": "USPS",
                "status": status,
                "updated_at": at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        }
    ).encode()
    signature = "hmac-sha256-hex=" + hmac.new(EASYPOST_SECRET.encode(), body, hashlib.sha256).hexdigest()
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            "/webhooks/easypost/", data=body, content_type="application/json", HTTP_X_HMAC_SIGNATURE=signature
        )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def practice(db):
    """The practice as an administrator set it up: a Florida physician enrolled for EPCS, the
    catalogue, a licensed pharmacy, a care coordinator and a pharmacy liaison."""
    from tests.practice.factories import DEARegistrationFactory, PhysicianProfileFactory, StateLicenseFactory

    physician = PhysicianUserFactory(email="dr.journey@example.test", first_name="Maria", last_name="Lopez")
    PhysicianProfileFactory(
        user=physician,
        office_address_line1="100 Clinic Way",
        office_city="Tampa",
        office_state="FL",
        office_zip_code="33602",
    )
    StateLicenseFactory(physician=physician, state="FL")
    DEARegistrationFactory(physician=physician, state="FL", number="AP5836727")
    enrol_epcs(physician)
    return {
        "physician": physician,
        "product": ProductFactory(),
        "pharmacy": licensed_pharmacy("FL", "NJ", name="Sunshine Compounding"),
        "coordinator": StaffUserFactory(email="coordinator.journey@example.test"),
    }


def test_a_new_patient_goes_from_the_free_assessment_to_an_approved_refill(practice, client):
    physician = practice["physician"]
    with time_machine.travel(START, tick=True):
        doctor = App(physician)
        # --- the physician opens weekly hours (their own endpoint) ----------------------------
        for weekday in range(5):
            doctor.call(
                "post",
                "/api/v1/physician/availability/weekly/",
                {"weekday": weekday, "start_time": "09:00", "end_time": "17:00"},
                expect=201,
            )

        # --- 1. the free assessment, no account --------------------------------------------
        anonymous = App()
        assessment = anonymous.call(
            "post",
            "/api/v1/assessments/",
            {
                "zip_code": "33139",
                "date_of_birth": "1985-06-15",
                "conditions": ["depression"],
                "treatments_tried": ["antidepressants", "psychotherapy"],
                "contraindications": [],
                "medications": [],
            },
            expect=201,
        )
        assert assessment["outcome"] == "likely_eligible", assessment

        # --- 2. register and sign in -------------------------------------------------------
        anonymous.call(
            "post",
            "/api/v1/auth/register/",
            {"email": "new.journey@example.test", "password": "A-long-passphrase-42", "first_name": "Nia"},
            expect=202,
        )
        app = App().login("new.journey@example.test", "A-long-passphrase-42")
        me = app.call("get", "/api/v1/auth/me/")
        assert me["role"] == "patient"

        # --- 3. profile (claiming the assessment) and consents -----------------------------
        app.call(
            "put",
            "/api/v1/patient/profile/",
            {
                "legal_first_name": "Nia",
                "legal_last_name": "Journey",
                "date_of_birth": "1985-06-15",
                "phone": "(305) 555-0100",
                "address_line1": "1 Ocean Drive",
                "city": "Miami",
                "state": "FL",
                "zip_code": "33139",
                "emergency_contact_name": "Em",
                "emergency_contact_phone": "305-555-0101",
                "emergency_contact_relationship": "sister",
                "monitor_name": "Mo",
                "monitor_phone": "305 555 0102",
                "monitor_relationship": "husband",
                "monitor_adult_confirmed": True,
                "assessment_id": assessment["assessment_id"],
                "assessment_token": assessment["claim_token"],
            },
            expect=201,
        )
        consents = app.call("get", "/api/v1/patient/consents/")
        documents = consents["results"] if isinstance(consents, dict) and "results" in consents else consents
        for document in documents:
            document_id = document.get("document_id") or document.get("id")
            app.call("post", f"/api/v1/patient/consents/{document_id}/sign/", {}, expect=201)

        # --- 4. a free video consultation from the open slots -------------------------------
        tomorrow = (START + timedelta(days=1)).date()
        slots = app.call(
            "get",
            "/api/v1/availability/",
            {"start": tomorrow.isoformat(), "end": tomorrow.isoformat(), "appointment_type": "free_consultation"},
        )
        (entry,) = [e for e in slots["results"] if e["physician"]["id"] == str(physician.public_id)]
        slot = entry["slots"][0]
        visit = app.call(
            "post",
            "/api/v1/appointments/",
            {
                "physician": str(physician.public_id),
                "appointment_type": "free_consultation",
                "starts_at": slot["starts_at_utc"],
                "idempotency_key": "journey-free-consultation",
            },
            expect=201,
        )

        # --- 5. membership through the billing sandbox --------------------------------------
        started = app.call("post", "/api/v1/billing/subscription/", {}, expect=201)
        assert started["provider"] == "sandbox"
        app.call("post", "/api/v1/billing/sandbox/pay/", {"client_secret": started["client_secret"]})
        membership = app.call("get", "/api/v1/billing/subscription/")
        assert membership["standing"]["ok"] is True, membership

    # --- 6. the visit, completed by the physician --------------------------------------------
    starts_at = datetime.fromisoformat(visit["starts_at"].replace("Z", "+00:00"))
    with time_machine.travel(starts_at - timedelta(minutes=2), tick=True):
        doctor = App(physician)
        doctor.call("post", f"/api/v1/appointments/{visit['id']}/start/")
    with time_machine.travel(starts_at + timedelta(minutes=15), tick=True) as clock:
        doctor = App(physician)
        completed = doctor.call(
            "post", f"/api/v1/appointments/{visit['id']}/complete/", {"visit_note": "Good candidate; discussed risks."}
        )
        assert completed["status"] == "completed"
        patient_id = completed["patient"]["id"]

        # --- 7. PDMP, the prescription, signed at the EPCS sandbox vendor --------------------
        doctor.call(
            "post",
            f"/api/v1/physician/patients/{patient_id}/pdmp-checks/",
            {"result_summary": "No other controlled prescriptions."},
            expect=201,
        )
        draft = doctor.call(
            "post",
            "/api/v1/physician/prescriptions/",
            {
                "patient": patient_id,
                "product": str(practice["product"].public_id),
                "pharmacy": str(practice["pharmacy"].public_id),
                "dose": "1 troche",
                "directions": "Dissolve one troche under the tongue during a monitored session.",
                "quantity": 8,
                "first_fill_quantity": 4,
                "days_supply": 28,
                "refills": 2,
            },
            expect=201,
        )
        proposed = doctor.call(
            "post",
            f"/api/v1/physician/prescriptions/{draft['id']}/sign/",
            {"password": PASSWORD, "patient_pregnant_or_nursing": False},
        )
        assert proposed["status"] == "awaiting_epcs_signature", proposed
        from prescriptions.models import Prescription

        rx = complete_epcs_signature(Prescription.objects.get(public_id=draft["id"]))
        assert rx.status == "signed"

        mine = app_for(app).call("get", "/api/v1/patient/prescriptions/")
        assert mine["count"] == 1

        # --- 8. the first fill: pharmacy, carrier, delivered ----------------------------------
        orders = app_for(app).call("get", "/api/v1/patient/delivery-orders/")
        order_id = orders["results"][0]["id"]
        liaison = App(practice["coordinator"])
        for step in ("compounding",):
            liaison.call("post", f"/api/v1/staff/delivery-orders/{order_id}/transition/", {"to": step})
        shipped = liaison.call(
            "post",
            f"/api/v1/staff/delivery-orders/{order_id}/transition/",
            {"to": "shipped", "carrier": "USPS", "tracking_number": "9400100000000000000000"},
        )
        assert shipped["status"] == "shipped"
        from prescriptions.models import DeliveryOrder

        tracker_id = DeliveryOrder.objects.get(public_id=order_id).tracker_id
        clock.shift(timedelta(days=1))
        easypost(client, event_id="evt_journey_1", tracker_id=tracker_id, status="in_transit", at=datetime.now(MIAMI))
        clock.shift(timedelta(days=1))
        easypost(client, event_id="evt_journey_2", tracker_id=tracker_id, status="delivered", at=datetime.now(MIAMI))
        order = app_for(app).call("get", f"/api/v1/patient/delivery-orders/{order_id}/")
        assert order["status"] == "delivered"

    # --- 9. the pre-session check and a session, three times (two a week at most) ----------------
    for day in (3, 7, 11):
        with time_machine.travel(starts_at + timedelta(days=day), tick=True) as clock:
            app = app_for(app)
            check = app.call(
                "post",
                "/api/v1/patient/pre-session-checks/",
                {
                    "readings": [{"systolic": 122, "diastolic": 78}, {"systolic": 120, "diastolic": 76}],
                    "rested_5_minutes": True,
                    "monitor_present": True,
                    "monitor_adult": True,
                    "monitor_sober": True,
                    "pregnant_or_nursing": False,
                },
                expect=201,
            )
            assert check["outcome"] == "go", check
            session = app.call("post", "/api/v1/patient/sessions/", {"monitor_attested": True}, expect=201)
            clock.shift(timedelta(hours=2))
            app = app_for(app)
            app.call("post", f"/api/v1/patient/sessions/{session['session_id']}/end/")
            app.call(
                "post",
                f"/api/v1/patient/sessions/{session['session_id']}/check-in/",
                {
                    "overall": 8,
                    "nausea_vomiting": False,
                    "dizziness": False,
                    "dissociation": 3,
                    "headache": False,
                    "urinary_pain": False,
                    "blood_in_urine": False,
                    "did_not_drive": True,
                },
                expect=201,
            )
    # --- 10. a refill requested and approved --------------------------------------------------
    with time_machine.travel(starts_at + timedelta(days=12), tick=True):
        app = app_for(app)
        supply = app.call("get", "/api/v1/patient/supply/")
        (line,) = supply
        assert (line["doses_shipped"], line["doses_used"], line["doses_left"]) == (4, 3, 1)
        refill = app.call(
            "post", f"/api/v1/patient/prescriptions/{draft['id']}/refill-requests/", {"note": ""}, expect=201
        )
        doctor = App(physician)
        assert not refill.get("early_refill"), refill
        approved = doctor.call("post", f"/api/v1/physician/refill-requests/{refill['id']}/approve/", {})
        assert approved["status"] == "approved", approved
        orders = app.call("get", "/api/v1/patient/delivery-orders/")
        assert orders["count"] == 2


def app_for(app: App) -> App:
    """The app again after time moved: the access token is short-lived, so it signs in afresh."""
    return App(app.user) if app.user is not None else App().login("new.journey@example.test", "A-long-passphrase-42")
