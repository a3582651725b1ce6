"""Refill requests: the patient asks, the physician approves (the next delivery order) or declines.

At most one open request per prescription (a partial unique constraint; a concurrent duplicate
becomes 409 `refill_already_requested`). Approval re-checks what may have changed since signing:
safety flag, membership, expiry (6 months after issue, Schedule III) and refills remaining.
"""

from __future__ import annotations

from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from prescriptions import fill_checks, selectors
from prescriptions.errors import InvalidPrescription, RefillAlreadyRequested, RefillNotOpen, RefillRefused
from prescriptions.models import DeliveryOrder, Prescription, PrescriptionStatus, RefillRequest, RefillStatus
from prescriptions.services.orders import delivery_order_create
from prescriptions.services.patient_facts import standing_refusal

MESSAGES = {
    "prescription_expired": "The prescription has expired; a new one is needed.",
    "refills_exhausted": "No refills remain on this prescription.",
    "prescription_superseded": "The prescription was replaced by a newer one.",
    "open_safety_flag": "The patient has an open safety flag.",
    "subscription_inactive": "The membership is not active.",
    "subscription_past_due": "Shipments are paused until the membership is paid.",
}


def _refill_codes(rx: Prescription, *, with_patient_checks: bool) -> list[str]:
    codes = []
    if rx.status == PrescriptionStatus.SUPERSEDED:
        codes.append("prescription_superseded")
    if rx.expires_on is None or timezone.localdate() > rx.expires_on:
        codes.append("prescription_expired")
    if selectors.fills_used(prescription=rx) >= 1 + rx.refills:
        codes.append("refills_exhausted")
    if with_patient_checks:
        from patients.services.safety import patient_has_open_safety_flag

        if patient_has_open_safety_flag(patient=rx.patient):
            codes.append("open_safety_flag")
        refusal = standing_refusal(rx.patient)
        if refusal is not None:
            codes.append(refusal)
    return codes


def _refuse(codes: list[str]) -> None:
    if codes:
        raise RefillRefused(reasons=[{"code": c, "message": MESSAGES[c]} for c in codes])


@transaction.atomic
def refill_request_create(*, actor: User, prescription_id: UUID, note: str = "", request=None) -> RefillRequest:
    """The patient asks for the next fill of their own signed prescription."""
    rx = selectors.prescription_get_for_patient(patient=actor, public_id=prescription_id)
    _refuse(_refill_codes(rx, with_patient_checks=False))
    if RefillRequest.objects.filter(prescription=rx, status=RefillStatus.OPEN).exists():
        raise RefillAlreadyRequested()
    # Accepted either way; an early one is flagged for the physician (prescriptions/fill_checks.py).
    early = fill_checks.early_refill(prescription=rx, on=timezone.localdate())
    refill = RefillRequest(
        prescription=rx, patient=actor, patient_note=note, early_refill=bool(early), early_refill_detail=early or {}
    )
    refill.full_clean(exclude=["prescription", "patient"], validate_constraints=False)
    try:
        with transaction.atomic():
            refill.save()
    except IntegrityError as exc:  # a concurrent request won the partial unique constraint
        raise RefillAlreadyRequested() from exc
    audit_log(request, AuditAction.CREATE, refill, actor=actor, detail="refill request" + (" early" if early else ""))
    return refill


def _locked_open_refill(actor: User, refill_id: UUID) -> RefillRequest:
    found = selectors.refill_request_get_for_physician(physician=actor, public_id=refill_id)
    # Lock the prescription first, then the request: approvals of one prescription serialise.
    Prescription.objects.select_for_update().get(pk=found.prescription_id)
    refill = (
        RefillRequest.objects.select_for_update(of=("self",)).select_related("prescription__patient").get(pk=found.pk)
    )
    if refill.status != RefillStatus.OPEN:
        raise RefillNotOpen()
    return refill


@transaction.atomic
def refill_request_approve(
    *, actor: User, refill_id: UUID, quantity: int | None = None, note: str = "", request=None
) -> RefillRequest:
    """Approve: the next delivery order, within the refill limit and before expiry. Staged
    supply: `quantity` may be below the prescribed quantity per fill, never above. An
    `early_refill` request needs the physician's note (`approval_note_required`): why more
    medicine now than the logged sessions account for."""
    refill = _locked_open_refill(actor, refill_id)
    rx = refill.prescription
    if refill.early_refill and not note.strip():
        raise InvalidPrescription(
            "This refill was requested early: say why it is approved.",
            code="approval_note_required",
            fields={"note": [{"code": "approval_note_required", "message": "Required for an early refill."}]},
        )
    _refuse(_refill_codes(rx, with_patient_checks=True))
    quantity = rx.quantity if quantity is None else quantity
    if not (0 < quantity <= rx.quantity):
        raise InvalidPrescription(
            "The fill quantity must be between 1 and the prescribed quantity.",
            code="invalid_quantity",
            fields={"quantity": [{"code": "invalid_quantity", "message": "Between 1 and the prescribed quantity."}]},
        )
    order: DeliveryOrder = delivery_order_create(actor=actor, prescription=rx, quantity=quantity, request=request)
    refill.status = RefillStatus.APPROVED
    refill.decided_by = actor
    refill.decided_at = timezone.now()
    refill.order = order
    refill.approval_note = note.strip()
    refill.save()
    audit_log(request, AuditAction.UPDATE, refill, actor=actor, detail="approved")
    return refill


@transaction.atomic
def refill_request_decline(*, actor: User, refill_id: UUID, reason: str, request=None) -> RefillRequest:
    refill = _locked_open_refill(actor, refill_id)
    if not reason.strip():
        raise InvalidPrescription(
            "A reason is required.",
            code="reason_required",
            fields={"reason": [{"code": "reason_required", "message": "Required."}]},
        )
    refill.status = RefillStatus.DECLINED
    refill.decided_by = actor
    refill.decided_at = timezone.now()
    refill.decline_reason = reason.strip()
    refill.save()
    audit_log(request, AuditAction.UPDATE, refill, actor=actor, detail="declined")
    return refill
