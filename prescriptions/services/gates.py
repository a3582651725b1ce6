"""The one gate every fill passes: "may this prescription's fill ship to this patient on this date?"

Signing (the first fill), refill approval, staged shipments and any other path that creates a
delivery order ask `run_gates` (through `fill_gate`, or `delivery_order_create`, which runs it
itself unless handed a passing report for the same prescription and quantity). Every gate runs
every time (no short-circuit) and a refusal names every failing reason, with the same codes
whichever path asked (docs/prescribing-gates.md).

Gates (codes in brackets):
1. Prescribing basis: the evaluation rule of `_evaluation_codes` [evaluation_missing,
   in_person_evaluation_required] (Ryan Haight Act, 21 U.S.C. 829(e)).
2. The prescriber's licence, DEA registration covering Schedule III and NJ CDS for the patient's
   CURRENT state on the fill date: practice's `physician_authorization(action="prescribe")` codes.
   A patient whose state changed since signing is refused [patient_state_changed] until a
   physician licensed there writes a new prescription.
3. PDMP, at issue only [pdmp_check_missing] (F.S. 893.055: the prescriber checks before
   prescribing; the dispensing pharmacy checks before each dispensing).
4. No open safety flag [open_safety_flag]; no contraindication left undecided
   [contraindication_unresolved] or confirmed by a physician [contraindication_confirmed]; a
   screening on file within the policy window [screening_missing]; at issue, the prescriber's
   answer to "is the patient pregnant or nursing?" [pregnancy_status_not_attested, pregnant_or_nursing].
5. Consents current [consents_missing]; membership in good standing and shipments not paused
   [subscription_inactive, subscription_past_due].
6. Limits of the policy in force on the date [days_supply_exceeds_limit, too_many_refills, ...];
   for a later fill: the fill quantity [invalid_quantity], not superseded [prescription_superseded],
   not expired [prescription_expired] (6 months, 21 CFR 1306.22), refills left [refills_exhausted].
7. The product active [product_retired]; the pharmacy licensed for the destination state on the
   date [pharmacy_not_licensed_for_state]; a verified service-area address [address_not_verified];
   at issue, the prescriber's NPI and practice address [prescriber_profile_incomplete]
   (21 CFR 1306.05(a) requires the prescriber's address on the prescription); one active
   prescription per patient and product unless this one supersedes it [active_prescription_exists].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from accounts.models import User
from api.clock import practice_date, practice_zone
from patients.models import PatientProfile
from patients.selectors import prescribing_fact_columns
from patients.services.consents import patient_consents_current
from practice.services.licensing import Credentials, credentials_for, physician_authorization
from prescriptions import selectors
from prescriptions.models import PDMPCheck, PrescribingPolicy, Prescription, PrescriptionStatus
from prescriptions.policy import policy_on
from prescriptions.services.basis import MISSING_CODE, MISSING_MESSAGE, BasisDecision, Evidence, decide, evidence_for
from prescriptions.services.patient_facts import (
    ShipTo,
    local_date,
    physician_profile_of,
    remember_profiles,
    ship_to_from,
    standing_refusal,
    state_from,
    zone_from,
)
from prescriptions.services.prescribing import add_months, limit_failures, other_active_prescriptions
from scheduling.selectors import completed_evaluation_column

FIRST_FILL = "first_fill"  # signing: the prescription is issued and its first fill created
REFILL = "refill"  # a refill approved by the physician
STAGED = "staged"  # a later shipment of staged supply, or any other fill path
FILL_KINDS = (FIRST_FILL, REFILL, STAGED)

# "Not asked": the signing request did not carry the prescriber's pregnancy/nursing attestation.
NOT_ATTESTED = None

MESSAGES = {
    "evaluation_missing": "No completed audio-video evaluation by you within the policy window.",
    MISSING_CODE: MISSING_MESSAGE,
    "pdmp_check_missing": "No PDMP check meeting the state's rule is recorded.",
    "open_safety_flag": "The patient has an open safety flag.",
    "contraindication_unresolved": "The patient has a contraindication no physician has decided on.",
    "contraindication_confirmed": "A physician confirmed a contraindication: the patient is not a candidate.",
    "screening_missing": "No contraindication screening on file within the policy window.",
    "pregnancy_status_not_attested": "Attest whether the patient is pregnant or nursing.",
    "pregnant_or_nursing": "Ketamine is not prescribed during pregnancy or nursing.",
    "consents_missing": "The patient's consents are not current.",
    "subscription_inactive": "The patient's membership is not active.",
    "subscription_past_due": "Shipments are paused until the membership is paid.",
    "pharmacy_not_licensed_for_state": "The pharmacy may not ship to the patient's state.",
    "product_retired": "The product is retired.",
    "address_not_verified": "The patient's address is not verified inside the service area.",
    "patient_location_missing": "The patient's state is unknown.",
    "patient_state_changed": "The patient now lives in another state: a new prescription is needed there.",
    "prescriber_profile_incomplete": "Your NPI and practice address must be complete to sign.",
    "prescription_superseded": "The prescription was replaced by a newer one.",
    "prescription_expired": "The prescription has expired; a new one is needed.",
    "prescription_not_signed": "The prescription is not signed.",
    "refills_exhausted": "No refills remain on this prescription.",
    "invalid_quantity": "The fill quantity must be between 1 and the prescribed quantity.",
    "active_prescription_exists": "The patient already has an active prescription for this product.",
}


@dataclass(frozen=True)
class Fill:
    """What is asked for: `quantity` units of the prescription shipped to the patient's current
    verified address. `kind` says which path asks (FIRST_FILL at signing)."""

    kind: str
    quantity: int


@dataclass
class GateReport:
    """The result of every gate: `checks` for the record, `reasons` for the refusal. `prescription_id`,
    `quantity` and `on` say which fill it cleared (a passing report is proof for that fill only)."""

    checks: list[dict] = field(default_factory=list)
    reasons: list[dict[str, str]] = field(default_factory=list)
    prescription_id: int | None = None
    quantity: int | None = None
    on: date | None = None
    basis: BasisDecision | None = None  # the prescribing basis that holds on `on`, if any
    # The prescriber's credentials for the patient's state as the licensing gate read them (the
    # snapshot takes the DEA number from them); None when the state is unknown.
    credentials: Credentials | None = None

    def record(self, gate: str, codes: list[str], messages: dict[str, str] | None = None) -> None:
        self.checks.append({"gate": gate, "passed": not codes, "codes": codes})
        for code in codes:
            message = (messages or {}).get(code) or MESSAGES.get(code) or code.replace("_", " ").capitalize()
            self.reasons.append({"code": code, "message": message})

    @property
    def passed(self) -> bool:
        return not self.reasons

    @property
    def codes(self) -> list[str]:
        return [r["code"] for r in self.reasons]

    def clears(self, *, rx: Prescription, quantity: int) -> bool:
        return self.passed and self.prescription_id == rx.pk and self.quantity == quantity


@dataclass(frozen=True)
class PatientFacts:
    """What the gates read about the patient, in ONE query (docs/write-budgets.md#signing): the
    profile (state, zone, ship-to address) and, as columns of the same row, what each gate asks
    of the other apps. Each column is the contract function's own filter as an expression, so a
    gate answers exactly as it did with one query per gate."""

    profile: PatientProfile | None
    evaluated_by_video: bool  # a completed audio-video visit with the prescriber in the window
    open_safety_flag: bool
    contraindication_unresolved: bool
    contraindication_confirmed: bool
    latest_screening_at: datetime | None
    pharmacy_allowed: bool  # the prescription's pharmacy, for the patient's state, on the date
    latest_pdmp_at: datetime | None = None  # issuing only: the latest check in the patient's state
    other_active: bool = False  # issuing only: another active prescription of the product

    @property
    def state(self) -> str | None:
        return state_from(self.profile)

    @property
    def zone(self) -> ZoneInfo:
        return zone_from(self.profile)


def patient_facts(
    *, rx: Prescription, on: date, now: datetime, policy: PrescribingPolicy, issuing: bool
) -> PatientFacts:
    """Read PatientFacts for this prescription's gates (one statement). Inside
    `profiles_read_once()` the profile is remembered for the rest of the block (state, snapshot)."""
    patient = rx.patient
    state_ref = "patient_profile__state"
    columns = {
        **prescribing_fact_columns(patient_ref="pk"),
        "evaluated_by_video": completed_evaluation_column(
            patient_ref="pk", physician=rx.physician, since=now - timedelta(days=policy.evaluation_window_days)
        ),
        "pharmacy_allowed": selectors.pharmacy_allowed_column(pharmacy=rx.pharmacy, state_ref=state_ref, on=on),
    }
    if issuing:
        checks = PDMPCheck.objects.filter(
            patient_id=OuterRef("pk"), state=OuterRef(state_ref), checked_at__lte=timezone.now()
        )
        columns["latest_pdmp_at"] = Subquery(checks.order_by("-checked_at").values("checked_at")[:1])
        others = other_active_prescriptions(
            patient=OuterRef("pk"), product=rx.product, on=on, supersedes_id=rx.supersedes_id, exclude_id=rx.pk
        )
        columns["other_active"] = Exists(others)
    row = User.objects.filter(pk=patient.pk).select_related("patient_profile__county").annotate(**columns).get()
    try:
        profile = row.patient_profile
    except PatientProfile.DoesNotExist:
        profile = None
    remember_profiles(patient=patient, profile=profile)
    return PatientFacts(profile=profile, **{name: getattr(row, name) for name in columns})


def _pdmp_codes(facts: PatientFacts, policy: PrescribingPolicy, state: str, on: date) -> list[str]:
    """Florida: a check no older than `fl_pdmp_max_age_days` (0 = the signing day, in the
    practice's time zone, the calendar of the signing date). New Jersey: a check within
    `nj_pdmp_interval_days` before signing, so the first prescription and every one after the
    interval need a fresh check."""
    if state == "FL":
        max_age = policy.fl_pdmp_max_age_days
    elif state == "NJ":
        max_age = policy.nj_pdmp_interval_days
    else:
        return ["pdmp_check_missing"]
    recent = facts.latest_pdmp_at
    if recent is None or (on - local_date(recent, practice_zone())).days > max_age:
        return ["pdmp_check_missing"]
    return []


def _evaluation_codes(facts: PatientFacts, evidence: Evidence, policy: PrescribingPolicy, on: date) -> list[str]:
    """A recent evaluation by this prescriber: a completed audio-video visit within the policy
    window, or an in-person evaluation within it (seeing the patient in person is at least as
    good). Whether telemedicine prescribing is lawful at all is the basis gate's question."""
    if facts.evaluated_by_video:
        return []
    window_start = on - timedelta(days=policy.evaluation_window_days)
    # evidence.evaluations: this prescriber's standing in-person evaluations of the patient.
    if any(window_start <= found.evaluated_on <= on for found in evidence.evaluations):
        return []
    return ["evaluation_missing"]


def _screening_codes(facts: PatientFacts, policy: PrescribingPolicy, on: date) -> list[str]:
    """A screening (claimed assessment or physician-entered) taken on or after the same date
    `screening_valid_months` before `on`, in the patient's time zone."""
    latest = facts.latest_screening_at
    if latest is None or local_date(latest, facts.zone) < add_months(on, -policy.screening_valid_months):
        return ["screening_missing"]
    return []


def _pregnancy_codes(pregnant_or_nursing: bool | None) -> list[str]:
    if pregnant_or_nursing is NOT_ATTESTED:
        return ["pregnancy_status_not_attested"]
    return ["pregnant_or_nursing"] if pregnant_or_nursing else []


PRESCRIBER_FIELDS = ("npi", "office_address_line1", "office_city", "office_state", "office_zip_code")


def prescriber_profile_missing(profile) -> list[str]:
    """What of the prescriber's own record (their PhysicianProfile, or None) a controlled-substance
    prescription must carry (21 CFR 1306.05(a): name, address, DEA number; the NPI for the
    e-prescription) is blank. The DEA registration itself is the licensing gate's (`dea_missing`)."""
    if profile is None:
        return list(PRESCRIBER_FIELDS)
    return [name for name in PRESCRIBER_FIELDS if not (getattr(profile, name, "") or "").strip()]


def _fill_codes(rx: Prescription, fill: Fill, on: date) -> list[str]:
    """Only for a fill after the first: what the signed prescription still allows."""
    codes = []
    if rx.status == PrescriptionStatus.SUPERSEDED:
        codes.append("prescription_superseded")
    elif rx.status != PrescriptionStatus.SIGNED or rx.signed_at is None:
        codes.append("prescription_not_signed")
    if rx.expires_on is None or on > rx.expires_on:
        codes.append("prescription_expired")
    if selectors.fills_used(prescription=rx) >= 1 + rx.refills:
        codes.append("refills_exhausted")
    return codes


def prescription_fill_codes(rx: Prescription, on: date | None = None) -> list[str]:
    """What stops the patient from asking for the next fill at all (expired, superseded, none left)."""
    on = on or practice_date()
    return _fill_codes(rx, Fill(REFILL, rx.quantity), on)


def run_gates(
    *,
    rx: Prescription,
    on: date,
    now: datetime,
    policy: PrescribingPolicy,
    fill: Fill | None = None,
    pregnant_or_nursing: bool | None = NOT_ATTESTED,
) -> GateReport:
    """Every gate, every time (no short-circuit): the physician sees all reasons at once.

    `fill` defaults to the first fill (signing). Issue-only gates (PDMP, the pregnancy
    attestation, the prescriber's profile) run for the first fill; fill-only gates (expiry,
    refills left, superseded, state changed since signing) for the others.

    What the gates read about the patient is one query (`patient_facts`); the prescriber's profile
    is read once (or comes with the signing lock) for the basis and the profile gate."""
    fill = fill or Fill(FIRST_FILL, rx.first_fill_quantity or rx.quantity)
    issuing = fill.kind == FIRST_FILL
    report = GateReport(prescription_id=rx.pk, quantity=fill.quantity, on=on)
    facts = patient_facts(rx=rx, on=on, now=now, policy=policy, issuing=issuing)
    prescriber = physician_profile_of(rx.physician)
    _record_basis(report, rx, facts, prescriber, policy=policy, on=on)
    _record_licensing(report, rx, facts, policy=policy, on=on, issuing=issuing)
    _record_clinical(report, rx, facts, policy=policy, on=on, issuing=issuing, pregnant_or_nursing=pregnant_or_nursing)
    _record_prescription(report, rx, facts, fill=fill, policy=policy, on=on)
    _record_shipping(report, rx, facts)
    if issuing:
        report.record("one_active", ["active_prescription_exists"] if facts.other_active else [])
        missing = prescriber_profile_missing(prescriber)
        message = f"{MESSAGES['prescriber_profile_incomplete']} Missing: {', '.join(missing)}."
        report.record(
            "prescriber_profile",
            ["prescriber_profile_incomplete"] if missing else [],
            {"prescriber_profile_incomplete": message},
        )
    return report


def _record_basis(report: GateReport, rx: Prescription, facts: PatientFacts, prescriber, *, policy, on) -> None:
    """Gate 1: a recent evaluation, and the lawful basis for prescribing by telemedicine on this
    date (docs/prescribing-basis.md): every fill re-asks it, so a refill after the flexibilities
    end needs one too."""
    registration = (getattr(prescriber, "telemedicine_special_registration", "") or "") if prescriber else ""
    evidence = evidence_for(patient=rx.patient, physician=rx.physician, special_registration=registration)
    report.record("evaluation", _evaluation_codes(facts, evidence, policy, on))
    report.basis = decide(evidence=evidence, state=facts.state, on=on, policy=policy)
    report.record("basis", report.basis.codes)


def _record_licensing(report: GateReport, rx: Prescription, facts: PatientFacts, *, policy, on, issuing) -> None:
    """Gates 2 and 3: the prescriber's licence, DEA and CDS for the patient's current state; the
    PDMP check at issue."""
    state = facts.state
    if state is None:
        report.record("location", ["patient_location_missing"])
        report.record("licensing", [])
        if issuing:
            report.record("pdmp", ["pdmp_check_missing"])
        return
    report.credentials = credentials_for(physician=rx.physician, state=state, action="prescribe")
    auth = physician_authorization(
        physician=rx.physician, state=state, on=on, action="prescribe", credentials=report.credentials
    )
    report.record(
        "licensing",
        [r.code for r in auth.reasons] if not auth.allowed else [],
        {r.code: r.message for r in auth.reasons},
    )
    if not auth.allowed and not auth.reasons:
        report.record("licensing_unspecified", ["not_authorized_to_prescribe"])
    if issuing:
        report.record("pdmp", _pdmp_codes(facts, policy, state, on))


def _record_clinical(
    report: GateReport, rx: Prescription, facts: PatientFacts, *, policy, on, issuing, pregnant_or_nursing
) -> None:
    """Gates 4 and 5: safety flags, contraindications, screening, the pregnancy attestation at
    issue, consents, membership."""
    report.record("safety_flag", ["open_safety_flag"] if facts.open_safety_flag else [])
    contraindication_codes = []
    if facts.contraindication_unresolved:
        contraindication_codes.append("contraindication_unresolved")
    if facts.contraindication_confirmed:
        contraindication_codes.append("contraindication_confirmed")
    report.record("contraindications", contraindication_codes)
    report.record("screening", _screening_codes(facts, policy, on))
    if issuing:
        report.record("pregnancy", _pregnancy_codes(pregnant_or_nursing))
    report.record("consents", ["consents_missing"] if patient_consents_current(patient=rx.patient) else [])
    refusal = standing_refusal(rx.patient, on)
    report.record("subscription", [refusal] if refusal else [])


def _record_prescription(report: GateReport, rx: Prescription, facts: PatientFacts, *, fill: Fill, policy, on) -> None:
    """Gate 6: the policy's limits; for a later fill, what the signed prescription still allows
    and whether the patient moved since signing."""
    limits = limit_failures(
        policy=policy,
        quantity=rx.quantity,
        days_supply=rx.days_supply,
        refills=rx.refills,
        first_fill_quantity=rx.first_fill_quantity,
    )
    report.record("limits", [code for _, code, _ in limits], {code: msg for _, code, msg in limits})
    if fill.kind != FIRST_FILL:
        codes = [] if 0 < fill.quantity <= rx.quantity else ["invalid_quantity"]
        report.record("fill", codes + _fill_codes(rx, fill, on))
        state = facts.state
        moved = bool(rx.patient_state) and state is not None and state != rx.patient_state
        report.record("state_at_signing", ["patient_state_changed"] if moved else [])


def _record_shipping(report: GateReport, rx: Prescription, facts: PatientFacts) -> None:
    """Gate 7: the product active, the pharmacy licensed for the destination (the verified
    address's state, which is the patient's state), a verified service-area address."""
    report.record("product", [] if rx.product.active else ["product_retired"])
    ship_to: ShipTo | None = ship_to_from(rx.patient, facts.profile)
    destination = ship_to.state if ship_to is not None else facts.state
    pharmacy_ok = destination is not None and facts.pharmacy_allowed
    report.record("pharmacy", [] if pharmacy_ok else ["pharmacy_not_licensed_for_state"])
    report.record("address", [] if ship_to is not None else ["address_not_verified"])


def fill_gate(*, rx: Prescription, quantity: int, kind: str = STAGED, on: date | None = None) -> GateReport:
    """The gate for a fill after the first, on `on` (default: today in the practice's time zone,
    the calendar of the prescription's expiry), with the policy in force that day."""
    now = timezone.now()
    on = on or practice_date(now)
    return run_gates(rx=rx, on=on, now=now, policy=policy_on(on), fill=Fill(kind, quantity))
