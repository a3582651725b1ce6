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

from datetime import date, datetime, timedelta
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from accounts.services import step_up_verify
from api.clock import practice_date
from api.errors import NotFound
from practice.models import DEARegistration
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
    verified_ship_to,
)


def _evaluation_codes(rx: Prescription, policy: PrescribingPolicy, on: date, now: datetime) -> list[str]:
    """A recent evaluation by this prescriber: a completed audio-video visit within the policy
    window, or an in-person evaluation within it (seeing the patient in person is at least as
    good). Whether telemedicine prescribing is lawful at all is the basis gate's question."""
    from scheduling.selectors import latest_completed_evaluation, latest_in_person_evaluation

    since = now - timedelta(days=policy.evaluation_window_days)
    if latest_completed_evaluation(patient=rx.patient, physician=rx.physician, since=since) is not None:
        return []
    window_start = on - timedelta(days=policy.evaluation_window_days)
    if latest_in_person_evaluation(patient=rx.patient, physician=rx.physician, on=on, since=window_start):
        return []
    return ["evaluation_missing"]


def _snapshot(rx: Prescription, state: str, on: date, basis: BasisDecision) -> dict:
    """The contents 21 CFR 1306.05 requires on a controlled-substance prescription, frozen."""
    profile = profile_of(rx.patient)
    ship_to = verified_ship_to(rx.patient)
    physician_profile = physician_profile_of(rx.physician)
    dea = (
        DEARegistration.objects.filter(physician=rx.physician, state=state, status="active", expires_on__gte=on)
        .order_by("-expires_on")
        .first()
    )
    office = ""
    if physician_profile is not None:
        parts = [
            physician_profile.office_address_line1,
            physician_profile.office_address_line2,
            physician_profile.office_city,
            f"{physician_profile.office_state} {physician_profile.office_zip_code}".strip(),
        ]
        office = ", ".join(p for p in parts if p)
    address = ""
    if ship_to is not None:
        address = ", ".join(
            p for p in [ship_to.line1, ship_to.line2, ship_to.city, f"{ship_to.state} {ship_to.zip_code}"] if p
        )
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
        "prescriber_dea_number": dea.number if dea else "",
        "pharmacy": rx.pharmacy.name,
        "issued_on": on.isoformat(),
        "prescribing_basis": basis.basis,
        "prescribing_basis_evidence": basis.evidence,
    }


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
        # Found in the physician's scope and locked in one statement: two concurrent signatures
        # serialise here and the second sees "signed".
        rx = selectors.prescription_get_for_physician(viewer=actor, public_id=prescription_id, lock=True)
        if rx.physician_id != actor.pk:
            raise NotFound()
        if rx.signed_at is not None or rx.status != PrescriptionStatus.DRAFT:
            raise PrescriptionSigned()
        ensure_epcs_enabled(actor)  # 409 epcs_not_enabled: nothing goes to the vendor
        # Drafts of one patient sign one at a time: "one active prescription per product" holds.
        User.objects.select_for_update().filter(pk=rx.patient_id).values_list("pk", flat=True).first()
        now = timezone.now()
        # The issue date and the policy in force are the practice's calendar date
        # (docs/prescribing-basis.md#dates), never UTC's.
        signing_date = on or practice_date(now)
        policy = policy_on(signing_date)
        report = run_gates(rx=rx, on=signing_date, now=now, policy=policy, pregnant_or_nursing=pregnant_or_nursing)
        if pregnant_or_nursing:
            from patients.services.screening import hard_stop_report

            hard_stop_report(
                patient=rx.patient,
                code="pregnant_or_nursing",
                source="signing_attestation",
                actor=actor,
                request=request,
            )
        attempt = SigningAttempt.objects.create(
            prescription=rx,
            attempted_by=actor,
            attempted_at=now,
            signing_date=signing_date,
            policy=policy if policy.pk else None,
            succeeded=report.passed,
            reasons=[r["code"] for r in report.reasons],
            checks=report.checks,
        )
        if report.passed:
            state = patient_state(rx.patient) or ""
            rx.snapshot = _snapshot(rx, state, signing_date, report.basis)
            rx.patient_state = state
            rx.prescribing_basis = report.basis.basis
            # The legal signature is the prescriber's two-factor one at the EPCS vendor (21 CFR
            # 1311): queue the proposal; `signed`, the expiry and the first fill follow the vendor's
            # report (prescriptions/services/erx.py, docs/e-prescribing.md).
            erx_proposal_queue(rx=rx, actor=actor, request=request)
            audit_log(request, AuditAction.SIGN, rx, actor=actor, detail=f"signing attempt {attempt.pk}; to EPCS")
        else:
            audit_log(request, AuditAction.READ, rx, actor=actor, detail=f"signing refused attempt {attempt.pk}")
    if not report.passed:
        raise SigningRefused(reasons=report.reasons)
    return rx
