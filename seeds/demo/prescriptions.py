"""Demo prescriptions: a catalogue, two pharmacies, and for each demo patient on a caseload a
signed prescription with delivery orders, so every order status shows on the staff board.

Demo shortcut (documented): the signing gates need a completed audio-video evaluation and a
same-day PDMP check, which the earlier demo steps do not create, so the demo prescriptions and
orders are written directly here (with the same snapshot the signing service writes and a
full OrderEvent timeline) instead of through `prescription_sign`. Real prescriptions only ever
come from the service. Idempotent: a patient who already has a prescription is left alone.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Role, User
from patients.models import PatientProfile
from prescriptions.models import (
    DeliveryOrder,
    DosageForm,
    EventSource,
    MedicationProduct,
    OrderEvent,
    OrderStatus,
    PDMPCheck,
    Pharmacy,
    PharmacyLicenceKind,
    PharmacyStateLicence,
    PrescribingBasis,
    Prescription,
    PrescriptionStatus,
    RefillRequest,
    Route,
)
from prescriptions.services.basis import BasisDecision
from prescriptions.services.patient_facts import verified_ship_to
from prescriptions.services.prescribing import add_months
from prescriptions.services.signing import _snapshot
from scheduling.models import InPersonEvaluation, InPersonEvaluationSource

PRODUCTS = [
    (
        "Ketamine sublingual rapid-dissolve tablet",
        DosageForm.SUBLINGUAL_RDT,
        "100",
        "mg",
        Route.SUBLINGUAL,
        "tablet",
        False,
    ),
    ("Ketamine buccal troche", DosageForm.BUCCAL_TROCHE, "100", "mg", Route.BUCCAL, "troche", True),
    ("Ketamine buccal troche", DosageForm.BUCCAL_TROCHE, "200", "mg", Route.BUCCAL, "troche", True),
    ("Ketamine low-dose troche", DosageForm.LOW_DOSE_TROCHE, "30", "mg", Route.BUCCAL, "troche", True),
    ("Ketamine nasal spray", DosageForm.NASAL_SPRAY, "100", "mg/mL", Route.INTRANASAL, "mL", False),
]

PHARMACIES = [
    (
        "Sunshine Compounding Pharmacy (demo)",
        "orders@sunshine-compounding.example",
        "TX",
        [
            ("FL", PharmacyLicenceKind.FL_NONRESIDENT_PERMIT, "NRP-DEMO-0001"),
            ("NJ", PharmacyLicenceKind.NJ_REGISTRATION, "28RO-DEMO-0002"),
        ],
    ),
    (
        "Gulf Coast Compounding (demo)",
        "rx@gulfcoast-compounding.example",
        "FL",
        [("FL", PharmacyLicenceKind.FL_RESIDENT_PERMIT, "PH-DEMO-0003")],
    ),
]

# Per demo patient: the product index, refills, and the statuses of its orders (fill order).
PLANS = {
    "patient.miami@demo.practice.example": (
        1,
        5,
        [
            OrderStatus.DELIVERED,
            OrderStatus.RETURNED,
            OrderStatus.CANCELLED,
            OrderStatus.EXCEPTION,
            OrderStatus.OUT_FOR_DELIVERY,
        ],
    ),
    "patient.pensacola@demo.practice.example": (
        3,
        4,
        # The last fill waits on_hold: the patient has an open safety flag (prescriptions/fill_checks.py).
        [OrderStatus.DELIVERED, OrderStatus.IN_TRANSIT, OrderStatus.SHIPPED, OrderStatus.ON_HOLD],
    ),
    "patient.jersey@demo.practice.example": (
        4,
        3,
        [OrderStatus.DELIVERED, OrderStatus.COMPOUNDING, OrderStatus.SENT_TO_PHARMACY, OrderStatus.CREATED],
    ),
}

_FORWARD = [
    OrderStatus.CREATED,
    OrderStatus.SENT_TO_PHARMACY,
    OrderStatus.COMPOUNDING,
    OrderStatus.SHIPPED,
    OrderStatus.IN_TRANSIT,
    OrderStatus.OUT_FOR_DELIVERY,
    OrderStatus.DELIVERED,
]


def _path(target: str) -> list[str]:
    """The statuses an order went through to reach `target` (all legal transitions)."""
    if target in (OrderStatus.CANCELLED, OrderStatus.ON_HOLD):
        return [OrderStatus.CREATED, target]
    if target in (OrderStatus.EXCEPTION, OrderStatus.RETURNED):
        return [*_FORWARD[:5], target]
    return _FORWARD[: _FORWARD.index(target) + 1]


def _catalogue() -> list[MedicationProduct]:
    products = []
    for name, form, strength, unit, route, dispensing, heat in PRODUCTS:
        product, _ = MedicationProduct.objects.get_or_create(
            dosage_form=form,
            strength=Decimal(strength),
            strength_unit=unit,
            defaults={
                "name": name,
                "route": route,
                "dispensing_unit": dispensing,
                "heat_sensitive": heat,
                "dea_schedule": "III",
            },
        )
        products.append(product)
    return products


def _pharmacies() -> list[Pharmacy]:
    expires = timezone.localdate().replace(month=12, day=31) + timedelta(days=365)
    pharmacies = []
    for name, email, state, licences in PHARMACIES:
        pharmacy, _ = Pharmacy.objects.get_or_create(name=name, defaults={"email": email, "state": state})
        for licence_state, kind, number in licences:
            PharmacyStateLicence.objects.get_or_create(
                pharmacy=pharmacy,
                state=licence_state,
                licence_number=number,
                defaults={"kind": kind, "expires_on": expires},
            )
        pharmacies.append(pharmacy)
    return pharmacies


def _prescribe(patient: User, product: MedicationProduct, pharmacy: Pharmacy, refills: int, statuses: list) -> int:
    profile = patient.patient_profile
    physician = profile.assigned_physician
    ship_to = verified_ship_to(patient)
    if physician is None or ship_to is None:
        return 0
    now = timezone.now()
    signed_at = now - timedelta(days=40)
    rx = _signed_prescription(profile, physician, product, pharmacy, refills=refills, signed_at=signed_at)
    for sequence, target in enumerate(statuses, start=1):
        _order_with_timeline(rx, ship_to, sequence, target, created_at=signed_at + timedelta(days=(sequence - 1) * 6))
    return len(statuses)


def _signed_prescription(
    profile: PatientProfile,
    physician: User,
    product: MedicationProduct,
    pharmacy: Pharmacy,
    *,
    refills: int,
    signed_at,
) -> Prescription:
    """The PDMP check of the signing day and the prescription as `prescription_sign` leaves it."""
    patient = profile.user
    PDMPCheck.objects.create(
        patient=patient,
        checked_by=physician,
        state=profile.state,
        checked_at=signed_at,
        result_summary="Demo: no findings.",
    )
    rx = Prescription(
        patient=patient,
        physician=physician,
        product=product,
        pharmacy=pharmacy,
        dose=f"{product.strength_text}",
        directions="One dose during a monitored session, twice weekly, as directed.",
        quantity=8,
        first_fill_quantity=4,
        days_supply=28,
        refills=refills,
        patient_state=profile.state,
    )
    # Signed in 2026 under the federal telemedicine flexibilities (the demo's video-only patients).
    basis = BasisDecision(PrescribingBasis.TELEMEDICINE_FLEXIBILITY, {"flexibility_ends_on": "2026-12-31"})
    rx.prescribing_basis = basis.basis
    rx.snapshot = _snapshot(rx, profile.state, signed_at.date(), basis)
    rx.status = PrescriptionStatus.SIGNED
    rx.signed_at = signed_at
    rx.expires_on = add_months(signed_at.date(), 6)
    rx.save()
    return rx


def _order_with_timeline(rx: Prescription, ship_to, sequence: int, target: str, *, created_at) -> DeliveryOrder:
    """A fill already at `target`, with an OrderEvent for every step it took, twelve hours apart."""
    path = _path(target)
    order = DeliveryOrder.objects.create(
        prescription=rx,
        patient=rx.patient,
        pharmacy=rx.pharmacy,
        sequence=sequence,
        quantity=4 if sequence == 1 else 8,
        status=target,
        status_changed_at=created_at + timedelta(hours=12 * (len(path) - 1)),
        ship_to_name=ship_to.name,
        ship_to_line1=ship_to.line1,
        ship_to_line2=ship_to.line2,
        ship_to_city=ship_to.city,
        ship_to_state=ship_to.state,
        ship_to_zip=ship_to.zip_code,
        ship_to_county_fips=ship_to.county_fips,
        hold_reasons=["open_safety_flag"] if target == OrderStatus.ON_HOLD else [],
        created_at=created_at,
    )
    if OrderStatus.SHIPPED in path:
        order.carrier = "USPS"
        order.tracking_number = f"EZ{sequence}00000000{sequence}"
        order.shipped_at = created_at + timedelta(hours=36)
        order.last_carrier_update = order.status_changed_at
        if target == OrderStatus.DELIVERED:
            order.delivered_at = order.status_changed_at
        order.save()
    previous = ""
    for step, status in enumerate(path):
        source = (
            EventSource.EASYPOST if step >= 4 else (EventSource.PHARMACY_GATEWAY if step == 1 else EventSource.SYSTEM)
        )
        OrderEvent.objects.create(
            order=order,
            from_status=previous,
            to_status=status,
            source=source,
            occurred_at=created_at + timedelta(hours=12 * step),
            note="demo",
        )
        previous = status
    return order


# E-prescribing (sandbox vendor): NCPDP IDs for the demo pharmacies, and the physicians' EPCS
# enrolment. dr.expiring has a vendor account but no identity proofing or 2FA yet: signing answers
# 409 epcs_not_enabled (docs/e-prescribing.md#demo).
DEMO_NCPDP = {"Sunshine Compounding Pharmacy (demo)": "4412345", "Gulf Coast Compounding (demo)": "1098765"}
DEMO_EPCS = {
    "dr.florida@demo.practice.example": ("sbx-cl-1001", True),
    "dr.jersey@demo.practice.example": ("sbx-cl-1002", True),
    "dr.both@demo.practice.example": ("sbx-cl-1003", True),
    "dr.expiring@demo.practice.example": ("sbx-new-1004", False),
}


def _erx(pharmacies: list[Pharmacy]) -> int:
    from prescriptions.erx.models import ErxPrescriber

    for pharmacy in pharmacies:
        if not pharmacy.ncpdp_id and pharmacy.name in DEMO_NCPDP:
            pharmacy.ncpdp_id = DEMO_NCPDP[pharmacy.name]
            pharmacy.save(update_fields=["ncpdp_id"])
    enrolled = 0
    for email, (clinician_id, ready) in DEMO_EPCS.items():
        physician = User.objects.filter(email=email, role=Role.PHYSICIAN).first()
        if physician is None:
            continue
        when = timezone.now() - timedelta(days=120) if ready else None
        ErxPrescriber.objects.get_or_create(
            physician=physician,
            defaults={
                "provider": "sandbox",
                "vendor_clinician_id": clinician_id,
                "identity_proofed_at": when,
                "two_factor_enrolled_at": when,
            },
        )
        enrolled += ready
    return enrolled


def run(stdout) -> None:
    products = _catalogue()
    pharmacies = _pharmacies()
    epcs = _erx(pharmacies)
    orders = 0
    for email, (product_index, refills, statuses) in PLANS.items():
        patient = User.objects.filter(email=email, role=Role.PATIENT).select_related("patient_profile").first()
        if patient is None or not hasattr(patient, "patient_profile"):
            continue
        if Prescription.objects.filter(patient=patient).exists():
            continue
        pharmacy = pharmacies[0] if patient.patient_profile.state == "NJ" else pharmacies[orders % 2]
        orders += _prescribe(patient, products[product_index], pharmacy, refills, statuses)
    pensacola = Prescription.objects.filter(patient__email="patient.pensacola@demo.practice.example").first()
    if pensacola is not None and not RefillRequest.objects.filter(prescription=pensacola).exists():
        RefillRequest.objects.create(
            prescription=pensacola, patient=pensacola.patient, patient_note="Demo refill request."
        )
    evaluations = _in_person_evaluations()
    stdout.write(
        f"  {len(products)} products, {len(pharmacies)} pharmacies, {orders} new demo orders, "
        f"{evaluations} new in-person evaluations, {epcs} EPCS-enabled physicians (sandbox vendor)"
    )


# Seen in person by their physician (ready to be prescribed after the federal telemedicine
# flexibilities end); the other demo patients were seen only by video (ready in 2026, not in 2027).
IN_PERSON = {
    "patient.jersey@demo.practice.example": (
        "1 Gateway Center, Newark, NJ 07102",
        "NJ",
        "Medical assistant (chaperone)",
    ),
}


def _in_person_evaluations() -> int:
    created = 0
    for email, (address, state, others) in IN_PERSON.items():
        profile = PatientProfile.objects.filter(user__email=email).select_related("user", "assigned_physician").first()
        if profile is None or profile.assigned_physician is None:
            continue
        if InPersonEvaluation.objects.filter(patient=profile.user).exists():
            continue
        InPersonEvaluation.objects.create(
            patient=profile.user,
            physician=profile.assigned_physician,
            evaluated_on=timezone.localdate() - timedelta(days=20),
            source=InPersonEvaluationSource.RECORDED,
            place_address=address,
            place_state=state,
            others_present=others,
            attested_by=profile.assigned_physician,
            attested_at=timezone.now() - timedelta(days=20),
        )
        created += 1
    return created
