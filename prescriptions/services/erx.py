"""Electronic prescribing of controlled substances (EPCS) through a certified vendor.

The flow (docs/e-prescribing.md#the-flow):

    draft --(our gates pass, prescription_sign)--> awaiting_epcs_signature   erx: proposed
          --(proposal sent, outside any transaction)-->                       erx: awaiting_signature
          --(the prescriber signs at the vendor with two factors; the vendor reports
             signed + transmitted: webhook, sandbox or poll)--> signed          erx: transmitted
             (first delivery order created) --> erx: pharmacy_received | error | cancelled

Why the signature is the vendor's: a Schedule III e-prescription must be signed with two-factor
authentication in EPCS-certified software by an identity-proofed prescriber (21 CFR 1311.140),
and Florida (F.S. 456.42) and New Jersey require electronic transmission. Our own gates stay the
practice's policy and run twice: when the physician asks to sign, and again on the vendor's
signing date; a gate that fails while the proposal waits (a safety flag opened, a licence
expired) cancels it at the vendor (`erx_recheck_awaiting`, run by beat and before handing out the
signing URL).

Sending is an outbox on our own rows: the proposal is queued in the signing transaction and sent
after commit by a task that claims the row with a compare-and-swap; the vendor call is idempotent
by `ErxSubmission.idempotency_key`; a beat sweep re-drives what a lost task left behind. Vendor
events are stored once by id (`ErxEvent`) and applied by a task that claims them; transitions only
move forward (`ALLOWED`), so duplicated, late or out-of-order events change nothing.

Nothing here logs patient data: log lines carry row ids, vendor ids and status codes.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from api.clock import practice_date
from api.errors import DomainError, NotFound
from prescriptions import selectors
from prescriptions.errors import SigningRefused
from prescriptions.erx.errors import (
    EpcsNotEnabled,
    ErxProposalPending,
    ErxUnavailable,
    InvalidEpcsCode,
    NotAwaitingEpcsSignature,
)
from prescriptions.erx.gateway import (
    MEDICATION_STATUS_CANCELLED,
    ErxError,
    ErxNotFound,
    ErxRejected,
    PatientData,
    ProposalData,
    VendorEvent,
    VendorStatus,
    erx_gateway,
    map_vendor_status,
    vendor_status_name,
)
from prescriptions.erx.models import (
    ErxEvent,
    ErxEventStatus,
    ErxPatientLink,
    ErxPrescriber,
    ErxStatus,
    ErxSubmission,
    SendState,
)
from prescriptions.erx.sandbox import SandboxErxGateway
from prescriptions.models import EventSource, OrderStatus, Prescription, PrescriptionStatus, SigningAttempt
from prescriptions.policy import policy_on
from prescriptions.services.gates import run_gates
from prescriptions.services.orders import delivery_order_create, delivery_order_transition
from prescriptions.services.patient_facts import profile_of
from prescriptions.services.prescribing import add_months
from prescriptions.state_machine import can_transition

logger = logging.getLogger(__name__)

S = ErxStatus
# Vendor-side transitions we accept; anything else is stale (a duplicate, late or out of order).
# An error can be followed by a successful re-transmission; a cancellation is final.
ALLOWED: dict[str, frozenset[str]] = {
    S.PROPOSED: frozenset({S.AWAITING_SIGNATURE, S.TRANSMITTED, S.PHARMACY_RECEIVED, S.ERROR, S.CANCELLED}),
    S.AWAITING_SIGNATURE: frozenset({S.TRANSMITTED, S.PHARMACY_RECEIVED, S.ERROR, S.CANCELLED}),
    S.TRANSMITTED: frozenset({S.PHARMACY_RECEIVED, S.ERROR, S.CANCELLED}),
    S.PHARMACY_RECEIVED: frozenset({S.CANCELLED}),
    S.ERROR: frozenset({S.TRANSMITTED, S.PHARMACY_RECEIVED, S.CANCELLED}),
    S.CANCELLED: frozenset(),
}
STUCK_AFTER = timedelta(minutes=10)


# --- Prescribers ------------------------------------------------------------------------------
def prescriber_epcs_ready(physician: User) -> bool:
    row = ErxPrescriber.objects.filter(physician=physician, provider=settings.ERX_PROVIDER).first()
    return bool(row and row.epcs_enabled)


def ensure_epcs_enabled(physician: User) -> ErxPrescriber:
    """Refuse (409 `epcs_not_enabled`) before anything is sent to the vendor."""
    row = ErxPrescriber.objects.filter(physician=physician, provider=settings.ERX_PROVIDER).first()
    if row is None or not row.epcs_enabled:
        raise EpcsNotEnabled()
    return row


@transaction.atomic
def erx_prescriber_set(
    *,
    actor: User | None,
    physician: User,
    vendor_clinician_id: str,
    identity_proofed_at: datetime | None = None,
    two_factor_enrolled_at: datetime | None = None,
    request=None,
) -> ErxPrescriber:
    """Record a physician's vendor clinician id and EPCS status (staff, onboarding, seeds)."""
    if not physician.is_physician:
        raise DomainError("Only physicians prescribe.", code="not_a_physician")
    row, _ = ErxPrescriber.objects.update_or_create(
        physician=physician,
        defaults={
            "provider": settings.ERX_PROVIDER,
            "vendor_clinician_id": vendor_clinician_id.strip(),
            "identity_proofed_at": identity_proofed_at,
            "two_factor_enrolled_at": two_factor_enrolled_at,
        },
    )
    row.full_clean()
    audit_log(request, AuditAction.UPDATE, row, actor=actor, detail="epcs prescriber")
    return row


def erx_prescriber_sync(*, physician_id: int) -> ErxPrescriber | None:
    """Ask the vendor for the prescriber's identity proofing and 2FA status (outside a transaction)."""
    row = ErxPrescriber.objects.filter(physician_id=physician_id).first()
    if row is None or not row.vendor_clinician_id:
        return None
    status = erx_gateway().sync_prescriber(vendor_clinician_id=row.vendor_clinician_id)
    now = timezone.now()
    row.identity_proofed_at = (row.identity_proofed_at or now) if status.identity_proofed else None
    row.two_factor_enrolled_at = (row.two_factor_enrolled_at or now) if status.two_factor_enrolled else None
    row.save(update_fields=["identity_proofed_at", "two_factor_enrolled_at", "updated_at"])
    return row


# --- Proposal: queued in the signing transaction ------------------------------------------------
def erx_proposal_queue(*, rx: Prescription, actor: User, request=None) -> ErxSubmission:
    """Called by `prescription_sign` once every gate passed, inside its transaction with the row
    locked: the prescription waits for the prescriber's EPCS signature and the proposal is sent
    after commit (never inside the transaction)."""
    attempt = (rx.erx_submissions.aggregate(m=Max("attempt"))["m"] or 0) + 1
    submission = ErxSubmission.objects.create(
        prescription=rx,
        provider=settings.ERX_PROVIDER,
        attempt=attempt,
        idempotency_key=f"{rx.public_id}-{attempt}",
    )
    rx.status = PrescriptionStatus.AWAITING_EPCS_SIGNATURE
    rx.erx_status = ErxStatus.PROPOSED
    rx.erx_message = ""
    # Only these three fields changed here (the signing service validated the rest): checked in
    # Python, without the unique and constraint round trips a full_clean spends (the database
    # still enforces every constraint on save).
    _changed = {"status", "erx_status", "erx_message"}
    rx.full_clean(
        exclude=[f.name for f in Prescription._meta.fields if f.name not in _changed],
        validate_unique=False,
        validate_constraints=False,
    )
    rx.save()
    from prescriptions.erx.tasks import send_proposal

    send_proposal.delay_on_commit(submission.pk)
    return submission


def _current_submission(rx: Prescription, *, lock: bool = False) -> ErxSubmission | None:
    qs = ErxSubmission.objects.filter(prescription=rx).order_by("-attempt")
    if lock:
        qs = qs.select_for_update()
    return qs.first()


def _patient_data(rx: Prescription) -> PatientData:
    """Exactly what the e-prescription carries about the patient (name, date of birth, address,
    a phone the vendor requires), from the address the prescription was checked against."""
    profile = profile_of(rx.patient)
    if profile is None:
        raise ErxRejected("The patient's profile is incomplete.", code="patient_profile_missing")
    phone = ""
    if profile.phone:
        digits = "".join(c for c in str(profile.phone) if c.isdigit())
        phone = digits[-10:]
    return PatientData(
        reference=str(rx.patient.public_id),
        first_name=profile.legal_first_name,
        last_name=profile.legal_last_name,
        date_of_birth=profile.date_of_birth,
        address_line1=profile.address_line1,
        address_line2=profile.address_line2 or "",
        city=profile.city,
        state=profile.state,
        zip_code=profile.zip_code,
        phone=phone,
    )


def _proposal_data(
    rx: Prescription, submission: ErxSubmission, *, patient_id: str, clinician_id: str, pharmacy_id: str
):
    snap = rx.snapshot or {}
    product = rx.product
    return ProposalData(
        idempotency_key=submission.idempotency_key,
        vendor_patient_id=patient_id,
        vendor_clinician_id=clinician_id,
        vendor_pharmacy_id=pharmacy_id,
        description=f"Ketamine HCl {snap.get('strength') or product.strength_text} "
        f"{snap.get('dosage_form') or product.get_dosage_form_display()} (compounded)",
        quantity=rx.quantity,
        dispense_unit=product.dispensing_unit,
        days_supply=rx.days_supply,
        refills=rx.refills,
        directions=rx.directions,
        schedule="3",
        effective_date=practice_date(),
        # Lets the pharmacy (and our idempotent re-send) tie the e-prescription to our records.
        pharmacy_note=f"Ref {submission.idempotency_key}",
    )


def erx_proposal_send(*, submission_id: int, task_id: str = "") -> str:
    """Send one proposal to the vendor, at least once and without duplicates. Safe to run twice."""
    now = timezone.now()
    mine = Q(send_state=SendState.SENDING, claimed_by=task_id) if task_id else Q(pk__in=[])
    claimed = ErxSubmission.objects.filter(Q(pk=submission_id) & (Q(send_state=SendState.PENDING) | mine)).update(
        send_state=SendState.SENDING, claimed_at=now, claimed_by=task_id[:64], send_attempts=F("send_attempts") + 1
    )
    if not claimed:
        return "not_claimed"
    submission = ErxSubmission.objects.select_related(
        "prescription__patient", "prescription__physician", "prescription__pharmacy", "prescription__product"
    ).get(pk=submission_id)
    rx = submission.prescription
    if submission.status != ErxStatus.PROPOSED or rx.status != PrescriptionStatus.AWAITING_EPCS_SIGNATURE:
        ErxSubmission.objects.filter(pk=submission_id, send_state=SendState.SENDING).update(send_state=SendState.DONE)
        return "abandoned"
    gateway = erx_gateway()
    try:
        prescriber = ErxPrescriber.objects.filter(physician=rx.physician).first()
        if prescriber is None or not prescriber.epcs_enabled:
            raise ErxRejected("The prescriber is not enabled for EPCS.", code="epcs_not_enabled")
        if not rx.pharmacy.ncpdp_id:
            raise ErxRejected("The pharmacy has no NCPDP ID on file.", code="pharmacy_ncpdp_missing")
        link = ErxPatientLink.objects.filter(patient=rx.patient, provider=submission.provider).first()
        patient_id = gateway.sync_patient(_patient_data(rx), vendor_patient_id=link.vendor_patient_id if link else "")
        ErxPatientLink.objects.update_or_create(
            patient=rx.patient,
            provider=submission.provider,
            defaults={"vendor_patient_id": patient_id, "synced_at": timezone.now()},
        )
        matches = gateway.find_pharmacy(ncpdp_id=rx.pharmacy.ncpdp_id)
        if not matches:
            raise ErxRejected("The pharmacy is not in the vendor's directory.", code="pharmacy_not_in_directory")
        vendor_rx_id = gateway.propose(
            _proposal_data(
                rx,
                submission,
                patient_id=patient_id,
                clinician_id=prescriber.vendor_clinician_id,
                pharmacy_id=matches[0].vendor_pharmacy_id,
            )
        )
    except ErxError as exc:
        if exc.transient:
            return _release_for_retry(submission, exc)
        _proposal_failed(submission.pk, exc.message)
        logger.warning("erx proposal refused submission=%s code=%s", submission.pk, exc.code)
        return "failed"
    _proposal_sent(
        submission.pk,
        patient_id=patient_id,
        clinician_id=prescriber.vendor_clinician_id,
        pharmacy_id=matches[0].vendor_pharmacy_id,
        vendor_rx_id=vendor_rx_id,
    )
    logger.info("erx proposal sent submission=%s vendor_rx=%s", submission.pk, vendor_rx_id)
    return "sent"


def _release_for_retry(submission: ErxSubmission, exc: ErxError) -> str:
    attempts = submission.send_attempts
    if attempts >= settings.ERX_SEND_MAX_ATTEMPTS:
        _proposal_failed(submission.pk, "The e-prescribing service could not be reached. Sign again to retry.")
        logger.warning("erx proposal gave up submission=%s attempts=%s", submission.pk, attempts)
        return "failed"
    delay = min(60 * 2 ** (attempts - 1), 3600)
    ErxSubmission.objects.filter(pk=submission.pk, send_state=SendState.SENDING).update(
        send_state=SendState.PENDING, claimed_by="", next_attempt_at=timezone.now() + timedelta(seconds=delay)
    )
    logger.info("erx proposal retry later submission=%s attempt=%s in=%ss", submission.pk, attempts, delay)
    return "retry_later"


def _proposal_sent(submission_id: int, *, patient_id: str, clinician_id: str, pharmacy_id: str, vendor_rx_id: str):
    with transaction.atomic():
        rx_pk = ErxSubmission.objects.values_list("prescription_id", flat=True).get(pk=submission_id)
        rx = Prescription.objects.select_for_update().get(pk=rx_pk)
        submission = ErxSubmission.objects.select_for_update().get(pk=submission_id)
        submission.vendor_patient_id = patient_id
        submission.vendor_clinician_id = clinician_id
        submission.vendor_pharmacy_id = pharmacy_id
        submission.vendor_prescription_id = vendor_rx_id
        submission.send_state = SendState.DONE
        submission.last_vendor_update = timezone.now()
        if submission.status == ErxStatus.PROPOSED:
            submission.status = ErxStatus.AWAITING_SIGNATURE
            if rx.status == PrescriptionStatus.AWAITING_EPCS_SIGNATURE and rx.erx_status == ErxStatus.PROPOSED:
                rx.erx_status = ErxStatus.AWAITING_SIGNATURE
                rx.save(update_fields=["erx_status", "updated_at"])
        elif submission.status == ErxStatus.CANCELLED and submission.cancel_state != SendState.SENDING:
            # Cancelled while the proposal was in flight: cancel what the vendor now holds.
            submission.cancel_state = SendState.PENDING
            _enqueue_cancel(submission.pk)
        submission.save()
        audit_log(None, AuditAction.EXPORT, rx, actor=None, detail="e-prescription proposed to the vendor")


def _proposal_failed(submission_id: int, message: str) -> None:
    """The vendor refused the proposal (or never answered): back to draft with its message."""
    with transaction.atomic():
        rx_pk = ErxSubmission.objects.values_list("prescription_id", flat=True).get(pk=submission_id)
        rx = Prescription.objects.select_for_update().get(pk=rx_pk)
        submission = ErxSubmission.objects.select_for_update().get(pk=submission_id)
        submission.send_state = SendState.FAILED
        if submission.status == ErxStatus.PROPOSED:
            submission.status = ErxStatus.ERROR
        submission.vendor_message = message[:500]
        submission.save()
        current = _current_submission(rx)
        if rx.status == PrescriptionStatus.AWAITING_EPCS_SIGNATURE and current and current.pk == submission.pk:
            _back_to_draft(rx, erx_status=ErxStatus.ERROR, message=message)
            audit_log(None, AuditAction.UPDATE, rx, actor=None, detail="e-prescription refused by the vendor")


def _back_to_draft(rx: Prescription, *, erx_status: str, message: str, discard: bool = False) -> None:
    rx.status = PrescriptionStatus.DISCARDED if discard else PrescriptionStatus.DRAFT
    rx.erx_status = erx_status
    rx.erx_message = message[:500]
    rx.snapshot = {}
    rx.save(update_fields=["status", "erx_status", "erx_message", "snapshot", "updated_at"])


# --- Cancelling a proposal -----------------------------------------------------------------------
def _enqueue_cancel(submission_id: int) -> None:
    from prescriptions.erx.tasks import send_cancel

    send_cancel.delay_on_commit(submission_id)


def erx_proposal_cancel(
    *, rx_pk: int, reasons: list[dict], actor: User | None = None, discard: bool = False, request=None
) -> ErxSubmission | None:
    """Withdraw a proposal still waiting for the vendor's signature: the prescription goes back to
    draft (or is discarded) at once, and the vendor's copy is cancelled after commit."""
    with transaction.atomic():
        rx = Prescription.objects.select_for_update().get(pk=rx_pk)
        if rx.status != PrescriptionStatus.AWAITING_EPCS_SIGNATURE:
            return None
        submission = _current_submission(rx, lock=True)
        codes = [r["code"] for r in reasons]
        text = "; ".join(r.get("message") or r["code"] for r in reasons)
        if submission is not None and submission.status not in (ErxStatus.CANCELLED,):
            submission.status = ErxStatus.CANCELLED
            submission.cancel_state = SendState.PENDING
            submission.cancel_reason = ",".join(codes)[:255]
            submission.save()
            _enqueue_cancel(submission.pk)
        _back_to_draft(
            rx, erx_status=ErxStatus.CANCELLED, message=f"Cancelled before signature: {text}", discard=discard
        )
        audit_log(
            request, AuditAction.UPDATE, rx, actor=actor, detail=f"e-prescription cancelled: {','.join(codes)}"[:255]
        )
    logger.info("erx proposal cancelled rx=%s reasons=%s", rx_pk, ",".join(codes))
    return submission


def erx_cancel_send(*, submission_id: int, task_id: str = "") -> str:
    """Cancel the vendor's copy (pending or transmitted). Safe to run twice."""
    now = timezone.now()
    mine = Q(cancel_state=SendState.SENDING, claimed_by=task_id) if task_id else Q(pk__in=[])
    claimed = ErxSubmission.objects.filter(Q(pk=submission_id) & (Q(cancel_state=SendState.PENDING) | mine)).update(
        cancel_state=SendState.SENDING, claimed_at=now, claimed_by=task_id[:64]
    )
    if not claimed:
        return "not_claimed"
    submission = ErxSubmission.objects.get(pk=submission_id)
    if not submission.vendor_prescription_id:
        if submission.send_state == SendState.SENDING:  # the proposal is in flight: try again later
            ErxSubmission.objects.filter(pk=submission_id).update(cancel_state=SendState.PENDING, claimed_by="")
            return "retry_later"
        ErxSubmission.objects.filter(pk=submission_id).update(cancel_state=SendState.DONE)
        return "nothing_at_vendor"
    try:
        erx_gateway().cancel(
            vendor_patient_id=submission.vendor_patient_id, vendor_prescription_id=submission.vendor_prescription_id
        )
    except ErxNotFound:
        pass
    except ErxError as exc:
        if exc.transient:
            ErxSubmission.objects.filter(pk=submission_id).update(cancel_state=SendState.PENDING, claimed_by="")
            return "retry_later"
        ErxSubmission.objects.filter(pk=submission_id).update(
            cancel_state=SendState.FAILED, vendor_message=exc.message[:500]
        )
        logger.warning("erx cancel refused submission=%s code=%s", submission_id, exc.code)
        return "failed"
    with transaction.atomic():
        rx = Prescription.objects.select_for_update().get(pk=submission.prescription_id)
        ErxSubmission.objects.filter(pk=submission_id).update(cancel_state=SendState.DONE, status=ErxStatus.CANCELLED)
        if rx.status == PrescriptionStatus.CANCELLED and rx.erx_status != ErxStatus.CANCELLED:
            rx.erx_status = ErxStatus.CANCELLED
            rx.save(update_fields=["erx_status", "updated_at"])
    logger.info("erx cancelled at vendor submission=%s", submission_id)
    return "cancelled"


# --- Gates between proposal and signature -------------------------------------------------------
def _gates(rx: Prescription, at: datetime, *, record: bool):
    on = practice_date(at)  # the issue date is the practice's calendar date (docs/prescribing-basis.md#dates)
    policy = policy_on(on)
    # The prescriber attested "not pregnant or nursing" when proposing (any other answer refuses
    # the proposal), so the re-check carries that attestation rather than asking again.
    report = run_gates(rx=rx, on=on, now=at, policy=policy, pregnant_or_nursing=False)
    if record or not report.passed:
        SigningAttempt.objects.create(
            prescription=rx,
            attempted_by=rx.physician,
            attempted_at=timezone.now(),
            signing_date=on,
            policy=policy if policy.pk else None,
            succeeded=report.passed,
            reasons=[r["code"] for r in report.reasons],
            checks=report.checks,
        )
    return report, on, policy


def erx_recheck_awaiting(*, prescription_ids: list[int] | None = None) -> int:
    """Re-run the gates on prescriptions waiting for the vendor's signature; a failure (a flag
    opened, a licence expired, ...) cancels the proposal at the vendor. Returns how many."""
    qs = Prescription.objects.filter(status=PrescriptionStatus.AWAITING_EPCS_SIGNATURE)
    if prescription_ids is not None:
        qs = qs.filter(pk__in=prescription_ids)
    cancelled = 0
    for rx in qs.select_related("patient", "physician", "product", "pharmacy")[:500]:
        with transaction.atomic():
            report, _, _ = _gates(rx, timezone.now(), record=False)
        if not report.passed:
            erx_proposal_cancel(rx_pk=rx.pk, reasons=report.reasons)
            cancelled += 1
    return cancelled


# --- The prescriber's signing session ----------------------------------------------------------
def erx_session_url(*, actor: User, prescription_id: UUID, request=None) -> dict:
    """The vendor's single-sign-on URL to its signing screen, for the prescriber's own prescription
    waiting for an EPCS signature. The gates are re-checked first: a failing one cancels."""
    rx = selectors.prescription_get_for_physician(viewer=actor, public_id=prescription_id)
    if rx.physician_id != actor.pk:
        raise NotFound()
    prescriber = ensure_epcs_enabled(actor)
    if rx.status != PrescriptionStatus.AWAITING_EPCS_SIGNATURE:
        raise NotAwaitingEpcsSignature()
    with transaction.atomic():
        report, _, _ = _gates(rx, timezone.now(), record=False)
    if not report.passed:
        erx_proposal_cancel(rx_pk=rx.pk, reasons=report.reasons, actor=actor, request=request)
        raise SigningRefused(reasons=report.reasons)
    submission = _current_submission(rx)
    if submission is None or not submission.vendor_prescription_id:
        raise ErxProposalPending()
    try:
        url = erx_gateway().sso_url(
            vendor_clinician_id=prescriber.vendor_clinician_id, vendor_patient_id=submission.vendor_patient_id
        )
    except ErxError as exc:
        raise ErxUnavailable() from exc
    audit_log(request, AuditAction.READ, rx, actor=actor, detail="epcs signing session")
    return {
        "url": url,
        "provider": submission.provider,
        "vendor_prescription_id": submission.vendor_prescription_id,
        "erx_status": submission.status,
    }


def erx_sandbox_sign(*, actor: User, prescription_id: UUID, code: str, outcome: str, request=None) -> Prescription:
    """The sandbox vendor's signing screen: the prescriber enters the one-time code the sandbox
    logged. Only with ERX_PROVIDER=sandbox (404 otherwise). The vendor's notifications are then
    stored and applied like a webhook's."""
    if settings.ERX_PROVIDER != "sandbox":
        raise NotFound()

    rx = selectors.prescription_get_for_physician(viewer=actor, public_id=prescription_id)
    if rx.physician_id != actor.pk:
        raise NotFound()
    if rx.status != PrescriptionStatus.AWAITING_EPCS_SIGNATURE:
        raise NotAwaitingEpcsSignature()
    submission = _current_submission(rx)
    if submission is None or not submission.vendor_prescription_id:
        raise ErxProposalPending()
    try:
        events = SandboxErxGateway().sign(
            vendor_prescription_id=submission.vendor_prescription_id, code=code, outcome=outcome
        )
    except ErxRejected as exc:
        if exc.code == "invalid_epcs_code":
            raise InvalidEpcsCode(fields={"code": [{"code": "invalid_epcs_code", "message": exc.message}]}) from exc
        raise NotAwaitingEpcsSignature() from exc
    with transaction.atomic():
        for event in events:
            erx_event_receive(provider="sandbox", event=event, source="sandbox")
        audit_log(request, AuditAction.UPDATE, rx, actor=actor, detail="epcs signature at the sandbox vendor")
    return rx


# --- Vendor events -------------------------------------------------------------------------------
def erx_event_receive(*, provider: str, event: VendorEvent, source: str = "webhook") -> tuple[ErxEvent, bool]:
    """Store a verified vendor notification once by its id; apply it after commit."""
    row, created = ErxEvent.objects.get_or_create(
        provider=provider,
        event_id=event.event_id,
        defaults={"event_type": event.event_type[:64], "data": event.data, "source": source},
    )
    if created:
        from prescriptions.erx.tasks import process_event

        process_event.delay_on_commit(row.pk)
    return row, created


def _parse_time(value) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.get_fixed_timezone(0))
    return parsed


def erx_event_process(*, event_pk: int) -> str:
    """Apply one stored event, once (claimed pending -> processing). Safe to run twice."""
    claimed = ErxEvent.objects.filter(pk=event_pk, status=ErxEventStatus.PENDING).update(
        status=ErxEventStatus.PROCESSING, processed_at=timezone.now()
    )
    if not claimed:
        return "not_claimed"
    event = ErxEvent.objects.get(pk=event_pk)
    try:
        outcome = _apply_event(event)
    except Exception:
        ErxEvent.objects.filter(pk=event_pk).update(status=ErxEventStatus.PENDING)
        raise
    final = (
        ErxEventStatus.IGNORED if outcome in ("ignored", "stale", "unknown_prescription") else ErxEventStatus.APPLIED
    )
    ErxEvent.objects.filter(pk=event_pk).update(status=final, outcome=outcome[:64], processed_at=timezone.now())
    logger.info("erx event=%s type=%s outcome=%s", event.pk, event.event_type, outcome)
    return outcome


def _apply_event(event: ErxEvent) -> str:
    data = event.data or {}
    if event.event_type in ("PrescriptionResult", "MedicationStatusUpdate"):
        vendor_rx_id = str(data.get("PrescriptionId") or "")
        submission = ErxSubmission.objects.filter(provider=event.provider, vendor_prescription_id=vendor_rx_id).first()
        if submission is None or not vendor_rx_id:
            return "unknown_prescription"
        occurred = _parse_time(data.get("StatusDateTime"))
        if event.event_type == "MedicationStatusUpdate":
            if data.get("MedicationStatus") not in MEDICATION_STATUS_CANCELLED:
                return "ignored"
            update = VendorStatus(
                vendor_rx_id, ErxStatus.CANCELLED, "Cancelled", occurred, str(data.get("StatusNotes") or "")
            )
        else:
            raw = data.get("PrescriptionStatus")
            status = map_vendor_status(raw)
            update = VendorStatus(
                vendor_rx_id,
                status,
                vendor_status_name(raw),
                occurred,
                str(data.get("StatusDetails") or ""),
                signed_at=_parse_time(data.get("SignedDateTime")) or (occurred if status else None),
            )
        return erx_submission_apply(submission_id=submission.pk, update=update, source=event.source)
    if event.event_type in (
        "ClinicianIDPCompleteSuccess",
        "ClinicianTfaActivateSuccess",
        "ClinicianTfaDeactivateSuccess",
    ):
        row = ErxPrescriber.objects.filter(
            provider=event.provider, vendor_clinician_id=str(data.get("ClinicianId") or "")
        ).first()
        if row is None:
            return "ignored"
        now = timezone.now()
        if event.event_type == "ClinicianIDPCompleteSuccess":
            row.identity_proofed_at = _parse_time(data.get("ClinicianIDPCompleteDate")) or now
        elif event.event_type == "ClinicianTfaActivateSuccess":
            row.two_factor_enrolled_at = now
        else:
            row.two_factor_enrolled_at = None
        row.save(update_fields=["identity_proofed_at", "two_factor_enrolled_at", "updated_at"])
        return "prescriber_updated"
    return "ignored"


def erx_submission_apply(*, submission_id: int, update: VendorStatus, source: str) -> str:
    """Apply the vendor's status to a submission and its prescription, forward only."""
    with transaction.atomic():
        rx_pk = ErxSubmission.objects.values_list("prescription_id", flat=True).get(pk=submission_id)
        # Lock order: prescription, then submission (as everywhere in this module).
        rx = (
            Prescription.objects.select_for_update(of=("self",))
            .select_related("patient", "physician", "product", "pharmacy")
            .get(pk=rx_pk)
        )
        submission = ErxSubmission.objects.select_for_update().get(pk=submission_id)
        new = update.status
        submission.vendor_status = update.vendor_status[:32]
        if update.signed_at and not submission.vendor_signed_at and new in (S.TRANSMITTED, S.PHARMACY_RECEIVED):
            submission.vendor_signed_at = update.signed_at
        if update.occurred_at and (
            not submission.last_vendor_update or update.occurred_at > submission.last_vendor_update
        ):
            submission.last_vendor_update = update.occurred_at
        if new is None:
            submission.save()
            return "noted"
        if submission.status == S.CANCELLED and new in (S.TRANSMITTED, S.PHARMACY_RECEIVED):
            # Signed at the vendor after we withdrew it: cancel again (idempotent at the vendor).
            if submission.cancel_state in (SendState.DONE, SendState.FAILED, ""):
                submission.cancel_state = SendState.PENDING
                _enqueue_cancel(submission.pk)
            submission.save()
            return "recancelled"
        if new not in ALLOWED[submission.status]:
            submission.save()
            return "stale"
        submission.status = new
        submission.vendor_message = (update.message or "")[:500]
        if new == S.CANCELLED and submission.cancel_state != SendState.SENDING:
            submission.cancel_state = SendState.DONE
        submission.save()
        current = _current_submission(rx)
        is_current = current is not None and current.pk == submission.pk
        outcome = _apply_to_prescription(rx, submission, new, update, is_current=is_current)
        audit_log(None, AuditAction.UPDATE, rx, actor=None, detail=f"e-prescription {new} ({source}): {outcome}")
    return outcome


def _apply_to_prescription(rx, submission, new: str, update: VendorStatus, *, is_current: bool) -> str:
    awaiting = rx.status == PrescriptionStatus.AWAITING_EPCS_SIGNATURE and is_current
    if new in (S.TRANSMITTED, S.PHARMACY_RECEIVED):
        if awaiting:
            signed_at = submission.vendor_signed_at or update.occurred_at or timezone.now()
            report, on, policy = _gates(rx, signed_at, record=False)
            _record_signature(rx, signed_at, on, policy, report)
            rx.erx_status = new
            if not report.passed:
                # Transmitted, but our policy no longer allows it (e.g. a flag opened since the
                # proposal): it is not a valid prescription here; cancel it at the pharmacy.
                rx.status = PrescriptionStatus.CANCELLED
                codes = [r["code"] for r in report.reasons]
                rx.erx_message = f"Cancelled after transmission: {', '.join(codes)}"[:500]
                rx.save()
                submission.cancel_state = SendState.PENDING
                submission.cancel_reason = ",".join(codes)[:255]
                submission.save(update_fields=["cancel_state", "cancel_reason", "updated_at"])
                _enqueue_cancel(submission.pk)
                return "cancelled_gate_failed"
            rx.status = PrescriptionStatus.SIGNED
            rx.erx_message = ""
            rx.save()
            _after_signature(rx)
            return "signed"
        if rx.status in (PrescriptionStatus.SIGNED, PrescriptionStatus.SUPERSEDED) and is_current:
            rx.erx_status = new
            rx.erx_message = ""
            rx.save(update_fields=["erx_status", "erx_message", "updated_at"])
            return "updated"
        return "stale"
    if new == S.ERROR:
        if awaiting:
            _back_to_draft(rx, erx_status=S.ERROR, message=update.message or "The e-prescription failed at the vendor.")
            return "back_to_draft"
        if rx.status in (PrescriptionStatus.SIGNED, PrescriptionStatus.SUPERSEDED) and is_current:
            rx.erx_status = S.ERROR
            rx.erx_message = (update.message or "Transmission to the pharmacy failed.")[:500]
            rx.save(update_fields=["erx_status", "erx_message", "updated_at"])
            logger.warning("erx transmission error after signature rx=%s submission=%s", rx.pk, submission.pk)
            return "transmission_error"
        return "stale"
    if new == S.CANCELLED:
        if awaiting:
            _back_to_draft(rx, erx_status=S.CANCELLED, message=update.message or "Cancelled at the vendor.")
            return "back_to_draft"
        if rx.status == PrescriptionStatus.SIGNED and is_current:
            rx.status = PrescriptionStatus.CANCELLED
            rx.erx_status = S.CANCELLED
            rx.erx_message = (update.message or "Cancelled at the vendor or the pharmacy.")[:500]
            rx.save(update_fields=["status", "erx_status", "erx_message", "updated_at"])
            _cancel_open_orders(rx)
            return "prescription_cancelled"
        if rx.status == PrescriptionStatus.CANCELLED:
            rx.erx_status = S.CANCELLED
            rx.save(update_fields=["erx_status", "updated_at"])
            return "cancel_confirmed"
    return "stale"


def _record_signature(rx: Prescription, signed_at: datetime, on, policy, report) -> None:
    """The legal signature time is the vendor's (21 CFR 1311.140); expiry counts from that date,
    and the prescribing basis is the one that holds on that date (the proposal may have been made
    the day before, under other rules: docs/prescribing-basis.md)."""
    rx.signed_at = signed_at
    rx.expires_on = add_months(on, policy.expiry_months)
    if report.basis is not None:
        rx.prescribing_basis = report.basis.basis or ""
        rx.snapshot = {
            **(rx.snapshot or {}),
            "issued_on": on.isoformat(),
            "prescribing_basis": report.basis.basis,
            "prescribing_basis_evidence": report.basis.evidence,
        }


def _after_signature(rx: Prescription) -> None:
    """What a signature used to do at once: supersede the old prescription, create the first fill."""
    if rx.supersedes_id:
        old = Prescription.objects.select_for_update().get(pk=rx.supersedes_id)
        if old.status == PrescriptionStatus.SIGNED:
            old.status = PrescriptionStatus.SUPERSEDED
            old.save(update_fields=["status", "updated_at"])
    try:
        with transaction.atomic():
            delivery_order_create(
                actor=None,
                prescription=rx,
                quantity=rx.first_fill_quantity or rx.quantity,
                note="first fill: e-prescription transmitted",
            )
    except DomainError as exc:
        rx.erx_message = f"First fill held: {exc.code}"
        rx.save(update_fields=["erx_message", "updated_at"])
        logger.warning("erx first fill held rx=%s code=%s", rx.pk, exc.code)


def _cancel_open_orders(rx: Prescription) -> None:
    for order in rx.orders.all():
        if can_transition(order.status, OrderStatus.CANCELLED):
            delivery_order_transition(
                actor=None,
                order_id=order.public_id,
                to_status=OrderStatus.CANCELLED,
                note="e-prescription cancelled",
                source=EventSource.ERX,
            )


# --- Polls and the sweep ------------------------------------------------------------------------
def silent_submission_ids(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    """Proposals and transmissions the vendor has been silent about past ERX_POLL_AFTER_MINUTES."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.ERX_POLL_AFTER_MINUTES)
    return list(
        ErxSubmission.objects.filter(
            status__in=[S.AWAITING_SIGNATURE, S.TRANSMITTED],
            send_state=SendState.DONE,
            last_vendor_update__lt=cutoff,
        )
        .exclude(vendor_prescription_id="")
        .filter(Q(last_polled_at__isnull=True) | Q(last_polled_at__lt=cutoff))
        .order_by("last_vendor_update")
        .values_list("pk", flat=True)[:limit]
    )


def erx_poll(*, submission_id: int) -> str:
    """Ask the vendor for the status (webhook fallback); the answer is an event like any other."""
    submission = ErxSubmission.objects.filter(pk=submission_id).first()
    if submission is None or not submission.vendor_prescription_id:
        return "skipped"
    status = erx_gateway().fetch_status(
        vendor_patient_id=submission.vendor_patient_id, vendor_prescription_id=submission.vendor_prescription_id
    )
    ErxSubmission.objects.filter(pk=submission_id).update(last_polled_at=timezone.now())
    data = {
        "PrescriptionId": submission.vendor_prescription_id,
        "PrescriptionStatus": status.vendor_status,
        "StatusDateTime": status.occurred_at.isoformat() if status.occurred_at else "",
        "StatusDetails": status.message[:500],
        "SignedDateTime": status.signed_at.isoformat() if status.signed_at else "",
    }
    event = VendorEvent(
        event_id=f"poll:{submission.vendor_prescription_id}:{status.vendor_status}"[:128],
        event_type="PrescriptionResult",
        data=data,
    )
    with transaction.atomic():
        row, created = erx_event_receive(provider=submission.provider, event=event, source="poll")
    return "new_status" if created else "unchanged"


def erx_sweep(*, now: datetime | None = None) -> dict[str, list[int]]:
    """Beat: take back rows whose worker died and list what needs sending, cancelling, applying."""
    now = now or timezone.now()
    stuck = now - STUCK_AFTER
    ErxSubmission.objects.filter(send_state=SendState.SENDING, claimed_at__lt=stuck).update(
        send_state=SendState.PENDING, claimed_by=""
    )
    ErxSubmission.objects.filter(cancel_state=SendState.SENDING, claimed_at__lt=stuck).update(
        cancel_state=SendState.PENDING, claimed_by=""
    )
    ErxEvent.objects.filter(status=ErxEventStatus.PROCESSING, processed_at__lt=stuck).update(
        status=ErxEventStatus.PENDING
    )
    return {
        "send": list(
            ErxSubmission.objects.filter(send_state=SendState.PENDING, next_attempt_at__lte=now).values_list(
                "pk", flat=True
            )[:200]
        ),
        "cancel": list(ErxSubmission.objects.filter(cancel_state=SendState.PENDING).values_list("pk", flat=True)[:200]),
        "events": list(
            ErxEvent.objects.filter(
                status=ErxEventStatus.PENDING, received_at__lt=now - timedelta(minutes=1)
            ).values_list("pk", flat=True)[:200]
        ),
    }
