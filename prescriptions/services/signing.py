"""Signing a prescription: every gate of docs/prescribing.md#checks, in one place.

`prescription_sign` re-checks the physician's password (a step-up: the signature is legal), then
runs EVERY gate on the signing date and refuses with ALL failing reasons at once (422,
`reasons`), so the physician fixes everything in one go. Each attempt, refused or not, is a
SigningAttempt row holding every gate's result: "why was this refused?" is answerable later.

The gates themselves live in `services/gates.py` (`run_gates`), shared with every later fill
(refill approval, staged shipments): the same codes whichever path asks. Signing adds what only
issuing needs: the PDMP check, the prescriber's pregnancy/nursing attestation and a complete
prescriber profile (NPI, practice address) for the snapshot 21 CFR 1306.05 requires.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from accounts.services import step_up_verify
from api.clock import practice_date
from api.errors import NotFound
from patients.services.screening import hard_stop_report
from practice.models import CredentialStatus, DEARegistration, PhysicianProfile
from practice.services.licensing import Credentials
from prescriptions import selectors
from prescriptions.errors import PrescriptionSigned, SigningRefused, StepUpFailed
from prescriptions.models import (
    PrescribingPolicy,
    Prescription,
    PrescriptionStatus,
    SigningAttempt,
)
from prescriptions.policy import policy_on
from prescriptions.services.basis import BasisDecision
from prescriptions.services.erx import ensure_epcs_enabled, erx_proposal_queue
from prescriptions.services.gates import MESSAGES, GateReport, run_gates  # noqa: F401  (re-exported)
from prescriptions.services.patient_facts import (
    legal_name,
    patient_state,
    physician_profile_of,
    profile_of,
    profiles_read_once,
    remember_profiles,
    verified_ship_to,
)


def _one_line(*parts: str) -> str:
    return ", ".join(p for p in parts if p)


def _prescriber_dea_number(physician: User, state: str, on: date, credentials: Credentials | None) -> str:
    """The prescriber's DEA number for the patient's state active on the issue date (the latest
    to expire): from the registrations the licensing gate read, or read here without them."""
    if credentials is None:
        registrations = list(DEARegistration.objects.filter(physician=physician, state=state))
    else:
        registrations = credentials.dea
    usable = [r for r in registrations if r.status == CredentialStatus.ACTIVE and r.expires_on >= on]
    return max(usable, key=lambda r: r.expires_on).number if usable else ""


def _snapshot(
    rx: Prescription, state: str, on: date, basis: BasisDecision, credentials: Credentials | None = None
) -> dict:
    """The contents 21 CFR 1306.05 requires on a controlled-substance prescription, frozen.
    `credentials`: the prescriber's, as the licensing gate read them for `state`."""
    profile = profile_of(rx.patient)
    ship_to = verified_ship_to(rx.patient)
    physician_profile = physician_profile_of(rx.physician)
    office = ""
    if physician_profile is not None:
        office = _one_line(
            physician_profile.office_address_line1,
            physician_profile.office_address_line2,
            physician_profile.office_city,
            f"{physician_profile.office_state} {physician_profile.office_zip_code}".strip(),
        )
    address = ""
    if ship_to is not None:
        address = _one_line(ship_to.line1, ship_to.line2, ship_to.city, f"{ship_to.state} {ship_to.zip_code}")
    product = rx.product
    return {
        "patient_name": legal_name(rx.patient, profile),
        "patient_date_of_birth": str(getattr(profile, "date_of_birth", "") or ""),
        "patient_address": address,
        "patient_state": state,
        "drug": "Ketamine HCl (compounded, patient-specific)",
        "product_name": product.name,
        "product_public_id": str(product.public_id),
        "strength": product.strength_text,
        "dosage_form": product.get_dosage_form_display(),
        "route": product.get_route_display(),
        "dea_schedule": product.dea_schedule,
        "dose": rx.dose,
        "quantity": rx.quantity,
        "first_fill_quantity": rx.first_fill_quantity or rx.quantity,
        "dispensing_unit": product.dispensing_unit,
        "days_supply": rx.days_supply,
        "refills": rx.refills,
        "directions": rx.directions,
        "prescriber_name": rx.physician.full_name,
        "prescriber_npi": getattr(physician_profile, "npi", "") or "",
        "prescriber_address": office,
        "prescriber_dea_number": _prescriber_dea_number(rx.physician, state, on, credentials),
        "pharmacy": rx.pharmacy.name,
        "issued_on": on.isoformat(),
        "prescribing_basis": basis.basis,
        "prescribing_basis_evidence": basis.evidence,
    }


def _draft_locked(*, actor: User, prescription_id: UUID) -> Prescription:
    """The draft, found in the physician's scope with its row and its patient's row locked in one
    statement: two concurrent signatures serialise and the second sees "signed"; drafts of one
    patient sign one at a time, so "one active prescription per product" holds. The gates read
    the patient's facts in a statement of their own AFTER the lock, so on PostgreSQL they see
    what a signature that held the lock before committed."""
    rx = selectors.prescription_for_signing(viewer=actor, public_id=prescription_id)
    if rx.physician_id != actor.pk:
        raise NotFound()
    if rx.signed_at is not None or rx.status != PrescriptionStatus.DRAFT:
        raise PrescriptionSigned()
    try:
        prescriber_profile = rx.physician.physician_profile
    except PhysicianProfile.DoesNotExist:
        prescriber_profile = None
    # The prescriber's profile came with the lock: the gate and the snapshot do not read it again.
    remember_profiles(physician=rx.physician, physician_profile=prescriber_profile)
    return rx


def _record_attempt(
    *, rx: Prescription, actor: User, now: datetime, signing_date: date, policy: PrescribingPolicy, report: GateReport
) -> SigningAttempt:
    """Every attempt, refused or not, keeps every gate's result ("why was this refused?")."""
    return SigningAttempt.objects.create(
        prescription=rx,
        attempted_by=actor,
        attempted_at=now,
        signing_date=signing_date,
        policy=policy if policy.pk else None,
        succeeded=report.passed,
        reasons=[r["code"] for r in report.reasons],
        checks=report.checks,
    )


def _issue(*, rx: Prescription, actor: User, signing_date: date, report: GateReport, attempt, request) -> None:
    """Every gate passed: freeze the snapshot and queue the proposal to the EPCS vendor."""
    state = patient_state(rx.patient) or ""
    rx.snapshot = _snapshot(rx, state, signing_date, report.basis, report.credentials)
    rx.patient_state = state
    rx.prescribing_basis = report.basis.basis
    # The legal signature is the prescriber's two-factor one at the EPCS vendor (21 CFR 1311):
    # queue the proposal; `signed`, the expiry and the first fill follow the vendor's report
    # (prescriptions/services/erx.py, docs/e-prescribing.md).
    erx_proposal_queue(rx=rx, actor=actor, request=request)
    audit_log(request, AuditAction.SIGN, rx, actor=actor, detail=f"signing attempt {attempt.pk}; to EPCS")


def prescription_sign(
    *,
    actor: User,
    prescription_id: UUID,
    password: str,
    pregnant_or_nursing: bool | None = None,
    on: date | None = None,
    request=None,
) -> Prescription:
    """Sign a draft: step-up, EPCS enrolment, every gate, snapshot, the proposal to the EPCS vendor.

    `pregnant_or_nursing` is the prescriber's answer, asked at every signing (None: not asked,
    refused with `pregnancy_status_not_attested`; True: refused, and recorded on the chart as a
    hard-stop contraindication). A refusal still commits its SigningAttempt (why it was refused),
    then raises 422.
    """
    if not step_up_verify(user=actor, password=password, request=request):
        raise StepUpFailed()
    with transaction.atomic(), profiles_read_once():
        rx = _draft_locked(actor=actor, prescription_id=prescription_id)
        ensure_epcs_enabled(actor)  # 409 epcs_not_enabled: nothing goes to the vendor
        now = timezone.now()
        # The issue date and the policy in force are the practice's calendar date
        # (docs/prescribing-basis.md#dates), never UTC's.
        signing_date = on or practice_date(now)
        policy = policy_on(signing_date)
        report = run_gates(rx=rx, on=signing_date, now=now, policy=policy, pregnant_or_nursing=pregnant_or_nursing)
        if pregnant_or_nursing:
            # Recorded on the chart as a hard-stop contraindication (docs/prescribing-gates.md).
            hard_stop_report(
                patient=rx.patient,
                code="pregnant_or_nursing",
                source="signing_attestation",
                actor=actor,
                request=request,
            )
        attempt = _record_attempt(rx=rx, actor=actor, now=now, signing_date=signing_date, policy=policy, report=report)
        if report.passed:
            _issue(rx=rx, actor=actor, signing_date=signing_date, report=report, attempt=attempt, request=request)
        else:
            audit_log(request, AuditAction.READ, rx, actor=actor, detail=f"signing refused attempt {attempt.pk}")
    if not report.passed:
        raise SigningRefused(reasons=report.reasons)
    return rx
