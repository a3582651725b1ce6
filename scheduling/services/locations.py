"""Visit locations, managed by staff (the admin screen and /api/v1/staff/visit-locations/).

An office's address and time zone decide where in-person visits happen and in which zone their
hours are read (docs/in-person-visits.md#locations). Changes are audited; a location is never
deleted (visits and evaluations point at it): it is deactivated, which takes it out of search
and booking at once while visits already booked there keep it.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from api.errors import Forbidden, NotFound
from scheduling.models import VisitLocation

# The service area's zones: Florida's panhandle is on Central time, the rest and New Jersey Eastern.
LOCATION_TIME_ZONES = ("America/New_York", "America/Chicago")
EDITABLE = (
    "name",
    "kind",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zip_code",
    "time_zone",
    "instructions",
    "is_active",
)


def _check(location: VisitLocation) -> None:
    if location.time_zone not in LOCATION_TIME_ZONES:
        message = f"One of {', '.join(LOCATION_TIME_ZONES)}."
        raise ValidationError({"time_zone": ValidationError(message, code="invalid_choice")})
    location.full_clean()


@transaction.atomic
def visit_location_create(*, actor: User, request=None, **fields) -> VisitLocation:
    if not actor.is_practice_staff:
        raise Forbidden()
    location = VisitLocation(**{k: v for k, v in fields.items() if k in EDITABLE})
    _check(location)
    location.save()
    audit_log(request, AuditAction.CREATE, location, actor=actor, detail="visit location")
    return location


@transaction.atomic
def visit_location_update(*, actor: User, public_id, request=None, **changes) -> VisitLocation:
    if not actor.is_practice_staff:
        raise Forbidden()
    location = VisitLocation.objects.select_for_update().filter(public_id=public_id).first()
    if location is None:
        raise NotFound()
    changed = [name for name in EDITABLE if name in changes and getattr(location, name) != changes[name]]
    for name in changed:
        setattr(location, name, changes[name])
    _check(location)
    location.save()
    audit_log(request, AuditAction.UPDATE, location, actor=actor, detail=f"visit location {','.join(changed)}"[:255])
    return location
