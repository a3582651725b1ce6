"""The e-prescribing gateway: one small interface, two adapters chosen by `ERX_PROVIDER`.

    sync_patient      our patient -> the vendor's patient id (demographics the prescription needs)
    sync_prescriber   the vendor's clinician id -> EPCS readiness (identity proofed, 2FA enrolled)
    find_pharmacy     by NCPDP ID, or by name and ZIP
    propose           a pending prescription the prescriber signs at the vendor (idempotent by key)
    sso_url           the vendor's single-sign-on URL to its signing screen
    fetch_status      the vendor's current status of one prescription (the poll)
    cancel            cancel a proposal or a transmitted prescription
    parse_webhook     verify a notification per the vendor's scheme and read its events

`sandbox` simulates a vendor offline (the embedded default); `dosespot` is DoseSpot's REST API v2
over httpx. Business rules never live here: the adapters translate, `services/erx.py` decides.
Minimum necessary (HIPAA 164.502(b)): `PatientData` and `ProposalData` hold exactly what a
controlled-substance e-prescription carries, and adapters never log any of it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from prescriptions.erx.models import ErxStatus

# What an event may keep: identifiers, status codes, times, the vendor's status text.
EVENT_FIELDS = (
    "ClinicId",
    "ClinicianId",
    "AgentId",
    "PatientId",
    "PrescriptionId",
    "PrescriptionStatus",
    "MedicationStatus",
    "StatusDateTime",
    "StatusDetails",
    "StatusNotes",
    "ClinicianIDPCompleteDate",
    "IDPCompleteType",
    "LockoutDateTime",
)


@dataclass(frozen=True)
class PatientData:
    """What the vendor needs to identify the patient on the prescription (21 CFR 1306.05(a): name
    and address; NCPDP SCRIPT adds date of birth). No diagnosis, notes or questionnaires."""

    reference: str  # our opaque public id
    first_name: str
    last_name: str
    date_of_birth: date
    address_line1: str
    address_line2: str
    city: str
    state: str
    zip_code: str
    phone: str  # 10 digits, or "" (the vendor may require one)


@dataclass(frozen=True)
class PrescriberStatus:
    vendor_clinician_id: str
    identity_proofed: bool
    two_factor_enrolled: bool


@dataclass(frozen=True)
class PharmacyMatch:
    vendor_pharmacy_id: str
    ncpdp_id: str
    name: str
    city: str
    state: str
    zip_code: str


@dataclass(frozen=True)
class ProposalData:
    idempotency_key: str
    vendor_patient_id: str
    vendor_clinician_id: str
    vendor_pharmacy_id: str
    description: str  # the compound: drug, strength, dosage form
    quantity: int
    dispense_unit: str
    days_supply: int
    refills: int
    directions: str
    schedule: str  # "3" for ketamine (Schedule III)
    effective_date: date
    pharmacy_note: str  # our reference for the pharmacy, no PHI


@dataclass(frozen=True)
class VendorStatus:
    vendor_prescription_id: str
    status: str | None  # an ErxStatus value, or None: nothing to change
    vendor_status: str
    occurred_at: datetime | None
    message: str = ""
    signed_at: datetime | None = None


@dataclass(frozen=True)
class VendorEvent:
    event_id: str
    event_type: str
    data: dict


class ErxError(Exception):
    """A vendor call failed. `transient` errors (network, 429, 5xx, expired token) are retried with
    backoff; the others are the vendor refusing the content, shown to the prescriber as `message`."""

    transient = False

    def __init__(self, message: str, *, code: str = "erx_vendor_error", status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class ErxTransientError(ErxError):
    transient = True


class ErxRejected(ErxError):
    pass


class ErxNotFound(ErxError):
    pass


class WebhookRejected(Exception):
    """The notification failed the vendor's verification scheme (400, nothing stored)."""


class ErxGateway(Protocol):
    provider: str

    def sync_patient(self, patient: PatientData, *, vendor_patient_id: str = "") -> str: ...

    def sync_prescriber(self, *, vendor_clinician_id: str) -> PrescriberStatus: ...

    def find_pharmacy(self, *, ncpdp_id: str = "", name: str = "", zip_code: str = "") -> list[PharmacyMatch]: ...

    def propose(self, proposal: ProposalData) -> str: ...

    def sso_url(self, *, vendor_clinician_id: str, vendor_patient_id: str = "") -> str: ...

    def fetch_status(self, *, vendor_patient_id: str, vendor_prescription_id: str) -> VendorStatus: ...

    def cancel(self, *, vendor_patient_id: str, vendor_prescription_id: str) -> None: ...

    def parse_webhook(self, *, body: bytes, headers) -> list[VendorEvent]: ...


# --- DoseSpot's status vocabulary (shared by both adapters: the sandbox speaks it too) --------------
# PrescriptionStatus in the Full+EPCS v2 spec, in order (the push notification sends the number;
# 13 = PharmacyVerified in DoseSpot's own example). docs/e-prescribing.md#status-mapping
DOSESPOT_PRESCRIPTION_STATUSES = {
    1: "Entered",
    2: "Printed",
    3: "Sending",
    4: "eRxSent",
    5: "FaxSent",
    6: "Error",
    7: "Deleted",
    8: "Requested",
    9: "Edited",
    10: "EpcsError",
    11: "EpcsSigned",
    12: "ReadyToSign",
    13: "PharmacyVerified",
    14: "PharmacySelect",
    15: "Retracted",
}
# -> our ErxStatus; None = no change (still waiting, or signed but not yet sent).
VENDOR_STATUS_MAP: dict[str, str | None] = {
    "entered": None,
    "edited": None,
    "requested": None,
    "readytosign": None,
    "pharmacyselect": None,
    "sending": None,
    "epcssigned": None,
    "erxsent": ErxStatus.TRANSMITTED,
    "pharmacyverified": ErxStatus.PHARMACY_RECEIVED,
    "error": ErxStatus.ERROR,
    "epcserror": ErxStatus.ERROR,
    # A Schedule III prescription must be transmitted electronically: paper or fax is not a lawful
    # route here (F.S. 456.42), so it is an error the prescriber must see.
    "printed": ErxStatus.ERROR,
    "faxsent": ErxStatus.ERROR,
    "deleted": ErxStatus.CANCELLED,
    "retracted": ErxStatus.CANCELLED,
    "cancelled": ErxStatus.CANCELLED,
}
# MedicationStatusUpdate (the pharmacy's side): 8 = cancelled at the pharmacy.
MEDICATION_STATUS_CANCELLED = {8, "8", "Cancelled"}


def vendor_status_name(raw) -> str:
    if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit()):
        return DOSESPOT_PRESCRIPTION_STATUSES.get(int(raw), "Unknown")
    return str(raw or "Unknown")


def map_vendor_status(raw) -> str | None:
    return VENDOR_STATUS_MAP.get(vendor_status_name(raw).lower())


def event_id_for(event_type: str, data: dict) -> str:
    """DoseSpot's notifications carry no id: the event is identified by what it says, so a
    redelivery (same type, prescription, status and time) is recognised and stored once."""
    key = "|".join(
        str(data.get(k, ""))
        for k in ("PrescriptionId", "PrescriptionStatus", "MedicationStatus", "ClinicianId", "StatusDateTime")
    )
    return hashlib.sha256(f"{event_type}|{key}".encode()).hexdigest()[:40]


def verify_shared_secret(headers, secret: str) -> None:
    """DoseSpot's push notifications "include a secret key in the authentication header": compare
    it in constant time (with or without a "Bearer " prefix). Raises WebhookRejected."""
    if not secret:
        raise WebhookRejected("no webhook secret configured")
    supplied = (headers.get("Authorization") or "").strip()
    if supplied.lower().startswith("bearer "):
        supplied = supplied[7:].strip()
    if not supplied or not hmac.compare_digest(supplied.encode(), secret.encode()):
        raise WebhookRejected("bad secret")


def events_from_payload(payload) -> list[VendorEvent]:
    """One notification or a list of them -> whitelisted VendorEvents."""
    items = payload if isinstance(payload, list) else [payload]
    events = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("Data"), dict):
            raise WebhookRejected("bad body")
        event_type = str(item.get("EventType") or "")
        data = {k: item["Data"][k] for k in EVENT_FIELDS if k in item["Data"]}
        events.append(VendorEvent(event_id=event_id_for(event_type, data), event_type=event_type, data=data))
    return events


_GATEWAYS = {}


def erx_gateway() -> ErxGateway:
    provider = settings.ERX_PROVIDER
    if provider == "sandbox":
        # Start-up cycle: each vendor's adapter imports this module's interface and errors.
        from prescriptions.erx.sandbox import SandboxErxGateway

        return SandboxErxGateway()
    if provider == "dosespot":
        from prescriptions.erx.dosespot import DoseSpotErxGateway

        return _GATEWAYS.get("dosespot") or DoseSpotErxGateway.from_settings()
    raise ImproperlyConfigured(f"Unknown ERX_PROVIDER {provider!r}")


def use_gateway(provider: str, gateway) -> None:
    """Install a configured adapter (tests: a DoseSpotErxGateway over httpx.MockTransport); None clears."""
    if gateway is None:
        _GATEWAYS.pop(provider, None)
    else:
        _GATEWAYS[provider] = gateway
