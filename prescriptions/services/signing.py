"""Signing a prescription: every gate of DOMAIN.md 4, in one place.

`prescription_sign` re-checks the physician's password (a step-up: the signature is legal), then
runs EVERY gate on the signing date and refuses with ALL failing reasons at once (422,
`reasons`), so the physician fixes everything in one go. Each attempt, refused or not, is a
SigningAttempt row holding every gate's result: "why was this refused?" is answerable later.

The gates (codes in brackets):
1. Evaluation: a completed audio-video evaluation by this prescriber within the policy window
   [evaluation_missing]; after the federal telemedicine flexibilities end (policy date,
   2026-12-31 unless extended) a documented in-person evaluation [in_person_evaluation_required]
   (Ryan Haight Act, 21 U.S.C. 829(e)).
2. Licence, DEA registration covering Schedule III, and NJ CDS, in the patient's state on the
   signing date: the codes of practice's `physician_authorization(action="prescribe")`.
3. PDMP check in the patient's state [pdmp_check_missing]: Florida requires one for every
   controlled-substance prescription (F.S. 893.055; default same day); New Jersey by practice
   default at the first prescription and every 90 days.
4. No open safety flag [open_safety_flag]; no unresolved contraindication [contraindication_unresolved].
5. Consents current [consents_missing]; active membership [subscription_inactive].
6. Limits: days' supply [days_supply_exceeds_limit], refills [too_many_refills] (Schedule III:
   at most 5, expires 6 months after issue, 21 CFR 1306.22).
Plus what the delivery needs: the product still active [product_retired], the pharmacy licensed
for the patient's state [pharmacy_not_licensed_for_state], a verified service-area address
[address_not_verified], the patient's location known [patient_location_missing].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from accounts.services import step_up_verify
from api.errors import NotFound
from prescriptions import selectors
from prescriptions.errors import PrescriptionSigned, SigningRefused, StepUpFailed
from prescriptions.models import (
    InPersonEvaluation,
    PDMPCheck,
    PrescribingPolicy,
    Prescription,
    PrescriptionStatus,
    SigningAttempt,
)
from prescriptions.policy import policy_on
from prescriptions.services.orders import delivery_order_create
from prescriptions.services.patient_facts import (
    legal_name,
    local_date,
    patient_state,
    patient_zone,
    profile_of,
    standing,
    verified_ship_to,
)
from prescriptions.services.prescribing import add_months, limit_failures

MESSAGES = {
    "evaluation_missing": "No completed audio-video evaluation by you within the policy window.",
    "in_person_evaluation_required": "The policy requires a documented in-person evaluation.",
    "pdmp_check_missing": "No PDMP check meeting the state's rule is recorded.",
    "open_safety_flag": "The patient has an open safety flag.",
    "contraindication_unresolved": "The patient has an unresolved contraindication.",
    "consents_missing": "The patient's consents are not current.",
    "subscription_inactive": "The patient's membership is not active.",
    "pharmacy_not_licensed_for_state": "The pharmacy may not ship to the patient's state.",
    "product_retired": "The product is retired.",
    "address_not_verified": "The patient's address is not verified inside the service area.",
    "patient_location_missing": "The patient's state is unknown.",
}


@dataclass
class GateReport:
    """The result of every gate: `checks` for the record, `reasons` for the refusal."""

    checks: list[dict] = field(default_factory=list)
    reasons: list[dict[str, str]] = field(default_factory=list)

    def record(self, gate: str, codes: list[str], messages: dict[str, str] | None = None) -> None:
        self.checks.append({"gate": gate, "passed": not codes, "codes": codes})
        for code in codes:
            message = (messages or {}).get(code) or MESSAGES.get(code) or code.replace("_", " ").capitalize()
            self.reasons.append({"code": code, "message": message})

    @property
    def passed(self) -> bool:
        return not self.reasons


def _evaluation_codes(rx: Prescription, policy: PrescribingPolicy, on: date, now: datetime) -> list[str]:
    from scheduling.selectors import latest_completed_evaluation

    codes = []
    since = now - timedelta(days=policy.evaluation_window_days)
    if latest_completed_evaluation(patient=rx.patient, physician=rx.physician, since=since) is None:
        codes.append("evaluation_missing")
    if policy.require_in_person_after_flex_end and on > policy.telemedicine_flexibility_ends_on:
        in_person = InPersonEvaluation.objects.filter(
            patient=rx.patient,
            physician=rx.physician,
            evaluated_on__gte=on - timedelta(days=policy.evaluation_window_days),
            evaluated_on__lte=on,
        )
        if not in_person.exists():
            codes.append("in_person_evaluation_required")
    return codes


def _pdmp_codes(rx: Prescription, policy: PrescribingPolicy, state: str, on: date) -> list[str]:
    """Florida: a check no older than `fl_pdmp_max_age_days` (0 = the signing day, in the
    patient's time zone). New Jersey: a check within `nj_pdmp_interval_days` before signing, so
    the first prescription and every one after the interval need a fresh check."""
    zone = patient_zone(rx.patient)
    if state == "FL":
        max_age = policy.fl_pdmp_max_age_days
    elif state == "NJ":
        max_age = policy.nj_pdmp_interval_days
    else:
        return ["pdmp_check_missing"]
    checks = PDMPCheck.objects.filter(patient=rx.patient, state=state, checked_at__lte=timezone.now())
    recent = checks.order_by("-checked_at").values_list("checked_at", flat=True)[:1]
    if not recent or (on - local_date(recent[0], zone)).days > max_age:
        return ["pdmp_check_missing"]
    return []


def run_gates(*, rx: Prescription, on: date, now: datetime, policy: PrescribingPolicy) -> GateReport:
    """Every gate, every time (no short-circuit): the physician sees all reasons at once."""
    from patients.selectors import unresolved_contraindications
    from patients.services.consents import patient_consents_current
    from patients.services.safety import patient_has_open_safety_flag
    from practice.services.licensing import physician_authorization

    report = GateReport()
    patient = rx.patient
    state = patient_state(patient)

    report.record("evaluation", _evaluation_codes(rx, policy, on, now))
    if state is None:
        report.record("location", ["patient_location_missing"])
        report.record("licensing", [])
        report.record("pdmp", ["pdmp_check_missing"])
    else:
        auth = physician_authorization(physician=rx.physician, state=state, on=on, action="prescribe")
        report.record(
            "licensing",
            [r.code for r in auth.reasons] if not auth.allowed else [],
            {r.code: r.message for r in auth.reasons},
        )
        if not auth.allowed and not auth.reasons:
            report.record("licensing_unspecified", ["not_authorized_to_prescribe"])
        report.record("pdmp", _pdmp_codes(rx, policy, state, on))
    report.record("safety_flag", ["open_safety_flag"] if patient_has_open_safety_flag(patient=patient) else [])
    report.record(
        "contraindications", ["contraindication_unresolved"] if unresolved_contraindications(patient=patient) else []
    )
    report.record("consents", ["consents_missing"] if patient_consents_current(patient=patient) else [])
    report.record("subscription", [] if standing(patient, on).ok else ["subscription_inactive"])
    limits = limit_failures(
        policy=policy,
        quantity=rx.quantity,
        days_supply=rx.days_supply,
        refills=rx.refills,
        first_fill_quantity=rx.first_fill_quantity,
    )
    report.record("limits", [code for _, code, _ in limits], {code: msg for _, code, msg in limits})
    report.record("product", [] if rx.product.active else ["product_retired"])
    pharmacy_ok = state is not None and selectors.pharmacy_allowed_for_state(pharmacy=rx.pharmacy, state=state, on=on)
    report.record("pharmacy", [] if pharmacy_ok else ["pharmacy_not_licensed_for_state"])
    report.record("address", [] if verified_ship_to(patient) is not None else ["address_not_verified"])
    return report


def _snapshot(rx: Prescription, state: str, on: date) -> dict:
    """The contents 21 CFR 1306.05 requires on a controlled-substance prescription, frozen."""
    from practice.models import DEARegistration, PhysicianProfile

    profile = profile_of(rx.patient)
    ship_to = verified_ship_to(rx.patient)
    physician_profile = PhysicianProfile.objects.filter(user=rx.physician).first()
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
    }


def prescription_sign(
    *,
    actor: User,
    prescription_id: UUID,
    password: str,
    on: date | None = None,
    request=None,
) -> Prescription:
    """Sign a draft: step-up, every gate, snapshot, the first delivery order; all or nothing.

    A refusal still commits its SigningAttempt (why it was refused), then raises 422.
    """
    if not step_up_verify(user=actor, password=password, request=request):
        raise StepUpFailed()
    with transaction.atomic():
        found = selectors.prescription_get_for_physician(physician=actor, public_id=prescription_id)
        # Lock the row: two concurrent signatures serialise here and the second sees "signed".
        rx = (
            Prescription.objects.select_for_update(of=("self",))
            .select_related("patient", "physician", "product", "pharmacy", "supersedes")
            .get(pk=found.pk)
        )
        if rx.physician_id != actor.pk:
            raise NotFound()
        if rx.signed_at is not None or rx.status != PrescriptionStatus.DRAFT:
            raise PrescriptionSigned()
        now = timezone.now()
        signing_date = on or local_date(now, patient_zone(rx.patient))
        policy = policy_on(signing_date)
        report = run_gates(rx=rx, on=signing_date, now=now, policy=policy)
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
            rx.snapshot = _snapshot(rx, state, signing_date)
            rx.patient_state = state
            rx.signed_at = now
            rx.expires_on = add_months(signing_date, policy.expiry_months)
            rx.status = PrescriptionStatus.SIGNED
            rx.full_clean(exclude=["supersedes"])
            rx.save()
            if rx.supersedes_id:
                old = Prescription.objects.select_for_update().get(pk=rx.supersedes_id)
                if old.status == PrescriptionStatus.SIGNED:
                    old.status = PrescriptionStatus.SUPERSEDED
                    old.save(update_fields=["status", "updated_at"])
            delivery_order_create(
                actor=actor, prescription=rx, quantity=rx.first_fill_quantity or rx.quantity, request=request
            )
            audit_log(request, AuditAction.SIGN, rx, actor=actor, detail=f"signing attempt {attempt.pk}")
        else:
            audit_log(request, AuditAction.READ, rx, actor=actor, detail=f"signing refused attempt {attempt.pk}")
    if not report.passed:
        raise SigningRefused(reasons=report.reasons)
    return rx
