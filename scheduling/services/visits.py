"""The visit itself: video links, start, complete (the consultation record), no-show."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from api.errors import DomainError, Forbidden, NotFound
from scheduling import contracts
from scheduling.errors import InvalidTransition, InvalidVisitState, NotAVideoVisit, TooEarly, VideoNotReady
from scheduling.models import Appointment, AppointmentStatus, AppointmentTypeCode, Modality, VideoStatus
from scheduling.services.evaluations import (
    PractitionerPresent,
    in_person_evaluation_record_from_visit,
    visit_practitioner_presence_record,
)
from scheduling.services.reminders import reminders_cancel
from scheduling.video import video_provider

logger = logging.getLogger(__name__)

SERVED_STATES = ("FL", "NJ")


def _own_visit(*, actor: User, appointment: Appointment) -> Appointment:
    if actor.pk != appointment.physician_id:
        raise Forbidden()
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("appointment_type", "patient", "location")
        .get(pk=appointment.pk)
    )


@transaction.atomic
def appointment_start(*, actor: User, appointment: Appointment, request=None, now: datetime | None = None):
    now = now or timezone.now()
    appointment = _own_visit(actor=actor, appointment=appointment)
    if appointment.status != AppointmentStatus.BOOKED:
        raise InvalidTransition()
    if now < appointment.starts_at - timedelta(minutes=settings.SCHEDULING_START_EARLY_MINUTES):
        raise TooEarly("The visit can be started shortly before its time.")
    appointment.status = AppointmentStatus.IN_PROGRESS
    appointment.started_at = now
    appointment.save(update_fields=["status", "started_at", "updated_at"])
    audit_log(request, AuditAction.UPDATE, appointment, actor=actor, detail="started status")
    return appointment


def _invalid_modality() -> ValidationError:
    message = "Book an in-person evaluation to record an in-person visit."
    return ValidationError({"modality": ValidationError(message, code="invalid_choice")})


@transaction.atomic
def appointment_complete(
    *,
    actor: User,
    appointment: Appointment,
    visit_note: str,
    modality: str | None = None,
    patient_state_at_visit: str | None = None,
    assign_to_me: bool = True,
    attest_in_person: bool = False,
    others_present: str = "",
    practitioner_present: dict | None = None,
    request=None,
    now: datetime | None = None,
):
    """Record the consultation: note, modality (audio-video, docs/prescribing.md#checks) and where the
    patient was (the state whose licence rules applied). Completing a free consultation puts
    the patient on this physician's caseload unless `assign_to_me` is false.

    An in-person visit (booked at a location) is completed with the physician's attestation
    (`attest_in_person`, `others_present`) and records the in-person evaluation in the same
    transaction; the patient was at the location, so that is their state at the visit. A video
    visit may record the practitioner who was with the patient (`practitioner_present`: name,
    npi, dea_number, state). docs/in-person-visits.md#attestation."""
    now = now or timezone.now()
    appointment = _visit_to_complete(actor=actor, appointment=appointment, now=now)
    in_person = appointment.location_id is not None
    modality, patient_state_at_visit = _visit_modality_and_state(
        appointment,
        modality=modality,
        patient_state_at_visit=patient_state_at_visit,
        practitioner_present=practitioner_present,
    )
    if in_person:
        # Before the visit's start time is filled in: the evaluation's date is when it started.
        _record_in_person_evaluation(
            actor,
            appointment,
            attest_in_person=attest_in_person,
            others_present=others_present,
            request=request,
            now=now,
        )
    _mark_completed(
        appointment, visit_note=visit_note, modality=modality, patient_state_at_visit=patient_state_at_visit, now=now
    )
    if practitioner_present:
        visit_practitioner_presence_record(
            actor=actor, appointment=appointment, present=PractitionerPresent(**practitioner_present), request=request
        )

    reminders_cancel(appointment=appointment)
    audit_log(request, AuditAction.UPDATE, appointment, actor=actor, detail="completed status,visit_note")
    if assign_to_me and appointment.appointment_type.code == AppointmentTypeCode.FREE_CONSULTATION:
        _assign_after_consultation(appointment=appointment, physician=actor, request=request)
    return appointment


def _visit_to_complete(*, actor: User, appointment: Appointment, now: datetime) -> Appointment:
    """The physician's own visit, locked: booked or under way, and its start time near."""
    appointment = _own_visit(actor=actor, appointment=appointment)
    if appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.IN_PROGRESS):
        raise InvalidTransition()
    if now < appointment.starts_at - timedelta(minutes=settings.SCHEDULING_START_EARLY_MINUTES):
        raise TooEarly("A visit cannot be completed before it starts.")
    return appointment


def _visit_modality_and_state(
    appointment: Appointment, *, modality: str | None, patient_state_at_visit: str | None, practitioner_present
) -> tuple[str, str]:
    """An in-person visit was in person, in the location's state; a video visit was audio-video,
    in the state the patient gave (else their profile's, else the booking's). Either state must be
    one the practice serves."""
    if appointment.location_id is not None:
        if modality not in (None, Modality.IN_PERSON):
            raise ValidationError(
                {"modality": ValidationError("An in-person visit is completed in person.", code="invalid_choice")}
            )
        if practitioner_present:
            message = "A practitioner present is recorded for video visits only."
            raise ValidationError({"practitioner_present": ValidationError(message, code="not_a_video_visit")})
        modality = Modality.IN_PERSON
        patient_state_at_visit = appointment.location.state
    else:
        if modality not in (None, Modality.AUDIO_VIDEO):
            raise _invalid_modality()
        modality = Modality.AUDIO_VIDEO
    if patient_state_at_visit is None:
        location = contracts.patient_location(patient=appointment.patient)
        patient_state_at_visit = (location.state if location else "") or appointment.patient_state
    if patient_state_at_visit not in SERVED_STATES:
        message = InvalidVisitState.default_message
        raise InvalidVisitState(fields={"patient_state_at_visit": [{"code": "invalid_choice", "message": message}]})
    return modality, patient_state_at_visit


def _record_in_person_evaluation(
    actor: User, appointment: Appointment, *, attest_in_person: bool, others_present: str, request, now: datetime
) -> None:

    in_person_evaluation_record_from_visit(
        actor=actor,
        appointment=appointment,
        attest_in_person=attest_in_person,
        others_present=others_present,
        request=request,
        now=now,
    )


def _mark_completed(
    appointment: Appointment, *, visit_note: str, modality: str, patient_state_at_visit: str, now: datetime
) -> None:
    appointment.status = AppointmentStatus.COMPLETED
    appointment.visit_note = visit_note
    appointment.modality = modality
    appointment.patient_state_at_visit = patient_state_at_visit
    appointment.started_at = appointment.started_at or now
    appointment.completed_at = now
    appointment.full_clean(validate_unique=False, validate_constraints=False)
    appointment.save()


def _assign_after_consultation(*, appointment: Appointment, physician: User, request) -> None:
    """Put the patient on the physician's caseload (the patients app's rules decide; the system
    is the actor). A refusal (caseload full, ...) must not undo the visit record: staff assign
    by hand then."""
    if contracts.assigned_physician_id(appointment.patient) is not None:
        return
    try:
        with transaction.atomic():
            contracts.assign_physician(actor=None, patient=appointment.patient, physician=physician, request=request)
    except DomainError as exc:
        logger.info("caseload assignment refused appointment=%s code=%s", appointment.pk, exc.code)


@transaction.atomic
def appointment_mark_no_show(*, actor: User, appointment: Appointment, request=None, now: datetime | None = None):
    now = now or timezone.now()
    appointment = _own_visit(actor=actor, appointment=appointment)
    if appointment.status != AppointmentStatus.BOOKED:
        raise InvalidTransition()
    if now < appointment.starts_at:
        raise TooEarly("A no-show can be marked only after the visit's start time.")
    appointment.status = AppointmentStatus.NO_SHOW
    appointment.save(update_fields=["status", "updated_at"])
    reminders_cancel(appointment=appointment)
    audit_log(request, AuditAction.UPDATE, appointment, actor=actor, detail="no_show status")
    return appointment


def appointment_join_url(*, actor: User, appointment: Appointment, request=None) -> str:
    """The caller's own link: only the patient and the physician of the visit."""
    if actor.pk == appointment.patient_id:
        url = appointment.patient_video_url
    elif actor.pk == appointment.physician_id:
        url = appointment.physician_video_url
    else:
        raise NotFound()
    if appointment.modality == Modality.IN_PERSON or appointment.location_id is not None:
        raise NotAVideoVisit()
    if appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.IN_PROGRESS):
        raise InvalidTransition()
    if appointment.video_status != VideoStatus.READY or not url:
        raise VideoNotReady()
    audit_log(request, AuditAction.READ, appointment, actor=actor, detail="join")
    return url


def video_links_create(*, appointment_id: int) -> bool:
    """Create the visit's links once: claim with a compare-and-swap (none -> creating), call the
    provider outside any transaction, store the links. Safe to run twice. In-person visits
    have no room."""
    claimed = Appointment.objects.filter(
        pk=appointment_id,
        status=AppointmentStatus.BOOKED,
        video_status=VideoStatus.NONE,
        modality=Modality.AUDIO_VIDEO,
        location__isnull=True,
    ).update(video_status=VideoStatus.CREATING, updated_at=timezone.now())
    if claimed != 1:
        return False
    appointment = Appointment.objects.get(pk=appointment_id)
    static_url = contracts.physician_infos([appointment.physician_id])[appointment.physician_id].static_video_url
    try:
        links = video_provider().create_links(
            starts_at=appointment.starts_at, ends_at=appointment.ends_at, static_url=static_url
        )
    except Exception:
        Appointment.objects.filter(pk=appointment_id, video_status=VideoStatus.CREATING).update(
            video_status=VideoStatus.NONE
        )
        logger.warning("video links failed appointment=%s", appointment_id, exc_info=True)
        return False
    Appointment.objects.filter(pk=appointment_id, video_status=VideoStatus.CREATING).update(
        video_status=VideoStatus.READY,
        video_room=links.room,
        patient_video_url=links.patient_url,
        physician_video_url=links.physician_url,
    )
    return True


# A visit left in `creating` this long belongs to a worker that died mid-call (the provider's
# own timeout is far shorter): it goes back to `none` for the next scan (docs/notifications.md#side-effects).
STALE_CREATING = timedelta(minutes=5)


def due_video_appointment_ids(*, now: datetime | None = None) -> list[int]:
    """Visits due for links. The every-minute scan is this effect's outbox: the rows are the
    visits themselves, so a lost scan message is re-driven by the next tick, and a claim stuck
    by a killed worker is released here."""
    now = now or timezone.now()
    Appointment.objects.filter(video_status=VideoStatus.CREATING, updated_at__lt=now - STALE_CREATING).update(
        video_status=VideoStatus.NONE
    )
    return list(
        Appointment.objects.filter(
            status=AppointmentStatus.BOOKED,
            video_status=VideoStatus.NONE,
            modality=Modality.AUDIO_VIDEO,
            location__isnull=True,
            starts_at__lte=now + timedelta(minutes=settings.VIDEO_LINK_LEAD_MINUTES),
            ends_at__gt=now,
        ).values_list("id", flat=True)[:500]
    )
