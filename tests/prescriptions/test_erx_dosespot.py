"""The DoseSpot adapter against `httpx.MockTransport`: answers shaped like DoseSpot's REST API v2
(token, patients, pharmacy search, compiled-compound prescriptions, SSO, push notifications).
Never the network."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import date
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from prescriptions.erx.dosespot import DoseSpotErxGateway, sso_codes
from prescriptions.erx.gateway import (
    ErxNotFound,
    ErxRejected,
    ErxStatus,
    ErxTransientError,
    PatientData,
    ProposalData,
    WebhookRejected,
    use_gateway,
)

BASE = "https://my.staging.dosespot.com/webapi/v2/"
SECRET = "dosespot-push-secret-0123456789ab"


class FakeDoseSpot:
    """Records requests and answers like DoseSpot; `script` queues raw responses per path."""

    def __init__(self):
        self.requests: list[httpx.Request] = []
        self.script: dict[str, list[httpx.Response]] = {}
        self.pending: list[dict] = []
        self.tokens = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/webapi/v2/")
        queued = self.script.get(path)
        if queued:
            return queued.pop(0)
        if path == "connect/token":
            self.tokens += 1
            return httpx.Response(200, json={"access_token": f"tok-{self.tokens}", "expires_in": 600})
        if request.headers.get("Authorization") != f"Bearer tok-{self.tokens}":
            return httpx.Response(401, json={"Message": "Authorization has been denied"})
        if path == "api/patients" and request.method == "POST":
            return httpx.Response(200, json={"Id": 4321, "Result": {"ResultCode": "OK", "ResultDescription": ""}})
        if path == "api/pharmacies/search":
            return httpx.Response(
                200,
                json={
                    "Items": [
                        {
                            "PharmacyId": 155512,
                            "StoreName": "Sunshine Compounding",
                            "NCPDPID": "4412345",
                            "City": "Austin",
                            "State": "TX",
                            "ZipCode": "78701",
                        }
                    ],
                    "Result": {"ResultCode": "OK", "ResultDescription": ""},
                },
            )
        if path == "api/patients/4321/prescriptions" and request.method == "GET":
            return httpx.Response(200, json={"Items": self.pending, "Result": {"ResultCode": "OK"}})
        if path == "api/patients/4321/prescriptions/compiledcompound":
            return httpx.Response(200, json={"Id": 155501, "Result": {"ResultCode": "OK", "ResultDescription": ""}})
        if path == "api/patients/4321/prescriptions/155501":
            return httpx.Response(
                200,
                json={
                    "Item": {
                        "PrescriptionId": 155501,
                        "Status": "eRxSent",
                        "WrittenDate": "2026-11-20T15:04:00",
                        "LastUpdatedDate": "2026-11-20T15:04:30",
                    },
                    "Result": {"ResultCode": "OK"},
                },
            )
        if path == "api/patients/4321/prescriptions/155501/cancel":
            return httpx.Response(200, json={"Result": {"ResultCode": "OK"}})
        if path == "api/clinicians/123":
            return httpx.Response(
                200, json={"Item": {"EpcsRequested": True, "IsIdentityProofed": True, "TfaActivated": True}}
            )
        return httpx.Response(404, json={"Result": {"ResultCode": "ERROR", "ResultDescription": "Not found"}})

    def last(self, path: str) -> httpx.Request:
        return [r for r in self.requests if r.url.path.endswith(path)][-1]


@pytest.fixture
def fake():
    return FakeDoseSpot()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def gateway(fake, sleeps):
    return DoseSpotErxGateway(
        base_url=BASE,
        sso_url="https://my.staging.dosespot.com/LoginSingleSignOn.aspx",
        clinic_id="21",
        clinic_key="CLINIC-KEY-abc",
        user_id="900",
        subscription_key="sub-key",
        webhook_secret=SECRET,
        transport=httpx.MockTransport(fake),
        sleep=sleeps.append,
    )


PATIENT = PatientData(
    reference="3f1c0000-0000-4000-8000-000000000001",
    first_name="Alice",
    last_name="Anders",
    date_of_birth=date(1985, 6, 15),
    address_line1="1 Ocean Drive",
    address_line2="",
    city="Miami",
    state="FL",
    zip_code="33139",
    phone="3055550100",
)


def proposal(**overrides) -> ProposalData:
    values = {
        "idempotency_key": "6b0e0000-0000-4000-8000-00000000000a-1",
        "vendor_patient_id": "4321",
        "vendor_clinician_id": "123",
        "vendor_pharmacy_id": "155512",
        "description": "Ketamine HCl 100 mg Buccal troche (compounded)",
        "quantity": 8,
        "dispense_unit": "troche",
        "days_supply": 28,
        "refills": 1,
        "directions": "One troche during a monitored session, twice weekly.",
        "schedule": "3",
        "effective_date": date(2026, 11, 20),
        "pharmacy_note": "Ref 6b0e0000-0000-4000-8000-00000000000a-1",
    }
    values.update(overrides)
    return ProposalData(**values)


# --- auth ---------------------------------------------------------------------------------------
def test_token_request_uses_the_documented_password_grant_and_subscription_key(gateway, fake):
    gateway.sync_patient(PATIENT)
    token = fake.last("connect/token")
    form = parse_qs(token.content.decode())
    assert form == {
        "grant_type": ["password"],
        "client_id": ["21"],
        "client_secret": ["CLINIC-KEY-abc"],
        "username": ["900"],
        "password": ["CLINIC-KEY-abc"],
        "scope": ["api"],
    }
    assert token.headers["Subscription-Key"] == "sub-key"
    assert token.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    call = fake.last("api/patients")
    assert call.headers["Authorization"] == "Bearer tok-1" and call.headers["Subscription-Key"] == "sub-key"


def test_the_token_is_cached_and_renewed_once_after_a_401(gateway, fake):
    gateway.find_pharmacy(ncpdp_id="4412345")
    gateway.find_pharmacy(ncpdp_id="4412345")
    assert fake.tokens == 1
    fake.tokens = 5  # the vendor expired our token early: the next call gets 401, renews, succeeds
    gateway._tokens[""] = ("tok-old", float("inf"))
    assert gateway.find_pharmacy(ncpdp_id="4412345")[0].vendor_pharmacy_id == "155512"
    assert fake.tokens == 6


def test_refused_credentials_are_a_permanent_error(gateway, fake):
    fake.script["connect/token"] = [httpx.Response(400, json={"error": "invalid_grant"})]
    with pytest.raises(ErxRejected) as exc:
        gateway.sync_patient(PATIENT)
    assert exc.value.code == "erx_auth_failed" and not exc.value.transient


# --- patients, pharmacies, proposals ------------------------------------------------------------
def test_sync_patient_sends_only_what_the_prescription_needs(gateway, fake):
    assert gateway.sync_patient(PATIENT) == "4321"
    body = json.loads(fake.last("api/patients").content)
    assert set(body) == {
        "FirstName",
        "LastName",
        "DateOfBirth",
        "Gender",
        "Address1",
        "Address2",
        "City",
        "State",
        "ZipCode",
        "PrimaryPhone",
        "PrimaryPhoneType",
        "NonDoseSpotMedicalRecordNumber",
        "Active",
    }
    assert (body["DateOfBirth"], body["ZipCode"], body["Gender"]) == ("1985-06-15", "33139", "Unknown")


def test_find_pharmacy_by_ncpdp_id_or_by_name_and_zip(gateway, fake):
    (match,) = gateway.find_pharmacy(ncpdp_id="4412345")
    assert (match.vendor_pharmacy_id, match.ncpdp_id, match.name) == ("155512", "4412345", "Sunshine Compounding")
    assert fake.last("api/pharmacies/search").url.params["ncpdpId"] == "4412345"
    gateway.find_pharmacy(name="Sunshine", zip_code="78701")
    params = fake.last("api/pharmacies/search").url.params
    assert (params["name"], params["zip"]) == ("Sunshine", "78701")


def test_propose_posts_a_compiled_compound_on_behalf_of_the_prescriber(gateway, fake):
    assert gateway.propose(proposal()) == "155501"
    post = fake.last("prescriptions/compiledcompound")
    body = json.loads(post.content)
    assert body["PharmacyId"] == 155512 and body["PrescriberId"] == 123 and body["Schedule"] == "3"
    assert (body["Quantity"], body["Refills"], body["DaysSupply"]) == ("8", "1", 28)
    assert body["PharmacyNotes"] == "Ref 6b0e0000-0000-4000-8000-00000000000a-1"
    token = [r for r in fake.requests if r.url.path.endswith("connect/token")][-1]
    assert parse_qs(token.content.decode())["acr_values"] == ["OnBehalfOfUserId=123"]


def test_propose_is_idempotent_by_our_key(gateway, fake):
    fake.pending = [{"PrescriptionId": 155501, "PharmacyNotes": "Ref 6b0e0000-0000-4000-8000-00000000000a-1"}]
    assert gateway.propose(proposal()) == "155501"
    assert not [r for r in fake.requests if r.url.path.endswith("compiledcompound")]


def test_fetch_status_maps_dosespot_statuses(gateway):
    status = gateway.fetch_status(vendor_patient_id="4321", vendor_prescription_id="155501")
    assert (status.status, status.vendor_status) == (ErxStatus.TRANSMITTED, "eRxSent")
    assert status.signed_at is not None


def test_cancel_posts_to_the_cancel_endpoint(gateway, fake):
    gateway.cancel(vendor_patient_id="4321", vendor_prescription_id="155501")
    assert fake.last("155501/cancel").method == "POST"


def test_sync_prescriber_reads_identity_proofing_and_2fa(gateway):
    status = gateway.sync_prescriber(vendor_clinician_id="123")
    assert status.identity_proofed and status.two_factor_enrolled


# --- SSO ----------------------------------------------------------------------------------------
def test_sso_url_follows_dosespots_encrypted_clinic_key_and_user_id(gateway, monkeypatch):
    from prescriptions.erx import dosespot

    phrase = "A" * 16 + "b" * 16
    monkeypatch.setattr(dosespot, "_phrase", lambda length=32: phrase)
    url = urlparse(gateway.sso_url(vendor_clinician_id="123", vendor_patient_id="4321"))
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.path == "/LoginSingleSignOn.aspx"
    expected_code = phrase + base64.b64encode(hashlib.sha512((phrase + "CLINIC-KEY-abc").encode()).digest()).decode()
    expected_verify = base64.b64encode(hashlib.sha512(("123" + phrase[:22] + "CLINIC-KEY-abc").encode()).digest())
    assert query["SingleSignOnCode"] == expected_code.removesuffix("==")
    assert query["SingleSignOnUserIdVerify"] == expected_verify.decode().removesuffix("==")
    assert (query["SingleSignOnClinicId"], query["SingleSignOnUserId"], query["PatientId"]) == ("21", "123", "4321")
    assert query["SingleSignOnPhraseLength"] == "32"
    assert "Alice" not in url.query and "1985" not in url.query


def test_sso_codes_strip_a_double_equals_padding():
    code, verify = sso_codes(clinic_key="k", user_id="1", phrase="p" * 32)
    assert not code.endswith("==") and not verify.endswith("==")


# --- webhooks -----------------------------------------------------------------------------------
def test_webhook_needs_the_shared_secret_and_keeps_only_whitelisted_fields(gateway):
    body = json.dumps(
        {
            "EventType": "PrescriptionResult",
            "Data": {
                "PatientId": 4321,
                "PrescriptionId": 155501,
                "PrescriptionStatus": 13,
                "StatusDateTime": "2020-08-27T09:30:00.123Z",
                "StatusDetails": "Prescription delivery verified",
                "PatientFirstName": "Alice",
            },
        }
    ).encode()
    with pytest.raises(WebhookRejected):
        gateway.parse_webhook(body=body, headers={"Authorization": "nope"})
    with pytest.raises(WebhookRejected):
        gateway.parse_webhook(body=body, headers={})
    (event,) = gateway.parse_webhook(body=body, headers={"Authorization": f"Bearer {SECRET}"})
    assert event.event_type == "PrescriptionResult" and "PatientFirstName" not in event.data
    (same,) = gateway.parse_webhook(body=body, headers={"Authorization": SECRET})
    assert same.event_id == event.event_id  # a redelivery has the same id


# --- retries and error mapping ------------------------------------------------------------------
def test_transient_failures_are_retried_with_backoff_then_succeed(gateway, fake, sleeps):
    fake.script["api/pharmacies/search"] = [httpx.Response(503), httpx.Response(429, headers={"Retry-After": "2"})]
    assert gateway.find_pharmacy(ncpdp_id="4412345")
    assert sleeps == [0.5, 2.0]


def test_a_vendor_that_stays_down_is_a_transient_error(gateway, fake, sleeps):
    fake.script["api/pharmacies/search"] = [httpx.Response(502) for _ in range(5)]
    with pytest.raises(ErxTransientError):
        gateway.find_pharmacy(ncpdp_id="4412345")
    assert sleeps == [0.5, 1.0, 2.0]  # bounded exponential backoff


def test_network_errors_are_retried_then_transient(fake, sleeps):
    def broken(request):
        raise httpx.ConnectError("refused", request=request)

    gw = DoseSpotErxGateway(
        base_url=BASE,
        sso_url="https://x.example/sso",
        clinic_id="21",
        clinic_key="k",
        user_id="9",
        subscription_key="s",
        transport=httpx.MockTransport(broken),
        sleep=sleeps.append,
    )
    with pytest.raises(ErxTransientError):
        gw.find_pharmacy(ncpdp_id="1")
    assert len(sleeps) == 3


def test_a_result_code_error_on_http_200_is_the_vendor_refusing(gateway, fake):
    fake.script["api/patients/4321/prescriptions/compiledcompound"] = [
        httpx.Response(200, json={"Id": 0, "Result": {"ResultCode": "ERROR", "ResultDescription": "Invalid Pharmacy"}})
    ]
    with pytest.raises(ErxRejected) as exc:
        gateway.propose(proposal())
    assert exc.value.message == "Invalid Pharmacy" and not exc.value.transient


def test_http_errors_map_to_rejected_and_not_found(gateway, fake):
    fake.script["api/patients"] = [httpx.Response(400, json={"Message": "ZipCode is invalid"})]
    with pytest.raises(ErxRejected, match="ZipCode is invalid"):
        gateway.sync_patient(PATIENT)
    with pytest.raises(ErxNotFound):
        gateway.fetch_status(vendor_patient_id="4321", vendor_prescription_id="999")


def test_dosespot_needs_every_setting():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        DoseSpotErxGateway(base_url=BASE, sso_url="", clinic_id="", clinic_key="", user_id="", subscription_key="")


# --- the flow with the DoseSpot adapter ---------------------------------------------------------
@pytest.mark.django_db
def test_end_to_end_with_dosespot_proposal_then_signed_notification(
    api, client, settings, gateway, fake, physician, draft, django_capture_on_commit_callbacks
):
    from prescriptions.erx.models import ErxSubmission
    from prescriptions.models import PrescriptionStatus
    from prescriptions.services.signing import prescription_sign
    from tests.factories import PASSWORD
    from tests.prescriptions.conftest import enrol_epcs

    settings.ERX_PROVIDER = "dosespot"
    settings.ERX_WEBHOOK_SECRET = SECRET
    enrol_epcs(physician, clinician_id="123").__class__.objects.filter(physician=physician).update(provider="dosespot")
    use_gateway("dosespot", gateway)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            prescription_sign(
                actor=physician, prescription_id=draft.public_id, password=PASSWORD, pregnant_or_nursing=False
            )
        submission = ErxSubmission.objects.get(prescription=draft)
        assert (submission.vendor_prescription_id, submission.vendor_patient_id) == ("155501", "4321")
        assert submission.vendor_pharmacy_id == "155512"
        session = api(physician).get(f"/api/v1/physician/prescriptions/{draft.public_id}/epcs-session/")
        assert session.status_code == 200, session.json()
        sso = urlparse(session.json()["url"])
        assert sso.netloc == "my.staging.dosespot.com" and parse_qs(sso.query)["PatientId"] == ["4321"]
        notification = {
            "EventType": "PrescriptionResult",
            "Data": {
                "PatientId": 4321,
                "ClinicId": 21,
                "ClinicianId": 123,
                "PrescriptionId": 155501,
                "PrescriptionStatus": 4,
                "StatusDateTime": "2026-11-20T15:04:00Z",
                "StatusDetails": "",
            },
        }
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/webhooks/erx/",
                data=json.dumps(notification),
                content_type="application/json",
                HTTP_AUTHORIZATION=SECRET,
            )
        assert response.status_code == 200
        draft.refresh_from_db()
        assert (draft.status, draft.erx_status) == (PrescriptionStatus.SIGNED, ErxStatus.TRANSMITTED)
        assert draft.signed_at.isoformat() == "2026-11-20T15:04:00+00:00"
    finally:
        use_gateway("dosespot", None)
