"""Booking, rescheduling and cancelling appointments.

A slot must never be sold twice. Three lines of defence:
1. the slot is recomputed from the physician's hours and booked visits inside the transaction;
2. the physician's user row is locked (`select_for_update`) so two bookings for one physician
   serialise on PostgreSQL (SQLite's IMMEDIATE transactions already serialise every writer);
   the patient's row is locked before it, so one patient's bookings with several physicians at
   once serialise too (one free consultation per patient, the future-bookings limit);
3. on PostgreSQL the exclusion constraint `scheduling_appointment_no_overlap` refuses an
   overlapping row whatever the code does; its IntegrityError becomes 409 `slot_unavailable`.
"""

from __future__ import annotations

import logging
from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, router, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, Role, User
from api.errors import DomainError, Forbidden
from api.prepared import PreparedRead, insert_new
from notifications.models import NotificationPreference
from notifications.preferences import with_preference_and_device
from scheduling import contracts, selectors
from scheduling.errors import (
    CutoffPassed,
    FreeConsultationUsed,
    IdempotencyKeyReused,
    InThePast,
    InvalidTransition,
    LocationOutOfState,
    LocationRequired,
    NotOnGrid,
    PhysicianNotAccepting,
    PhysicianNotLicensed,
    SlotUnavailable,
    SubscriptionRequired,
    TooManyBookings,
    TooSoon,
    VisitLocationRequired,
)
from scheduling.models import (
    LONGEST_BUFFER_MINUTES,
    LONGEST_VISIT_MINUTES,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    AppointmentTypeCode,
    Modality,
    VisitLocation,
)
from scheduling.services.reminders import reminders_cancel, reminders_plan
from scheduling.slots import Interval, is_on_grid

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BookingResult:
    appointment: Appointment
    created: bool


@dataclass(frozen=True)
class _Checked:
    physician: User
    appointment_type: AppointmentType
    state: str
    ends_at: datetime
    info: contracts.PhysicianInfo  # the physician's profile as the slot check read it
    gates: selectors.BookingGates  # the patient's limits and standing, read with the licence


def _visit_location(
    *, physician: User, appointment_type: AppointmentType, location_public_id, state: str, starts_at: datetime
) -> VisitLocation | None:
    """Where an in-person visit is booked (docs/in-person-visits.md#booking): the location
    named, or the one location in the patient's state where the physician has in-person hours.
    Video visits take none."""
    if not appointment_type.in_person:
        if location_public_id is not None:
            message = "Only in-person visits are booked at a location."
            raise ValidationError({"location": ValidationError(message, code="not_in_person")})
        return None
    if location_public_id is not None:
        location = selectors.visit_locations(public_id=location_public_id).first()
        if location is None:
            raise ValidationError({"location": ValidationError("Unknown visit location.", code="does_not_exist")})
        if location.state != state:
            raise LocationOutOfState()
        return location
    day = starts_at.date()
    places = selectors.in_person_places(
        physician_ids=[physician.pk], locations=list(selectors.visit_locations(state=state)), start=day, end=day
    ).get(physician.pk, [])
    if not places:
        raise NotOnGrid()
    if len(places) > 1:
        raise VisitLocationRequired()
    return places[0]


def _check_slot(
    *,
    patient: User,
    physician: User,
    appointment_type: AppointmentType,
    starts_at: datetime,
    now: datetime,
    exclude_appointment_id: int | None = None,
    location: VisitLocation | None = None,
    physician_profile: tuple | None = None,
) -> _Checked:
    """Every rule about the time itself, cheapest first. Runs inside the booking transaction.

    An in-person visit (`location`) is on the location's wall-clock grid, within the hours at
    that location, and the licence checked is the location's state's on the location's date.
    `physician_profile`: the physician's profile as the lock read it (contracts.PHYSICIAN_INFO_PATHS)."""
    if starts_at <= now:
        raise InThePast()
    info = contracts.physician_infos([physician.pk], read=physician_profile)[physician.pk]
    place_tz = info.time_zone if location is None else contracts.zone(location.time_zone)
    if not is_on_grid(starts_at, tz=place_tz, grid_minutes=settings.SCHEDULING_SLOT_GRID_MINUTES):
        raise NotOnGrid()
    state, viewer_tz = _where(patient=patient, location=location, place_tz=place_tz)
    visit_date = starts_at.astimezone(viewer_tz).date()
    gates = _check_licence(
        patient=patient, physician=physician, state=state, on=visit_date, now=now, appointment_type=appointment_type
    )
    if starts_at < now + timedelta(minutes=settings.SCHEDULING_MIN_LEAD_MINUTES):
        raise TooSoon()
    offered = selectors.slots_for_physicians(
        physician_ids=[physician.pk],
        infos={physician.pk: info},
        appointment_type=appointment_type,
        state=state,
        viewer_tz=viewer_tz,
        start=visit_date,
        end=visit_date,
        now=now,
        include_busy=False,
        # The licence was just checked for this very date: it is the whole window.
        windows={physician.pk: [(visit_date, visit_date)]},
        location=location,
    ).get(physician.pk, [])
    slot = next((s for s in offered if s.starts_at == starts_at), None)
    if slot is None:
        raise NotOnGrid()
    held = Interval(slot.starts_at, slot.ends_at + timedelta(minutes=appointment_type.buffer_minutes))
    _refuse_overlap(physician=physician, held=held, exclude_appointment_id=exclude_appointment_id)
    return _Checked(
        physician=physician,
        appointment_type=appointment_type,
        state=state,
        ends_at=slot.ends_at,
        info=info,
        gates=gates,
    )


def _check_licence(
    *, patient: User, physician: User, state: str, on, now: datetime, appointment_type: AppointmentType
) -> selectors.BookingGates:
    """PhysicianNotLicensed unless the physician may consult in `state` on the visit's date. One
    statement reads the licence rule's yes or no with the patient's limits and (when the type
    needs it) what good standing judges, for _check_patient_rules; only a refusal reads the
    licences again, for physician_authorization's reasons (docs/write-budgets.md#booking)."""
    gates = selectors.booking_gates(
        patient=patient,
        physician_id=physician.pk,
        state=state,
        on=on,
        now=now,
        standing=appointment_type.requires_subscription,
    )
    if not gates.licensed:
        authorization = contracts.physician_authorization(physician=physician, state=state, on=on)
        if not authorization.allowed:
            reasons = [{"code": r.code, "message": r.message} for r in authorization.reasons]
            raise PhysicianNotLicensed(reasons=reasons)
    return gates


def _where(*, patient: User, location: VisitLocation | None, place_tz: ZoneInfo) -> tuple[str, ZoneInfo]:
    """(state, zone) the visit is judged in: the patient's for a video visit, the location's for
    an in-person one."""
    if location is not None:
        return location.state, place_tz
    patient_location = contracts.patient_location(patient=patient)
    if patient_location is None or not patient_location.state:
        raise LocationRequired()
    return patient_location.state, contracts.zone(patient_location.time_zone)


class _HeldRow(NamedTuple):
    starts_at: datetime
    ends_at: datetime
    buffer_minutes: int


def _visits_around(
    *, physician_id: int, before: datetime, after: datetime, earliest: datetime, exclude_id: int = 0
) -> QuerySet:
    """The physician's visits starting before `before` and ending after `after`. `earliest`
    (`after` less the longest visit, a database constraint) bounds their start as well, which
    lets the (physician, starts_at) index read a few rows instead of every past visit."""
    return Appointment.objects.filter(
        physician_id=physician_id,
        status__in=[AppointmentStatus.BOOKED, AppointmentStatus.IN_PROGRESS, AppointmentStatus.COMPLETED],
        starts_at__lt=before,
        starts_at__gt=earliest,
        ends_at__gt=after,
    ).exclude(pk=exclude_id)


# Read in every booking's and rescheduling's transaction: compiled once (api/prepared.py).
_VISITS_AROUND = PreparedRead(
    Appointment,
    _HeldRow,
    _visits_around,
    params=("physician_id", "before", "after", "earliest", "exclude_id"),
    types={"before": datetime, "after": datetime, "earliest": datetime},
)


def _refuse_overlap(*, physician: User, held: Interval, exclude_appointment_id: int | None) -> None:
    """SlotUnavailable when a visit of the physician (with its buffer) overlaps `held`."""
    after = held.start - timedelta(minutes=LONGEST_BUFFER_MINUTES)  # a visit's buffer reaches this far
    for row in _VISITS_AROUND.rows(
        physician_id=physician.pk,
        before=held.end,
        after=after,
        earliest=after - timedelta(minutes=LONGEST_VISIT_MINUTES),
        exclude_id=exclude_appointment_id or 0,  # 0: no visit (ids start at 1)
    ):
        if Interval(row.starts_at, row.ends_at + timedelta(minutes=row.buffer_minutes)).overlaps(held):
            raise SlotUnavailable()


def _check_patient_rules(
    *,
    patient: User,
    physician: User,
    appointment_type: AppointmentType,
    now: datetime,
    checked: _Checked,
) -> None:
    """The patient's side: good standing, the free consultation, the new-patient cap, the
    upcoming-visits limit, judged on what the slot check read in the same transaction (the
    physician's profile, the limits and standing: `checked`)."""
    gates = checked.gates
    if appointment_type.requires_subscription:
        standing = contracts.patient_good_standing(patient=patient, read=gates.standing)
        if not standing.ok:
            raise SubscriptionRequired(reasons=[{"code": standing.reason or "subscription_inactive", "message": ""}])
    if appointment_type.code == AppointmentTypeCode.FREE_CONSULTATION:
        if gates.free_consultations_used >= gates.free_consultations_allowed:
            raise FreeConsultationUsed()
        if contracts.assigned_physician_id(patient) != physician.pk:
            infos = {physician.pk: checked.info}
            if selectors.capped_physician_ids(physician_ids=[physician.pk], infos=infos, now=now):
                raise PhysicianNotAccepting()
    if gates.future_active >= settings.SCHEDULING_MAX_FUTURE_BOOKINGS:
        raise TooManyBookings(
            f"You can hold at most {settings.SCHEDULING_MAX_FUTURE_BOOKINGS} upcoming visits. "
            "Cancel one to book another."
        )


def _replay(existing: Appointment, *, physician_public_id, appointment_type_code: str, starts_at) -> BookingResult:
    same = (
        str(existing.physician.public_id) == str(physician_public_id)
        and existing.appointment_type.code == appointment_type_code
        and existing.starts_at == starts_at
    )
    if not same:
        raise IdempotencyKeyReused()
    return BookingResult(existing, created=False)


def _replay_if_booked(actor: User, idempotency_key: str, *, physician_public_id, code: str, at) -> BookingResult | None:
    """The booking this key already made, as a replay (None: the key is new)."""
    existing = (
        Appointment.objects.select_related("physician", "appointment_type")
        .filter(patient=actor, idempotency_key=idempotency_key)
        .first()
    )
    if existing is None:
        return None
    return _replay(existing, physician_public_id=physician_public_id, appointment_type_code=code, starts_at=at)


@dataclass(frozen=True)
class _Locked:
    """What the lock statement read besides the two rows: the physician (built from their row),
    the patient's notification choices and push device, and both profiles."""

    physician: User
    preference: tuple[NotificationPreference | None, bool]
    physician_profile: tuple  # contracts.PHYSICIAN_INFO_PATHS, the physician's row
    patient_profile: tuple  # contracts.BOOKING_PATIENT_PATHS, the patient's row


def _lock_patient_and_physician(patient: User, physician_public_id) -> _Locked:
    """Lock the patient's row and the physician's (found by public id among the physicians
    offering visits) in one statement, always in primary-key order: every booking takes the two
    locks in the same order, so bookings never deadlock, one patient's bookings serialise whatever
    physician they pick (the free consultation, the future-bookings limit) and one physician's
    bookings serialise on their row. A physician not offering visits is a field error.
    The same statement reads the patient's notification choices and whether they have a push
    device, which the reminders are planned on, and each one's profile through the contracts'
    columns (outer joins, not lock-sensitive; docs/write-budgets.md#booking)."""
    rows = _LOCKED.rows(patient_id=patient.pk, physician_public_id=physician_public_id).slice(0, None)
    physician = next((r for r in rows if r.id != patient.pk), None)
    if physician is None:
        raise ValidationError({"physician": ValidationError("Unknown physician.", code="does_not_exist")})
    mine = next(r for r in rows if r.id == patient.pk)
    using = router.db_for_write(User)
    preference = None
    if mine[_PREFERENCE_AT] is not None:  # the preference row's id: the patient has one
        preference = NotificationPreference.from_db(
            using, _PREFERENCE_FIELDS, mine[_PREFERENCE_AT : _PREFERENCE_AT + len(_PREFERENCE_FIELDS)]
        )
    return _Locked(
        physician=User.from_db(using, _USER_FIELDS, physician[:_PREFERENCE_AT]),
        preference=(preference, bool(mine.has_device)),
        physician_profile=physician[_PHYSICIAN_PROFILE_AT:_PATIENT_PROFILE_AT],
        patient_profile=mine[_PATIENT_PROFILE_AT:],
    )


def _locked_rows(*, patient_id: int, physician_public_id) -> QuerySet:
    offering = Q(role=Role.PHYSICIAN, is_active=True, public_id=physician_public_id)
    locked = User.objects.select_for_update(of=("self",)).filter(Q(pk=patient_id) | offering).order_by("pk")
    return with_preference_and_device(locked)


# The lock of every booking, as plain columns compiled once (api/prepared.py): the user's own
# fields (the physician is built from them), the patient's preference row's (an outer join),
# whether they have a push device, and the physician's and the patient's profiles (outer joins,
# each row its own).
_USER_FIELDS = tuple(f.attname for f in User._meta.concrete_fields)
_PREFERENCE_FIELDS = tuple(f.attname for f in NotificationPreference._meta.concrete_fields)
_PREFERENCE_AT = len(_USER_FIELDS)
_PHYSICIAN_PROFILE_AT = _PREFERENCE_AT + len(_PREFERENCE_FIELDS) + 1
_PATIENT_PROFILE_AT = _PHYSICIAN_PROFILE_AT + len(contracts.PHYSICIAN_INFO_PATHS)
_LockedRow = namedtuple(  # type: ignore[misc]  # noqa: PYI024 (fields named by the models)
    "_LockedRow",
    [
        *_USER_FIELDS,
        *(f"notification_preference__{n}" for n in _PREFERENCE_FIELDS),
        "has_device",
        *contracts.PHYSICIAN_INFO_PATHS,
        *contracts.BOOKING_PATIENT_PATHS,
    ],
)
_LOCKED = PreparedRead(
    User, _LockedRow, _locked_rows, params=("patient_id", "physician_public_id"), types={"physician_public_id": UUID}
)


def _lock_physician(physician: User) -> None:
    # Serialises bookings of one physician on PostgreSQL (a no-op on SQLite, where IMMEDIATE
    # transactions already hold the write lock from BEGIN).
    User.objects.select_for_update().filter(pk=physician.pk).values_list("pk", flat=True).first()


def _location_for_booking(
    *, patient: User, physician: User, appointment_type: AppointmentType, location_public_id, starts_at: datetime
) -> VisitLocation | None:
    """Where the visit takes place: None for a video visit; for an in-person one, a location in
    the patient's own state (docs/in-person-visits.md#booking)."""
    if not appointment_type.in_person and location_public_id is None:
        return None
    home = contracts.patient_location(patient=patient)
    if home is None or not home.state:
        raise LocationRequired()
    return _visit_location(
        physician=physician,
        appointment_type=appointment_type,
        location_public_id=location_public_id,
        state=home.state,
        starts_at=starts_at,
    )


def _appointment_create(
    *,
    patient: User,
    checked: _Checked,
    starts_at: datetime,
    idempotency_key: str,
    location: VisitLocation | None,
) -> Appointment:
    """The visit row, validated without re-reading what was just read (the physician locked, the
    type cached) and saved."""
    appointment = Appointment(
        patient=patient,
        physician=checked.physician,
        appointment_type=checked.appointment_type,
        starts_at=starts_at,
        ends_at=checked.ends_at,
        buffer_minutes=checked.appointment_type.buffer_minutes,
        idempotency_key=idempotency_key,
        patient_state=checked.state,
        location=location,
        modality=Modality.IN_PERSON if location is not None else Modality.AUDIO_VIDEO,
    )
    appointment.full_clean(
        exclude=["patient", "physician", "appointment_type"], validate_unique=False, validate_constraints=False
    )
    insert_new([appointment], signals=True)  # save(), its INSERT's text built once (api/prepared.py)
    return appointment


def _book_locked(
    *,
    actor: User,
    physician_public_id,
    appointment_type: AppointmentType,
    starts_at: datetime,
    idempotency_key: str,
    location_public_id,
    request,
    now: datetime,
) -> Appointment:
    """Inside the booking transaction: the locks, every rule, the row, its reminders, the audit."""
    # The patient's and the physician's rows, locked in one statement (primary-key order): "one
    # free consultation per patient", the future-bookings limit and one physician's slots hold
    # under concurrency.
    locked = _lock_patient_and_physician(actor, physician_public_id)
    with contracts.patient_profile_read_once(actor, read=locked.patient_profile):  # location, contact, assignment
        return _book_checked(
            actor=actor,
            locked=locked,
            appointment_type=appointment_type,
            starts_at=starts_at,
            idempotency_key=idempotency_key,
            location_public_id=location_public_id,
            request=request,
            now=now,
        )


def _book_checked(
    *,
    actor: User,
    locked: _Locked,
    appointment_type: AppointmentType,
    starts_at: datetime,
    idempotency_key: str,
    location_public_id,
    request,
    now: datetime,
) -> Appointment:
    """The rules, the row, its reminders and the audit, with the two rows locked."""
    physician = locked.physician
    location = _location_for_booking(
        patient=actor,
        physician=physician,
        appointment_type=appointment_type,
        location_public_id=location_public_id,
        starts_at=starts_at,
    )
    checked = _check_slot(
        patient=actor,
        physician=physician,
        appointment_type=appointment_type,
        starts_at=starts_at,
        now=now,
        location=location,
        physician_profile=locked.physician_profile,
    )
    _check_patient_rules(
        patient=actor, physician=physician, appointment_type=appointment_type, now=now, checked=checked
    )
    appointment = _appointment_create(
        patient=actor, checked=checked, starts_at=starts_at, idempotency_key=idempotency_key, location=location
    )
    reminders_plan(appointment=appointment, now=now, new=True, preference=locked.preference)
    audit_log(request, AuditAction.CREATE, appointment, actor=actor, detail="booked")
    return appointment


def appointment_book(
    *,
    actor: User,
    physician_public_id,
    appointment_type_code: str,
    starts_at: datetime,
    idempotency_key: str,
    location_public_id=None,
    request=None,
    now: datetime | None = None,
) -> BookingResult:
    """Book a slot for the patient `actor`. A retry with the same idempotency key returns the
    first booking (created=False) instead of booking again.

    The key is looked up only when the booking does not go through: a retry finds its own first
    booking in the way (the slot is taken, the limit reached, the key's unique constraint hit)
    and is answered with it; a first attempt, the common case, spends no query on it."""
    if not actor.is_patient:
        raise Forbidden()
    now = now or timezone.now()

    def replayed():
        return _replay_if_booked(
            actor, idempotency_key, physician_public_id=physician_public_id, code=appointment_type_code, at=starts_at
        )

    try:
        appointment_type = selectors.appointment_type_get(code=appointment_type_code)  # cached: no query
        with transaction.atomic():
            appointment = _book_locked(
                actor=actor,
                physician_public_id=physician_public_id,
                appointment_type=appointment_type,
                starts_at=starts_at,
                idempotency_key=idempotency_key,
                location_public_id=location_public_id,
                request=request,
                now=now,
            )
    except IntegrityError as exc:
        # Either the same idempotency key committed a moment ago (a concurrent retry), or the
        # exclusion constraint refused an overlap.
        earlier = replayed()
        if earlier is not None:
            return earlier
        logger.info("booking refused by the database physician=%s", physician_public_id)
        raise SlotUnavailable() from exc
    except (DomainError, ValidationError):
        earlier = replayed()
        if earlier is not None:
            return earlier
        raise
    logger.info("appointment booked id=%s physician=%s", appointment.pk, appointment.physician_id)
    return BookingResult(appointment, created=True)


def _check_patient_cutoff(*, actor: User, appointment: Appointment, now: datetime) -> None:
    if actor.is_patient:
        cutoff = timedelta(hours=settings.SCHEDULING_PATIENT_CANCEL_CUTOFF_HOURS)
        if appointment.starts_at - now < cutoff:
            raise CutoffPassed()


def appointment_reschedule(
    *, actor: User, appointment: Appointment, starts_at: datetime, request=None, now: datetime | None = None
) -> Appointment:
    """Move a booked visit to another free slot of the same physician. Patients must do it at
    least the cutoff (default 24 h) before the visit; staff at any time."""
    now = now or timezone.now()
    if not (actor.is_practice_staff or actor.pk == appointment.patient_id):
        raise Forbidden()
    try:
        with transaction.atomic():
            _lock_physician(appointment.physician)
            appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
            if appointment.status != AppointmentStatus.BOOKED:
                raise InvalidTransition()
            _check_patient_cutoff(actor=actor, appointment=appointment, now=now)
            checked = _check_slot(
                patient=appointment.patient,
                physician=appointment.physician,
                appointment_type=appointment.appointment_type,
                starts_at=starts_at,
                now=now,
                exclude_appointment_id=appointment.pk,
                location=appointment.location,
            )
            appointment.starts_at = starts_at
            appointment.ends_at = checked.ends_at
            appointment.patient_state = checked.state
            appointment.reschedule_count += 1
            appointment.video_status = "none"
            appointment.video_room = ""
            appointment.patient_video_url = ""
            appointment.physician_video_url = ""
            # The related rows were just read (the physician locked): no need to look them up again.
            appointment.full_clean(
                exclude=["patient", "physician", "appointment_type"], validate_unique=False, validate_constraints=False
            )
            appointment.save()
            reminders_plan(appointment=appointment, now=now)
            audit_log(request, AuditAction.UPDATE, appointment, actor=actor, detail="rescheduled starts_at")
    except IntegrityError as exc:
        raise SlotUnavailable() from exc
    return appointment


@transaction.atomic
def appointment_cancel(*, actor: User, appointment: Appointment, request=None, now: datetime | None = None):
    """Cancel a booked visit. Patients: up to the cutoff before it; physicians and staff: any time."""
    now = now or timezone.now()
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if not (actor.is_practice_staff or actor.pk in (appointment.patient_id, appointment.physician_id)):
        raise Forbidden()
    if appointment.status != AppointmentStatus.BOOKED:
        raise InvalidTransition()
    _check_patient_cutoff(actor=actor, appointment=appointment, now=now)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = now
    appointment.cancelled_by = actor
    appointment.full_clean(validate_unique=False, validate_constraints=False)
    appointment.save()
    reminders_cancel(appointment=appointment)
    audit_log(request, AuditAction.UPDATE, appointment, actor=actor, detail="cancelled status")
    return appointment
