"""Refill requests: the patient asks, the physician approves (the next delivery order) or declines.

At most one open request per prescription (a partial unique constraint; a concurrent duplicate
becomes 409 `refill_already_requested`). Approval runs the shared fill gate (`gates.fill_gate`):
every gate of signing that can change after it (licensing for the patient's current state, the
pharmacy for the destination, standing, flags, contraindications, screening, consents, basis,
limits) plus expiry (6 months after issue, Schedule III) and refills remaining, refused with
every reason at once (docs/prescribing-gates.md).
"""

from __future__ import annotations

from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from api.clock import practice_date
from prescriptions import fill_checks, selectors
from prescriptions.errors import InvalidPrescription, RefillAlreadyRequested, RefillNotOpen, RefillRefused
from prescriptions.models import DeliveryOrder, Prescription, RefillRequest, RefillStatus
from prescriptions.services.gates import MESSAGES, REFILL, fill_gate, prescription_fill_codes
from prescriptions.services.orders import delivery_order_create


def _refuse(codes: list[str]) -> None:
    if codes:
        raise RefillRefused(reasons=[{"code": c, "message": MESSAGES[c]} for c in codes])


@transaction.atomic
def refill_request_create(*, actor: User, prescription_id: UUID, note: str = "", request=None) -> RefillRequest:
    """The patient asks for the next fill of their own signed prescription."""
    rx = selectors.prescription_get_for_patient(viewer=actor, public_id=prescription_id)
    _refuse(prescription_fill_codes(rx))
    if RefillRequest.objects.filter(prescription=rx, status=RefillStatus.OPEN).exists():
        raise RefillAlreadyRequested()
    # Accepted either way; an early one is flagged for the physician (prescriptions/fill_checks.py).
    early = fill_checks.early_refill(prescription=rx, on=practice_date())
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
    found = selectors.refill_request_get_for_physician(viewer=actor, public_id=refill_id)
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
    quantity = rx.quantity if quantity is None else quantity
    if not (0 < quantity <= rx.quantity):
        raise InvalidPrescription(
            "The fill quantity must be between 1 and the prescribed quantity.",
            code="invalid_quantity",
            fields={"quantity": [{"code": "invalid_quantity", "message": "Between 1 and the prescribed quantity."}]},
        )
    report = fill_gate(rx=rx, quantity=quantity, kind=REFILL)
    if not report.passed:
        raise RefillRefused(reasons=report.reasons)
    order: DeliveryOrder = delivery_order_create(
        actor=actor, prescription=rx, quantity=quantity, cleared=report, kind=REFILL, request=request
    )
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
