"""A physician's own working hours and exceptions (wall-clock times in their own zone)."""

from __future__ import annotations

from datetime import date, time

from django.db import transaction

from accounts.models import User
from api.errors import NotFound
from scheduling.models import AvailabilityException, WeeklyAvailability

_UNSET = object()


def _own(model, *, physician: User, public_id):
    row = model.objects.select_for_update().filter(physician=physician, public_id=public_id).first()
    if row is None:
        raise NotFound()
    return row


@transaction.atomic
def weekly_availability_create(*, actor: User, weekday: int, start_time: time, end_time: time) -> WeeklyAvailability:
    row = WeeklyAvailability(physician=actor, weekday=weekday, start_time=start_time, end_time=end_time)
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def weekly_availability_update(*, actor: User, public_id, **changes) -> WeeklyAvailability:
    row = _own(WeeklyAvailability, physician=actor, public_id=public_id)
    for name in ("weekday", "start_time", "end_time"):
        if name in changes:
            setattr(row, name, changes[name])
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def weekly_availability_delete(*, actor: User, public_id) -> None:
    _own(WeeklyAvailability, physician=actor, public_id=public_id).delete()


@transaction.atomic
def availability_exception_create(
    *, actor: User, date: date, kind: str, start_time: time | None = None, end_time: time | None = None
) -> AvailabilityException:
    row = AvailabilityException(physician=actor, date=date, kind=kind, start_time=start_time, end_time=end_time)
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def availability_exception_update(*, actor: User, public_id, **changes) -> AvailabilityException:
    row = _own(AvailabilityException, physician=actor, public_id=public_id)
    for name in ("date", "kind", "start_time", "end_time"):
        if name in changes:
            setattr(row, name, changes[name])
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def availability_exception_delete(*, actor: User, public_id) -> None:
    _own(AvailabilityException, physician=actor, public_id=public_id).delete()
