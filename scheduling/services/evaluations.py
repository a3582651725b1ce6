"""In-person evaluations and practitioner presence: the scheduling records the prescribing basis
reads (docs/in-person-visits.md).

From 1 January 2027, unless the DEA extends its telemedicine flexibilities again, a Schedule III
prescription issued by telemedicine needs the prescriber to have conducted at least one
in-person medical evaluation of the patient (21 U.S.C. 829(e)(2)(A)(i)), or, for one visit, the
patient to be in the physical presence of a practitioner DEA-registered in the patient's state
(21 U.S.C. 802(54)(B)). These services write those records; prescriptions.services.basis reads
them through scheduling.selectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from api.clock import practice_zone
from api.errors import Forbidden, NotFound
from practice.identifiers import dea_checksum_ok, validate_dea_format, validate_npi
from scheduling import contracts
from scheduling.errors import (
    AlreadyVoided,
    AttestationRequired,
    DateInFuture,
    PractitionerStateMismatch,
    StateNotServed,
)
from scheduling.models import (
    Appointment,
    InPersonEvaluation,
    InPersonEvaluationSource,
    VisitLocation,
    VisitLocationKind,
    VisitPractitionerPresence,
)

SERVED_STATES = ("FL", "NJ")


def _field(name: str, error) -> dict:
    """The envelope's `fields` for a refusal about one input field."""
    return {name: [{"code": error.code, "message": error.default_message}]}


def _place_of_visit(appointment: Appointment) -> tuple[str, str, bool]:
    """(address, state, home visit) of an in-person visit: the office's address, or for a home
    visit the patient's verified home address (in the location's state)."""
    location = appointment.location
    if location.kind != VisitLocationKind.HOME_VISIT:
        return location.address_text, location.state, False
    home = contracts.patient_home_address(appointment.patient)
    if home is None or home[1] != location.state:
        message = "A home visit needs the patient's verified home address in the location's state."
        raise ValidationError({"location": ValidationError(message, code="home_address_unverified")})
    return home[0], location.state, True


def in_person_evaluation_record_from_visit(
    *,
    actor: User,
    appointment: Appointment,
    attest_in_person: bool,
    others_present: str = "",
    request=None,
    now: datetime | None = None,
) -> InPersonEvaluation:
    """The evaluation documented by completing an in-person visit, in the completing
    transaction (appointment_complete calls it). The physician attests that they evaluated the
    patient in person (in their physical presence; 21 U.S.C. 829(e)(2)(A)(i)); the date is the
    local date at the location when the visit started (as started, else as scheduled): call it
    before the visit's own start time is filled in."""
    if not attest_in_person:
        raise AttestationRequired(fields=_field("attest_in_person", AttestationRequired))
    if actor.pk != appointment.physician_id:
        raise Forbidden()
    now = now or timezone.now()
    location = appointment.location
    address, state, home_visit = _place_of_visit(appointment)
    evaluation = InPersonEvaluation(
        patient=appointment.patient,
        physician=actor,
        evaluated_on=timezone.localtime(
            appointment.started_at or appointment.starts_at, contracts.zone(location.time_zone)
        ).date(),
        source=InPersonEvaluationSource.VISIT,
        appointment=appointment,
        location=location,
        home_visit=home_visit,
        place_address=address,
        place_state=state,
        others_present=others_present,
        attested_by=actor,
        attested_at=now,
    )
    evaluation.full_clean()
    evaluation.save()
    audit_log(request, AuditAction.CREATE, evaluation, actor=actor, detail="in-person evaluation from visit")
    return evaluation


def _location(value) -> VisitLocation | None:
    if value is None or isinstance(value, VisitLocation):
        return value
    found = VisitLocation.objects.filter(public_id=value).first()
    if found is None:
        raise ValidationError({"location": ValidationError("Unknown visit location.", code="does_not_exist")})
    return found


def _patient_today(patient: User, location: VisitLocation | None) -> date:
    """Today where the evaluation would have taken place: the location's zone, else the
    patient's, else the practice's (a date just after midnight there is not in the future)."""
    if location is not None:
        tz = contracts.zone(location.time_zone)
    else:
        location_of_patient = contracts.patient_location(patient=patient)
        tz = contracts.zone(location_of_patient.time_zone) if location_of_patient else practice_zone()
    return timezone.localtime(timezone.now(), tz).date()


@transaction.atomic
def in_person_evaluation_record(
    *,
    actor: User,
    patient: User,
    evaluated_on: date,
    place_address: str,
    place_state: str,
    home_visit: bool = False,
    location=None,
    others_present: str = "",
    request=None,
) -> InPersonEvaluation:
    """An in-person evaluation the physician conducted elsewhere (not a visit booked here),
    attested by them. Only the prescriber's own evaluation counts (a referring doctor's does
    not), so `actor` is the evaluating physician; the patient must be on their caseload
    (otherwise not found). `location`: a VisitLocation or its public id, optional."""
    if not actor.is_physician or contracts.assigned_physician_id(patient) != actor.pk:
        raise NotFound()
    location = _location(location)
    if place_state not in SERVED_STATES:
        raise StateNotServed(fields=_field("place_state", StateNotServed))
    if location is not None and location.state != place_state:
        message = "The location is in another state."
        raise ValidationError({"location": ValidationError(message, code="location_state_mismatch")})
    if evaluated_on > _patient_today(patient, location):
        raise DateInFuture(fields=_field("evaluated_on", DateInFuture))
    now = timezone.now()
    evaluation = InPersonEvaluation(
        patient=patient,
        physician=actor,
        evaluated_on=evaluated_on,
        source=InPersonEvaluationSource.RECORDED,
        location=location,
        home_visit=home_visit,
        place_address=(place_address or "").strip(),
        place_state=place_state,
        others_present=others_present or "",
        attested_by=actor,
        attested_at=now,
    )
    evaluation.full_clean()
    evaluation.save()
    audit_log(request, AuditAction.CREATE, evaluation, actor=actor, detail="in-person evaluation recorded")
    return evaluation


@transaction.atomic
def in_person_evaluation_void(*, actor: User, public_id, reason: str, request=None) -> InPersonEvaluation:
    """Void a mistaken evaluation (records are never deleted): only the physician who attested
    it; anyone else is told it does not exist. A voided evaluation no longer counts."""
    evaluation = (
        InPersonEvaluation.objects.select_for_update().filter(public_id=public_id, physician=actor).first()
        if actor.is_physician
        else None
    )
    if evaluation is None:
        raise NotFound()
    if evaluation.voided_at is not None:
        raise AlreadyVoided()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ValidationError("Say why the evaluation is voided.", code="required")})
    evaluation.voided_at = timezone.now()
    evaluation.void_reason = reason
    evaluation.full_clean()
    evaluation.save(update_fields=["voided_at", "void_reason"])
    audit_log(request, AuditAction.UPDATE, evaluation, actor=actor, detail="in-person evaluation voided")
    return evaluation


@dataclass(frozen=True)
class PractitionerPresent:
    """The on-site practitioner at a video visit (21 U.S.C. 802(54)(B))."""

    name: str
    npi: str
    dea_number: str
    state: str


def visit_practitioner_presence_record(
    *, actor: User, appointment: Appointment, present: PractitionerPresent, request=None
) -> VisitPractitionerPresence:
    """During this video visit the patient was physically with a practitioner DEA-registered in
    the patient's state (the state the patient was in at the visit). Called by
    appointment_complete in its transaction. The NPI's check digit must match; a DEA number of
    the right shape whose checksum fails is kept and flagged for manual verification, as DEA
    registrations are (practice.identifiers)."""
    fields: dict[str, list] = {}
    npi = (present.npi or "").strip()
    dea = (present.dea_number or "").strip().upper()
    for name, value, check in (("npi", npi, validate_npi), ("dea_number", dea, validate_dea_format)):
        try:
            check(value)
        except ValidationError as exc:
            fields[f"practitioner_present.{name}"] = [{"code": exc.code, "message": exc.messages[0]}]
    if fields:
        raise ValidationError({k: ValidationError(v[0]["message"], code=v[0]["code"]) for k, v in fields.items()})
    if present.state != appointment.patient_state_at_visit:
        raise PractitionerStateMismatch(fields=_field("practitioner_present.state", PractitionerStateMismatch))
    presence = VisitPractitionerPresence(
        appointment=appointment,
        practitioner_name=(present.name or "").strip(),
        practitioner_npi=npi,
        practitioner_dea_number=dea,
        practitioner_state=present.state,
        dea_needs_verification=not dea_checksum_ok(dea),
        recorded_by=actor,
    )
    presence.full_clean()
    presence.save()
    audit_log(request, AuditAction.CREATE, presence, actor=actor, detail="practitioner present")
    return presence
