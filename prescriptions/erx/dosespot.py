"""DoseSpot REST API v2 over httpx: the real EPCS vendor adapter (ERX_PROVIDER=dosespot).

What it follows (sources in docs/e-prescribing.md#sources):
- Token: POST {base}/connect/token, form-encoded grant_type=password, client_id=<clinic id>,
  client_secret=<clinic key>, username=<user id>, password=<clinic key>, scope=api, with the
  `Subscription-Key` header on every request; `Authorization: Bearer <token>` after. Tokens
  expire (10 minutes in staging): cached until shortly before `expires_in`, and a 401 drops the
  cache and retries once with a new one. Calls on behalf of a prescriber pass
  acr_values=OnBehalfOfUserId=<clinician id>.
- Patients: POST api/patients (PUT api/patients/{id} to update); prescriptions:
  POST api/patients/{patientId}/prescriptions/compiledcompound (a pending compound the prescriber
  signs in DoseSpot's UI), GET .../prescriptions/{id}, POST .../prescriptions/{id}/cancel;
  pharmacies: GET api/pharmacies/search?ncpdpId=|name=&zip=; clinicians: GET api/clinicians/{id}.
- Answers carry `Result: {ResultCode, ResultDescription}` even on HTTP 200; a ResultCode other than
  OK is the vendor refusing the content.
- SSO: LoginSingleSignOn.aspx with SingleSignOnClinicId, SingleSignOnUserId,
  SingleSignOnPhraseLength=32, SingleSignOnCode = phrase + base64(sha512(phrase + clinic key))
  and SingleSignOnUserIdVerify = base64(sha512(user id + phrase[:22] + clinic key)), each with a
  trailing "==" removed. No patient or prescription data in the URL beyond DoseSpot's PatientId.
- Push notifications: JSON {EventType, Data}, the configured secret in the Authorization header.

Retries: transient failures (connection errors, timeouts, 429, 5xx) are retried here a bounded
number of times with exponential backoff (and Retry-After on 429); the caller's task retries again
later. Idempotency: DoseSpot has no idempotency header, so `propose` first looks for a pending
prescription of this patient whose pharmacy note carries our key, and only then creates one.
Nothing of a request or answer body is logged: log lines carry the operation, HTTP status and ids.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import string
import time
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from prescriptions.erx.gateway import (
    ErxNotFound,
    ErxRejected,
    ErxTransientError,
    PatientData,
    PharmacyMatch,
    PrescriberStatus,
    ProposalData,
    VendorEvent,
    VendorStatus,
    WebhookRejected,
    events_from_payload,
    map_vendor_status,
    vendor_status_name,
    verify_shared_secret,
)

logger = logging.getLogger(__name__)

TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


def _strip_padding(value: str) -> str:
    return value[:-2] if value.endswith("==") else value


def _sha512_b64(text: str) -> str:
    return _strip_padding(base64.b64encode(hashlib.sha512(text.encode("utf-8")).digest()).decode())


def sso_codes(*, clinic_key: str, user_id: str, phrase: str) -> tuple[str, str]:
    """(SingleSignOnCode, SingleSignOnUserIdVerify) per DoseSpot's SSO calculation."""
    code = phrase + _sha512_b64(phrase + clinic_key)
    verify = _sha512_b64(f"{user_id}{phrase[:22]}{clinic_key}")
    return code, verify


def _phrase(length: int = 32) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _parse_time(value):
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.get_fixed_timezone(0))
    return parsed


class DoseSpotErxGateway:
    provider = "dosespot"

    def __init__(
        self,
        *,
        base_url: str,
        sso_url: str,
        clinic_id: str,
        clinic_key: str,
        user_id: str,
        subscription_key: str,
        webhook_secret: str = "",
        timeout: float = 20.0,
        max_retries: int = 3,
        backoff_seconds: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        sleep=time.sleep,
    ):
        if not all((base_url, sso_url, clinic_id, clinic_key, user_id, subscription_key)):
            raise ImproperlyConfigured("ERX_PROVIDER=dosespot needs every DOSESPOT_* setting.")
        self.base_url = base_url.rstrip("/") + "/"
        self.sso_base = sso_url
        self.clinic_id = str(clinic_id)
        self.clinic_key = clinic_key
        self.user_id = str(user_id)
        self.webhook_secret = webhook_secret
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._tokens: dict[str, tuple[str, float]] = {}
        self.client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"Subscription-Key": subscription_key, "Accept": "application/json"},
        )

    @classmethod
    def from_settings(cls, **overrides) -> DoseSpotErxGateway:
        kwargs = {
            "base_url": settings.DOSESPOT_BASE_URL,
            "sso_url": settings.DOSESPOT_SSO_URL,
            "clinic_id": settings.DOSESPOT_CLINIC_ID,
            "clinic_key": settings.DOSESPOT_CLINIC_KEY,
            "user_id": settings.DOSESPOT_USER_ID,
            "subscription_key": settings.DOSESPOT_SUBSCRIPTION_KEY,
            "webhook_secret": settings.ERX_WEBHOOK_SECRET,
            "timeout": settings.DOSESPOT_TIMEOUT_SECONDS,
        }
        kwargs.update(overrides)
        return cls(**kwargs)

    # --- transport ----------------------------------------------------------------------------
    def _token(self, on_behalf_of: str = "", *, fresh: bool = False) -> str:
        cached = self._tokens.get(on_behalf_of)
        if cached and not fresh and time.monotonic() < cached[1]:
            return cached[0]
        form = {
            "grant_type": "password",
            "client_id": self.clinic_id,
            "client_secret": self.clinic_key,
            "username": self.user_id,
            "password": self.clinic_key,
            "scope": "api",
        }
        if on_behalf_of:
            form["acr_values"] = f"OnBehalfOfUserId={on_behalf_of}"
        response = self._send("POST", "connect/token", data=form, operation="token")
        if response.status_code in (400, 401, 403):
            raise ErxRejected("The e-prescribing vendor refused our credentials.", code="erx_auth_failed")
        body = self._json(response)
        token = body.get("access_token")
        if not token:
            raise ErxTransientError("The vendor's token answer had no access token.", code="erx_auth_failed")
        lifetime = float(body.get("expires_in") or 600)
        self._tokens[on_behalf_of] = (token, time.monotonic() + max(lifetime - 30, 1))
        return token

    def _send(self, method: str, path: str, *, operation: str, **kwargs) -> httpx.Response:
        """One HTTP exchange with bounded retries on transient failures."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if attempt > self.max_retries:
                    logger.warning("dosespot %s transport error after %d attempts", operation, attempt)
                    raise ErxTransientError("The e-prescribing vendor is unreachable.") from exc
                self._sleep(self.backoff_seconds * 2 ** (attempt - 1))
                continue
            if response.status_code in TRANSIENT_STATUS and attempt <= self.max_retries:
                retry_after = response.headers.get("Retry-After", "")
                delay = float(retry_after) if retry_after.isdigit() else self.backoff_seconds * 2 ** (attempt - 1)
                logger.info("dosespot %s http=%s retry=%d", operation, response.status_code, attempt)
                self._sleep(min(delay, 30))
                continue
            if response.status_code in TRANSIENT_STATUS:
                raise ErxTransientError(
                    f"The e-prescribing vendor is unavailable (HTTP {response.status_code}).",
                    status=response.status_code,
                )
            logger.info("dosespot %s http=%s", operation, response.status_code)
            return response

    @staticmethod
    def _json(response: httpx.Response) -> dict:
        try:
            body = response.json()
        except (json.JSONDecodeError, ValueError) as exc:
            raise ErxTransientError("The vendor's answer was not JSON.", status=response.status_code) from exc
        return body if isinstance(body, dict) else {"Items": body}

    def _call(self, method: str, path: str, *, operation: str, on_behalf_of: str = "", **kwargs) -> dict:
        """An API call: bearer token (renewed once on 401), errors mapped, Result checked."""
        for renew in (False, True):
            headers = {"Authorization": f"Bearer {self._token(on_behalf_of, fresh=renew)}"}
            response = self._send(method, path, operation=operation, headers=headers, **kwargs)
            if response.status_code != 401:
                break
        if response.status_code == 401:
            raise ErxRejected("The e-prescribing vendor refused our credentials.", code="erx_auth_failed", status=401)
        body = self._json(response) if response.content else {}
        result = body.get("Result") if isinstance(body.get("Result"), dict) else {}
        description = str(result.get("ResultDescription") or body.get("Message") or "").strip()[:500]
        if response.status_code == 404:
            raise ErxNotFound(description or "Not found at the vendor.", code="erx_not_found", status=404)
        if response.status_code >= 400:
            raise ErxRejected(description or f"Refused (HTTP {response.status_code}).", status=response.status_code)
        code = str(result.get("ResultCode") or "OK").strip()
        if code.upper() != "OK":
            raise ErxRejected(description or "The vendor refused the request.", status=response.status_code)
        return body

    # --- the interface ------------------------------------------------------------------------
    def sync_patient(self, patient: PatientData, *, vendor_patient_id: str = "") -> str:
        body = {
            "FirstName": patient.first_name,
            "LastName": patient.last_name,
            "DateOfBirth": patient.date_of_birth.isoformat(),
            # Sex is not part of our record; DoseSpot accepts Unknown.
            "Gender": "Unknown",
            "Address1": patient.address_line1,
            "Address2": patient.address_line2,
            "City": patient.city,
            "State": patient.state,
            "ZipCode": patient.zip_code,
            "PrimaryPhone": patient.phone,
            "PrimaryPhoneType": "Cell",
            "NonDoseSpotMedicalRecordNumber": patient.reference,
            "Active": True,
        }
        if vendor_patient_id:
            self._call("PUT", f"api/patients/{vendor_patient_id}", json=body, operation="patient_update")
            return vendor_patient_id
        answer = self._call("POST", "api/patients", json=body, operation="patient_add")
        return str(answer["Id"])

    def sync_prescriber(self, *, vendor_clinician_id: str) -> PrescriberStatus:
        answer = self._call("GET", f"api/clinicians/{vendor_clinician_id}", operation="clinician_get")
        item = answer.get("Item") or {}
        return PrescriberStatus(
            vendor_clinician_id=str(vendor_clinician_id),
            identity_proofed=bool(item.get("EpcsRequested") and item.get("IsIdentityProofed", item.get("Confirmed"))),
            two_factor_enrolled=bool(item.get("TfaActivated", item.get("IsTfaActivated", False))),
        )

    def find_pharmacy(self, *, ncpdp_id: str = "", name: str = "", zip_code: str = "") -> list[PharmacyMatch]:
        params = {"ncpdpId": ncpdp_id} if ncpdp_id else {"name": name, "zip": zip_code}
        answer = self._call("GET", "api/pharmacies/search", params=params, operation="pharmacy_search")
        return [
            PharmacyMatch(
                vendor_pharmacy_id=str(item.get("PharmacyId")),
                ncpdp_id=str(item.get("NCPDPID") or item.get("NcpdpId") or ""),
                name=str(item.get("StoreName") or ""),
                city=str(item.get("City") or ""),
                state=str(item.get("State") or ""),
                zip_code=str(item.get("ZipCode") or ""),
            )
            for item in answer.get("Items") or []
        ]

    def _find_existing(self, proposal: ProposalData) -> str | None:
        answer = self._call(
            "GET",
            f"api/patients/{proposal.vendor_patient_id}/prescriptions",
            params={"statusClass": "Pending"},
            operation="prescription_list",
            on_behalf_of=proposal.vendor_clinician_id,
        )
        for item in answer.get("Items") or []:
            if proposal.idempotency_key in str(item.get("PharmacyNotes") or ""):
                return str(item.get("PrescriptionId"))
        return None

    def propose(self, proposal: ProposalData) -> str:
        existing = self._find_existing(proposal)
        if existing:
            return existing
        body = {
            "CompoundDescription": proposal.description,
            "Quantity": str(proposal.quantity),
            "DispenseUnitDescription": proposal.dispense_unit,
            "Refills": str(proposal.refills),
            "DaysSupply": proposal.days_supply,
            "Directions": proposal.directions,
            "PharmacyId": int(proposal.vendor_pharmacy_id),
            "PharmacyNotes": proposal.pharmacy_note,
            "NoSubstitutions": True,
            "EffectiveDate": proposal.effective_date.isoformat(),
            "Schedule": proposal.schedule,
            "PrescriberId": int(proposal.vendor_clinician_id),
            "Status": "Entered",
        }
        answer = self._call(
            "POST",
            f"api/patients/{proposal.vendor_patient_id}/prescriptions/compiledcompound",
            json=body,
            operation="prescription_add",
            on_behalf_of=proposal.vendor_clinician_id,
        )
        return str(answer["Id"])

    def sso_url(self, *, vendor_clinician_id: str, vendor_patient_id: str = "") -> str:
        phrase = _phrase()
        code, verify = sso_codes(clinic_key=self.clinic_key, user_id=str(vendor_clinician_id), phrase=phrase)
        query = {
            "SingleSignOnClinicId": self.clinic_id,
            "SingleSignOnUserId": str(vendor_clinician_id),
            "SingleSignOnPhraseLength": "32",
            "SingleSignOnCode": code,
            "SingleSignOnUserIdVerify": verify,
        }
        if vendor_patient_id:
            query["PatientId"] = str(vendor_patient_id)
        else:
            query["RefillsErrors"] = "1"
        return f"{self.sso_base}?{urlencode(query)}"

    def fetch_status(self, *, vendor_patient_id: str, vendor_prescription_id: str) -> VendorStatus:
        answer = self._call(
            "GET",
            f"api/patients/{vendor_patient_id}/prescriptions/{vendor_prescription_id}",
            operation="prescription_get",
        )
        item = answer.get("Item") or answer.get("Prescription") or {}
        raw = item.get("Status") or item.get("PrescriptionStatus")
        return VendorStatus(
            vendor_prescription_id=str(vendor_prescription_id),
            status=map_vendor_status(raw),
            vendor_status=vendor_status_name(raw),
            occurred_at=_parse_time(item.get("LastUpdatedDate") or item.get("StatusDateTime")),
            message=str(item.get("StatusDetails") or item.get("ErrorDetails") or "")[:500],
            signed_at=_parse_time(item.get("WrittenDate")) if map_vendor_status(raw) else None,
        )

    def cancel(self, *, vendor_patient_id: str, vendor_prescription_id: str) -> None:
        self._call(
            "POST",
            f"api/patients/{vendor_patient_id}/prescriptions/{vendor_prescription_id}/cancel",
            json={},
            operation="prescription_cancel",
        )

    def parse_webhook(self, *, body: bytes, headers) -> list[VendorEvent]:
        verify_shared_secret(headers, self.webhook_secret)
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise WebhookRejected("bad body") from exc
        return events_from_payload(payload)
