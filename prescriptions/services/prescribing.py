"""Drafting prescriptions and recording PDMP checks.

A draft is checked against the limits at once (400 with a stable code, nothing saved); signing
(`signing.py`) checks everything again on the signing date.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from uuid import UUID

from django.db import transaction
from django.db.models import OuterRef, Q
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from api.clock import practice_date
from api.errors import DomainError, NotFound
from prescriptions import selectors
from prescriptions.errors import (
    ActivePrescriptionExists,
    InvalidPrescription,
    PharmacyNotLicensed,
    PrescriptionSigned,
    ProductRetired,
    UnknownPharmacy,
    UnknownProduct,
)
from prescriptions.models import (
    STATES,
    MedicationProduct,
    PDMPCheck,
    Pharmacy,
    PrescribingPolicy,
    Prescription,
    PrescriptionStatus,
)
from prescriptions.policy import policy_on
from prescriptions.services.patient_facts import patient_state


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def limit_failures(
    *,
    policy: PrescribingPolicy,
    quantity: int,
    days_supply: int,
    refills: int,
    first_fill_quantity: int | None = None,
) -> list[tuple[str, str, str]]:
    """Every broken limit as (field, code, message). Schedule III: at most 5 refills."""
    failures = []
    if quantity is None or quantity <= 0:
        failures.append(("quantity", "invalid_quantity", "Quantity must be at least 1."))
    elif first_fill_quantity is not None and not (0 < first_fill_quantity <= quantity):
        failures.append(
            ("first_fill_quantity", "invalid_first_fill_quantity", "The first fill must be between 1 and quantity.")
        )
    if days_supply is None or days_supply <= 0:
        failures.append(("days_supply", "invalid_days_supply", "Days' supply must be at least 1."))
    elif days_supply > policy.max_days_supply:
        failures.append(("days_supply", "days_supply_exceeds_limit", f"At most {policy.max_days_supply} days' supply."))
    if refills is None or refills < 0:
        failures.append(("refills", "invalid_refills", "Refills cannot be negative."))
    elif refills > policy.max_refills:
        failures.append(("refills", "too_many_refills", f"At most {policy.max_refills} refills."))
    return failures


def _raise_limits(failures: list[tuple[str, str, str]]) -> None:
    if failures:
        fields: dict[str, list[dict[str, str]]] = {}
        for field, code, message in failures:
            fields.setdefault(field, []).append({"code": code, "message": message})
        raise InvalidPrescription(failures[0][2], code=failures[0][1], fields=fields)


def _product(public_id: UUID) -> MedicationProduct:
    product = MedicationProduct.objects.filter(public_id=public_id).first()
    if product is None:
        raise UnknownProduct(
            fields={"product": [{"code": "unknown_product", "message": UnknownProduct.default_message}]}
        )
    if not product.active:
        raise ProductRetired()
    return product


def _pharmacy_for(public_id: UUID, *, state: str | None, on: date) -> Pharmacy:
    pharmacy = Pharmacy.objects.filter(public_id=public_id, active=True).first()
    if pharmacy is None:
        raise UnknownPharmacy(fields={"pharmacy": [{"code": "unknown_pharmacy", "message": "No such pharmacy."}]})
    if state is None or not selectors.pharmacy_allowed_for_state(pharmacy=pharmacy, state=state, on=on):
        raise PharmacyNotLicensed()
    return pharmacy


def other_active_prescriptions(
    *,
    patient: User | OuterRef,
    product: MedicationProduct,
    on: date,
    supersedes_id: int | None,
    exclude_id: int | None = None,
):
    """Signed, unexpired prescriptions of this patient for this product, and ones waiting for the
    prescriber's signature at the EPCS vendor (about to become active), other than the one being
    replaced: one active prescription per patient and product (docs/prescribing-gates.md#one-active)."""
    active = Prescription.objects.filter(
        Q(status=PrescriptionStatus.SIGNED, expires_on__gte=on) | Q(status=PrescriptionStatus.AWAITING_EPCS_SIGNATURE),
        patient=patient,
        product=product,
    )
    excluded = [pk for pk in (supersedes_id, exclude_id) if pk]
    return active.exclude(pk__in=excluded) if excluded else active


def _refuse_second_active(*, patient: User, product: MedicationProduct, on: date, supersedes_id: int | None) -> None:
    if other_active_prescriptions(patient=patient, product=product, on=on, supersedes_id=supersedes_id).exists():
        raise ActivePrescriptionExists()


def _superseded(patient: User, supersedes_id: UUID) -> Prescription:
    """The patient's signed prescription the new one replaces (else 404)."""
    supersedes = Prescription.objects.filter(
        public_id=supersedes_id, patient=patient, status=PrescriptionStatus.SIGNED
    ).first()
    if supersedes is None:
        raise NotFound("No signed prescription of this patient to supersede.")
    return supersedes


@transaction.atomic
def prescription_draft_create(
    *,
    actor: User,
    patient_id: UUID,
    product_id: UUID,
    pharmacy_id: UUID,
    dose: str,
    directions: str,
    quantity: int,
    days_supply: int,
    refills: int = 0,
    first_fill_quantity: int | None = None,
    units_per_session: int = 1,
    sessions_per_day: int = 1,
    sessions_per_week: int | None = None,
    supersedes_id: UUID | None = None,
    request=None,
) -> Prescription:
    """A physician drafts a prescription for a patient on their caseload (else 404)."""
    patient = selectors.caseload_patient(viewer=actor, patient_public_id=patient_id)
    today = practice_date()
    _raise_limits(
        limit_failures(
            policy=policy_on(today),
            quantity=quantity,
            days_supply=days_supply,
            refills=refills,
            first_fill_quantity=first_fill_quantity,
        )
    )
    product = _product(product_id)
    state = patient_state(patient)
    pharmacy = _pharmacy_for(pharmacy_id, state=state, on=today)
    supersedes = _superseded(patient, supersedes_id) if supersedes_id is not None else None
    _refuse_second_active(
        patient=patient, product=product, on=today, supersedes_id=supersedes.pk if supersedes else None
    )
    rx = Prescription(
        patient=patient,
        physician=actor,
        product=product,
        pharmacy=pharmacy,
        dose=dose,
        directions=directions,
        quantity=quantity,
        first_fill_quantity=first_fill_quantity,
        days_supply=days_supply,
        refills=refills,
        units_per_session=units_per_session,
        sessions_per_day=sessions_per_day,
        sessions_per_week=sessions_per_week,
        supersedes=supersedes,
        patient_state=state or "",
    )
    rx.full_clean(exclude=["supersedes"])
    rx.save()
    audit_log(request, AuditAction.CREATE, rx, actor=actor, detail="draft")
    return rx


_EDITABLE = ("product_id", "pharmacy_id", "dose", "directions", "quantity", "days_supply", "refills")


@transaction.atomic
def prescription_draft_update(*, actor: User, prescription_id: UUID, request=None, **changes) -> Prescription:
    """Edit a draft. A signed prescription never changes (409 prescription_signed)."""
    rx = selectors.prescription_get_for_physician(viewer=actor, public_id=prescription_id)
    rx = Prescription.objects.select_for_update().get(pk=rx.pk)
    if rx.signed_at is not None or rx.status != PrescriptionStatus.DRAFT:
        raise PrescriptionSigned() if rx.signed_at else DomainError("Only drafts can change.", code="not_a_draft")
    if rx.physician_id != actor.pk:
        raise NotFound()
    today = practice_date()
    merged = {
        "quantity": changes.get("quantity", rx.quantity),
        "days_supply": changes.get("days_supply", rx.days_supply),
        "refills": changes.get("refills", rx.refills),
        "first_fill_quantity": changes.get("first_fill_quantity", rx.first_fill_quantity),
    }
    _raise_limits(limit_failures(policy=policy_on(today), **merged))
    if "product_id" in changes:
        rx.product = _product(changes.pop("product_id"))
        _refuse_second_active(patient=rx.patient, product=rx.product, on=today, supersedes_id=rx.supersedes_id)
    state = patient_state(rx.patient)
    if "pharmacy_id" in changes:
        rx.pharmacy = _pharmacy_for(changes.pop("pharmacy_id"), state=state, on=today)
    for field in (
        "dose",
        "directions",
        "quantity",
        "days_supply",
        "refills",
        "first_fill_quantity",
        "units_per_session",
        "sessions_per_day",
        "sessions_per_week",
    ):
        if field in changes:
            setattr(rx, field, changes[field])
    rx.patient_state = state or ""
    rx.full_clean(exclude=["supersedes"])
    rx.save()
    audit_log(request, AuditAction.UPDATE, rx, actor=actor, detail="draft " + ",".join(sorted(changes)))
    return rx


@transaction.atomic
def prescription_draft_discard(*, actor: User, prescription_id: UUID, request=None) -> Prescription:
    rx = selectors.prescription_get_for_physician(viewer=actor, public_id=prescription_id)
    rx = Prescription.objects.select_for_update().get(pk=rx.pk)
    if rx.signed_at is not None:
        raise PrescriptionSigned()
    if rx.physician_id != actor.pk:
        raise NotFound()
    if rx.status == PrescriptionStatus.AWAITING_EPCS_SIGNATURE:
        # Start-up cycle: prescriptions.services.erx imports add_months from this module.
        from prescriptions.services.erx import erx_proposal_cancel

        reason = {"code": "discarded_by_prescriber", "message": "Discarded by the prescriber."}
        erx_proposal_cancel(rx_pk=rx.pk, reasons=[reason], actor=actor, discard=True, request=request)
        rx.refresh_from_db()
        return rx
    rx.status = PrescriptionStatus.DISCARDED
    rx.save(update_fields=["status", "updated_at"])
    audit_log(request, AuditAction.UPDATE, rx, actor=actor, detail="discarded")
    return rx


@transaction.atomic
def pdmp_check_record(
    *,
    actor: User,
    patient_id: UUID,
    state: str | None = None,
    checked_at: datetime | None = None,
    result_summary: str,
    request=None,
) -> PDMPCheck:
    """Record a PDMP lookup (by the prescriber or a staff delegate) for a patient in their care."""
    patient = selectors.patient_for_care_team(viewer=actor, patient_public_id=patient_id)
    now = timezone.now()
    checked_at = checked_at or now
    if checked_at > now + timedelta(minutes=5):
        raise DomainError(
            "A PDMP check cannot be in the future.",
            code="checked_at_in_future",
            fields={"checked_at": [{"code": "checked_at_in_future", "message": "Cannot be in the future."}]},
        )
    state = state or patient_state(patient)
    if state not in dict(STATES):
        raise DomainError(
            "The PDMP's state is required.",
            code="invalid_state",
            fields={"state": [{"code": "invalid_state", "message": "FL or NJ."}]},
        )
    check = PDMPCheck(
        patient=patient, checked_by=actor, state=state, checked_at=checked_at, result_summary=result_summary
    )
    check.full_clean()
    check.save()
    audit_log(request, AuditAction.CREATE, check, actor=actor, detail="pdmp check")
    return check
