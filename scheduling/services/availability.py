"""A physician's own working hours and exceptions.

Hours without a location are video hours, wall-clock times in the physician's own zone. Hours at
a `VisitLocation` are in-person hours there, wall-clock times in the location's zone
(docs/in-person-visits.md#hours). A physician cannot be in two places at once: hours at one
place (video, or a location) may not overlap hours at another (`availability_overlap`); time off
applies to every place, so it takes no location.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from api.errors import NotFound
from scheduling import contracts
from scheduling.errors import AvailabilityOverlap
from scheduling.models import AvailabilityException, ExceptionKind, VisitLocation, WeeklyAvailability
from scheduling.slots import Interval, wall_interval

# Two reference weeks, one in winter time and one in summer time, on which weekly hours in
# different zones are compared (Monday 11 January and Monday 12 July 2027).
_REFERENCE_MONDAYS = (date(2027, 1, 11), date(2027, 7, 12))


def _own(model, *, physician: User, public_id):
    row = model.objects.select_for_update().filter(physician=physician, public_id=public_id).first()
    if row is None:
        raise NotFound()
    return row


def visit_location_for_hours(public_id) -> VisitLocation | None:
    """The active location named by a physician's hours (None: video hours)."""
    if public_id is None:
        return None
    location = VisitLocation.objects.filter(public_id=public_id, is_active=True).first()
    if location is None:
        raise ValidationError({"location": ValidationError("Unknown visit location.", code="does_not_exist")})
    return location


class _Block:
    """One block of hours at one place (None: video), weekly or on a date."""

    def __init__(self, *, place, tz: ZoneInfo, start: time, end: time, weekday=None, on=None, pk=None, kind="weekly"):
        self.place, self.tz, self.start, self.end = place, tz, start, end
        self.weekday, self.on, self.pk, self.kind = weekday, on, pk, kind

    def intervals_near(self, day: date) -> list[Interval]:
        """This block's instants on the local dates day-1 .. day+1 (zones differ by an hour)."""
        out = []
        for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
            if (self.on is not None and self.on == d) or (self.weekday is not None and d.weekday() == self.weekday):
                out.append(wall_interval(d, self.start, self.end, self.tz))
        return out


def _existing_blocks(physician: User, *, physician_tz: ZoneInfo) -> list[_Block]:
    blocks = []
    for row in WeeklyAvailability.objects.filter(physician=physician).select_related("location"):
        tz = contracts.zone(row.location.time_zone) if row.location else physician_tz
        blocks.append(
            _Block(place=row.location_id, tz=tz, start=row.start_time, end=row.end_time, weekday=row.weekday, pk=row.pk)
        )
    extras = AvailabilityException.objects.filter(
        physician=physician, kind=ExceptionKind.EXTRA_HOURS, date__gte=timezone.localdate() - timedelta(days=1)
    ).select_related("location")
    for row in extras:
        tz = contracts.zone(row.location.time_zone) if row.location else physician_tz
        blocks.append(
            _Block(
                place=row.location_id,
                tz=tz,
                start=row.start_time,
                end=row.end_time,
                on=row.date,
                pk=row.pk,
                kind="extra",
            )
        )
    return blocks


def _check_no_overlap(*, physician: User, candidate: _Block) -> None:
    """Refuse hours that overlap, in real time, hours of this physician at another place."""
    physician_tz = contracts.physician_infos([physician.pk])[physician.pk].time_zone
    if candidate.place is None:
        candidate.tz = physician_tz
    others = [
        b
        for b in _existing_blocks(physician, physician_tz=physician_tz)
        if b.place != candidate.place and not (b.pk == candidate.pk and b.kind == candidate.kind)
    ]
    if not others:
        return
    if candidate.on is not None:
        days = [candidate.on]
    else:
        days = [monday + timedelta(days=candidate.weekday) for monday in _REFERENCE_MONDAYS]
        days += [b.on for b in others if b.on is not None and b.on.weekday() == candidate.weekday]
    for day in days:
        mine = [wall_interval(day, candidate.start, candidate.end, candidate.tz)]
        for other in others:
            for theirs in other.intervals_near(day):
                if any(m.overlaps(theirs) for m in mine):
                    raise AvailabilityOverlap()


def _place_pk(location: VisitLocation | None):
    return location.pk if location is not None else None


def _zone_of(location: VisitLocation | None) -> ZoneInfo:
    return contracts.zone(location.time_zone) if location is not None else contracts.zone(None)


@transaction.atomic
def weekly_availability_create(
    *, actor: User, weekday: int, start_time: time, end_time: time, location=None
) -> WeeklyAvailability:
    """`location`: a VisitLocation public id for in-person hours there (None: video hours)."""
    place = visit_location_for_hours(location)
    row = WeeklyAvailability(physician=actor, weekday=weekday, start_time=start_time, end_time=end_time, location=place)
    row.full_clean()
    _check_no_overlap(
        physician=actor,
        candidate=_Block(place=_place_pk(place), tz=_zone_of(place), start=start_time, end=end_time, weekday=weekday),
    )
    row.save()
    return row


@transaction.atomic
def weekly_availability_update(*, actor: User, public_id, **changes) -> WeeklyAvailability:
    row = _own(WeeklyAvailability, physician=actor, public_id=public_id)
    for name in ("weekday", "start_time", "end_time"):
        if name in changes:
            setattr(row, name, changes[name])
    if "location" in changes:
        row.location = visit_location_for_hours(changes["location"])
    row.full_clean()
    _check_no_overlap(
        physician=actor,
        candidate=_Block(
            place=row.location_id,
            tz=_zone_of(row.location),
            start=row.start_time,
            end=row.end_time,
            weekday=row.weekday,
            pk=row.pk,
        ),
    )
    row.save()
    return row


@transaction.atomic
def weekly_availability_delete(*, actor: User, public_id) -> None:
    _own(WeeklyAvailability, physician=actor, public_id=public_id).delete()


def _check_exception(row: AvailabilityException, actor: User) -> None:
    if row.kind == ExceptionKind.TIME_OFF and row.location_id is not None:
        raise ValidationError(
            {"location": ValidationError("Time off applies to every location: give none.", code="time_off_location")}
        )
    row.full_clean()
    if row.kind == ExceptionKind.EXTRA_HOURS:
        _check_no_overlap(
            physician=actor,
            candidate=_Block(
                place=row.location_id,
                tz=_zone_of(row.location),
                start=row.start_time,
                end=row.end_time,
                on=row.date,
                pk=row.pk,
                kind="extra",
            ),
        )


@transaction.atomic
def availability_exception_create(
    *,
    actor: User,
    date: date,
    kind: str,
    start_time: time | None = None,
    end_time: time | None = None,
    location=None,
) -> AvailabilityException:
    """`location` (a VisitLocation public id) makes extra hours in-person hours there; time off
    takes none (it applies to every place)."""
    row = AvailabilityException(
        physician=actor,
        date=date,
        kind=kind,
        start_time=start_time,
        end_time=end_time,
        location=visit_location_for_hours(location),
    )
    _check_exception(row, actor)
    row.save()
    return row


@transaction.atomic
def availability_exception_update(*, actor: User, public_id, **changes) -> AvailabilityException:
    row = _own(AvailabilityException, physician=actor, public_id=public_id)
    for name in ("date", "kind", "start_time", "end_time"):
        if name in changes:
            setattr(row, name, changes[name])
    if "location" in changes:
        row.location = visit_location_for_hours(changes["location"])
    _check_exception(row, actor)
    row.save()
    return row


@transaction.atomic
def availability_exception_delete(*, actor: User, public_id) -> None:
    _own(AvailabilityException, physician=actor, public_id=public_id).delete()
