"""The sandbox EPCS vendor (ERX_PROVIDER=sandbox, the embedded default): a faithful offline
simulation, so the whole flow runs without a network or a vendor contract.

It behaves like DoseSpot where it matters to us: vendor ids for patients, clinicians, pharmacies
and prescriptions; a proposal waits in `ReadyToSign` until the prescriber signs; statuses and
notifications in DoseSpot's vocabulary (`PrescriptionResult` with eRxSent, PharmacyVerified,
Error); idempotent proposals; a webhook verified by the shared secret; cancellation. The signing
step a real vendor performs behind its two-factor screen is simulated by a one-time code: the
sandbox writes it to the log when the proposal arrives (the demo's "phone"), and the prescriber
enters it at `POST /api/v1/physician/prescriptions/{id}/sandbox-sign/`.

Errors on request: a pharmacy with NCPDP ID 0000000 is not on the network (the proposal is
refused); `outcome="error"` at signing makes the transmission fail; tests script transient
failures with `SandboxErxGateway.script_failure(operation, exc)`. The sandbox "pharmacy" verifies a
transmitted prescription ERX_SANDBOX_PHARMACY_DELAY_SECONDS later, which the beat poll picks up.
Production refuses to start with it unless ERX_ALLOW_SANDBOX=true (staging).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from prescriptions.erx.gateway import (
    DOSESPOT_PRESCRIPTION_STATUSES,
    ErxNotFound,
    ErxRejected,
    PatientData,
    PharmacyMatch,
    PrescriberStatus,
    ProposalData,
    VendorEvent,
    VendorStatus,
    WebhookRejected,
    event_id_for,
    events_from_payload,
    map_vendor_status,
    verify_shared_secret,
)
from prescriptions.erx.models import SandboxPrescription
from prescriptions.models import Pharmacy

logger = logging.getLogger("prescriptions.erx.sandbox")

OFF_NETWORK_NCPDP = "0000000"
STATUS_NUMBER = {name: number for number, name in DOSESPOT_PRESCRIPTION_STATUSES.items()}


def _hash(code: str) -> str:
    return hashlib.sha256(f"{settings.SECRET_KEY}:sandbox-epcs:{code}".encode()).hexdigest()


class SandboxErxGateway:
    provider = "sandbox"
    _scripted: dict[str, list[Exception]] = {}

    @classmethod
    def script_failure(cls, operation: str, exc: Exception) -> None:
        """Make the next call of `operation` raise `exc` (tests and demos of retries)."""
        cls._scripted.setdefault(operation, []).append(exc)

    @classmethod
    def reset(cls) -> None:
        cls._scripted.clear()

    def _maybe_fail(self, operation: str) -> None:
        queue = self._scripted.get(operation)
        if queue:
            raise queue.pop(0)

    # --- the interface ------------------------------------------------------------------------
    def sync_patient(self, patient: PatientData, *, vendor_patient_id: str = "") -> str:
        self._maybe_fail("sync_patient")
        if not (patient.first_name and patient.last_name and patient.date_of_birth and patient.zip_code):
            raise ErxRejected("The patient's name, date of birth and address are required.")
        return vendor_patient_id or "sbx-pt-" + hashlib.sha256(patient.reference.encode()).hexdigest()[:12]

    def sync_prescriber(self, *, vendor_clinician_id: str) -> PrescriberStatus:
        self._maybe_fail("sync_prescriber")
        # Sandbox clinicians "sbx-cl-..." completed identity proofing and 2FA; "sbx-new-..." did not.
        enrolled = vendor_clinician_id.startswith("sbx-cl-")
        return PrescriberStatus(vendor_clinician_id, identity_proofed=enrolled, two_factor_enrolled=enrolled)

    def find_pharmacy(self, *, ncpdp_id: str = "", name: str = "", zip_code: str = "") -> list[PharmacyMatch]:
        self._maybe_fail("find_pharmacy")

        qs = Pharmacy.objects.filter(active=True).exclude(ncpdp_id="")
        qs = qs.filter(ncpdp_id=ncpdp_id) if ncpdp_id else qs.filter(name__icontains=name, zip_code=zip_code)
        return [PharmacyMatch(f"sbx-ph-{p.ncpdp_id}", p.ncpdp_id, p.name, p.city, p.state, p.zip_code) for p in qs[:20]]

    def propose(self, proposal: ProposalData) -> str:
        self._maybe_fail("propose")
        if proposal.vendor_pharmacy_id == f"sbx-ph-{OFF_NETWORK_NCPDP}":
            raise ErxRejected("The pharmacy is not on the e-prescribing network (sandbox).")
        if proposal.schedule != "3" or proposal.quantity <= 0:
            raise ErxRejected("The prescription is incomplete (sandbox validation).")
        with transaction.atomic():
            row, created = SandboxPrescription.objects.get_or_create(
                idempotency_key=proposal.idempotency_key,
                defaults={
                    "vendor_patient_id": proposal.vendor_patient_id,
                    "vendor_clinician_id": proposal.vendor_clinician_id,
                    "vendor_pharmacy_id": proposal.vendor_pharmacy_id,
                    "status": "ReadyToSign",
                },
            )
            if created:
                code = f"{secrets.randbelow(10**6):06d}"
                row.code_hash = _hash(code)
                row.save(update_fields=["code_hash"])
                # The simulated second factor: ids and the code only, nothing about the patient or drug.
                logger.warning(
                    'SANDBOX EPCS one-time signing code for %s: %s (POST .../sandbox-sign/ {"code": "%s"})',
                    row.vendor_prescription_id,
                    code,
                    code,
                )
        return row.vendor_prescription_id

    def sso_url(self, *, vendor_clinician_id: str, vendor_patient_id: str = "") -> str:
        query = {"clinician": vendor_clinician_id, "t": str(int(timezone.now().timestamp()))}
        if vendor_patient_id:
            query["patient"] = vendor_patient_id
        query["sig"] = hmac.new(settings.SECRET_KEY.encode(), urlencode(query).encode(), hashlib.sha256).hexdigest()[
            :32
        ]
        return f"{settings.ERX_SANDBOX_SSO_URL}?{urlencode(query)}"

    def _row(self, vendor_prescription_id: str) -> SandboxPrescription:
        pk = vendor_prescription_id.removeprefix("sbx-rx-")
        row = SandboxPrescription.objects.filter(pk=int(pk) if pk.isdigit() else 0).first()
        if row is None:
            raise ErxNotFound("No such prescription at the sandbox vendor.", code="erx_not_found")
        return row

    def fetch_status(self, *, vendor_patient_id: str, vendor_prescription_id: str) -> VendorStatus:
        self._maybe_fail("fetch_status")
        row = self._row(vendor_prescription_id)
        delay = timedelta(seconds=settings.ERX_SANDBOX_PHARMACY_DELAY_SECONDS)
        if row.status == "eRxSent" and timezone.now() - row.status_at >= delay:
            row.status, row.status_at, row.message = (
                "PharmacyVerified",
                timezone.now(),
                "Prescription delivery verified",
            )
            row.save(update_fields=["status", "status_at", "message"])
        return VendorStatus(
            vendor_prescription_id=row.vendor_prescription_id,
            status=map_vendor_status(row.status),
            vendor_status=row.status,
            occurred_at=row.status_at,
            message=row.message,
            signed_at=row.signed_at,
        )

    def cancel(self, *, vendor_patient_id: str, vendor_prescription_id: str) -> None:
        self._maybe_fail("cancel")
        row = self._row(vendor_prescription_id)
        if row.status in ("Deleted", "Cancelled"):
            return
        # Before transmission the pending prescription is deleted; after it, a CancelRx goes out.
        row.status = "Cancelled" if row.status in ("eRxSent", "PharmacyVerified") else "Deleted"
        row.status_at, row.code_hash = timezone.now(), ""
        row.save(update_fields=["status", "status_at", "code_hash"])

    def parse_webhook(self, *, body: bytes, headers) -> list[VendorEvent]:
        verify_shared_secret(headers, settings.ERX_WEBHOOK_SECRET)
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise WebhookRejected("bad body") from exc
        return events_from_payload(payload)

    # --- the simulated signing screen ---------------------------------------------------------
    def sign(self, *, vendor_prescription_id: str, code: str, outcome: str = "transmitted") -> list[VendorEvent]:
        """The prescriber's two-factor signature at the vendor, then the transmission. Returns the
        notifications the vendor sends. Raises ErxRejected (code `invalid_epcs_code`)."""
        with transaction.atomic():
            row = SandboxPrescription.objects.select_for_update().get(pk=self._row(vendor_prescription_id).pk)
            if row.status != "ReadyToSign" or not row.code_hash:
                raise ErxRejected("This prescription is not waiting for a signature.", code="not_awaiting_signature")
            if not hmac.compare_digest(_hash(str(code).strip()), row.code_hash):
                raise ErxRejected("The one-time code is not valid.", code="invalid_epcs_code")
            now = timezone.now()
            row.signed_at, row.code_hash = now, ""
            statuses = {"transmitted": ["eRxSent"], "pharmacy_received": ["eRxSent", "PharmacyVerified"]}.get(
                outcome, ["Error"]
            )
            row.status, row.status_at = statuses[-1], now
            row.message = "Pharmacy did not acknowledge the transmission (sandbox)." if outcome == "error" else ""
            row.save()
        events = []
        for i, status in enumerate(statuses):
            data = {
                "ClinicianId": row.vendor_clinician_id,
                "PatientId": row.vendor_patient_id,
                "PrescriptionId": row.vendor_prescription_id,
                "PrescriptionStatus": STATUS_NUMBER[status],
                "StatusDateTime": (now + timedelta(milliseconds=i)).isoformat(),
                "StatusDetails": row.message if status == "Error" else "",
            }
            events.append(VendorEvent(event_id_for("PrescriptionResult", data), "PrescriptionResult", data))
        return events
