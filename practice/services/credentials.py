"""Staff create and update physicians' profiles and credentials; each change is logged in CredentialChange.

Credentials are not patient health information, so the log keeps old and new values (AuditEvent is
for PHI and holds ids only).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from accounts.models import Role, User
from practice.errors import CredentialConflict, NotAPhysician, PhysicianProfileExists
from practice.identifiers import dea_checksum_ok
from practice.models import (
    CredentialChange,
    DEARegistration,
    NJCDSRegistration,
    PhysicianProfile,
    StateLicense,
)

PROFILE_FIELDS = frozenset(
    {
        "npi",
        "time_zone",
        "accepting_new_patients",
        "new_patient_cap",
        "office_address_line1",
        "office_address_line2",
        "office_city",
        "office_state",
        "office_zip_code",
        "static_video_url",
    }
)
LICENCE_FIELDS = frozenset({"state", "number", "kind", "status", "issued_on", "expires_on"})
DEA_FIELDS = frozenset({"state", "number", "schedules", "status", "issued_on", "expires_on", "needs_verification"})
CDS_FIELDS = frozenset({"number", "status", "issued_on", "expires_on"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _require_physician(user: User) -> None:
    if user.role != Role.PHYSICIAN:
        raise NotAPhysician(
            fields={"physician": [{"code": NotAPhysician.code, "message": NotAPhysician.default_message}]}
        )


def _log(*, actor: User | None, obj: models.Model, physician_id: int, action: str, changes: dict) -> None:
    CredentialChange.objects.create(
        actor=actor,
        physician_id=physician_id,
        credential_type=obj._meta.model_name,
        credential_id=obj.pk,
        action=action,
        changes=changes,
    )


def _save(obj: models.Model) -> None:
    """full_clean() first (field errors with stable codes); a race past it still meets the constraints."""
    obj.full_clean()
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:  # a concurrent write slipped between full_clean and save
        raise CredentialConflict() from exc


_NOT_LOGGED = frozenset({"id", "created_at", "updated_at", "public_id", "physician", "user"})


def _create(*, actor: User, obj: models.Model, physician: User) -> models.Model:
    _save(obj)
    changes = {
        f.attname: [None, _jsonable(getattr(obj, f.attname))]
        for f in obj._meta.concrete_fields
        if f.name not in _NOT_LOGGED
    }
    _log(actor=actor, obj=obj, physician_id=physician.pk, action=CredentialChange.Action.CREATE, changes=changes)
    return obj


def _update(
    *, actor: User, obj: models.Model, physician_id: int, allowed: frozenset[str], changes: dict
) -> models.Model:
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"cannot update {sorted(unknown)}")
    diff = {}
    for name, value in changes.items():
        old = getattr(obj, name)
        if old != value:
            diff[name] = [_jsonable(old), _jsonable(value)]
            setattr(obj, name, value)
    if not diff:
        return obj
    _save(obj)
    _log(actor=actor, obj=obj, physician_id=physician_id, action=CredentialChange.Action.UPDATE, changes=diff)
    return obj


# --- profile ---------------------------------------------------------------------------------


@transaction.atomic
def physician_profile_create(*, actor: User, physician: User, npi: str, **fields: Any) -> PhysicianProfile:
    _require_physician(physician)
    unknown = set(fields) - PROFILE_FIELDS
    if unknown:
        raise TypeError(f"unknown profile fields {sorted(unknown)}")
    if PhysicianProfile.objects.filter(user=physician).exists():
        raise PhysicianProfileExists()
    return _create(actor=actor, obj=PhysicianProfile(user=physician, npi=npi, **fields), physician=physician)


@transaction.atomic
def physician_profile_update(*, actor: User, profile: PhysicianProfile, **changes: Any) -> PhysicianProfile:
    return _update(actor=actor, obj=profile, physician_id=profile.user_id, allowed=PROFILE_FIELDS, changes=changes)


# --- state licences ----------------------------------------------------------------------------


@transaction.atomic
def state_licence_create(
    *,
    actor: User,
    physician: User,
    state: str,
    number: str,
    kind: str,
    issued_on: dt.date,
    expires_on: dt.date,
    status: str = "active",
) -> StateLicense:
    _require_physician(physician)
    licence = StateLicense(
        physician=physician,
        state=state,
        number=number.strip(),
        kind=kind,
        status=status,
        issued_on=issued_on,
        expires_on=expires_on,
    )
    return _create(actor=actor, obj=licence, physician=physician)


@transaction.atomic
def state_licence_update(*, actor: User, licence: StateLicense, **changes: Any) -> StateLicense:
    return _update(actor=actor, obj=licence, physician_id=licence.physician_id, allowed=LICENCE_FIELDS, changes=changes)


# --- DEA registrations ---------------------------------------------------------------------------


def _normalise_dea(number: str) -> str:
    return number.strip().upper()


@transaction.atomic
def dea_registration_create(
    *,
    actor: User,
    physician: User,
    state: str,
    number: str,
    schedules: list[str],
    expires_on: dt.date,
    issued_on: dt.date | None = None,
    status: str = "active",
) -> DEARegistration:
    """A checksum failure does not reject the number: DEA check digits are sometimes mistyped on the
    certificate copy, so the registration is kept and flagged for staff to verify before prescribing."""
    _require_physician(physician)
    number = _normalise_dea(number)
    registration = DEARegistration(
        physician=physician,
        state=state,
        number=number,
        schedules=list(schedules),
        status=status,
        issued_on=issued_on,
        expires_on=expires_on,
        needs_verification=not dea_checksum_ok(number),
    )
    return _create(actor=actor, obj=registration, physician=physician)


@transaction.atomic
def dea_registration_update(*, actor: User, registration: DEARegistration, **changes: Any) -> DEARegistration:
    """A new number is re-checked; `needs_verification=False` records that staff verified the number by hand."""
    if "number" in changes:
        changes["number"] = _normalise_dea(changes["number"])
        if changes["number"] != registration.number:
            changes.setdefault("needs_verification", not dea_checksum_ok(changes["number"]))
    if "schedules" in changes:
        changes["schedules"] = list(changes["schedules"])
    verifying = registration.needs_verification and changes.get("needs_verification") is False
    if verifying:
        registration.verified_by = actor
        registration.verified_at = timezone.now()
    return _update(
        actor=actor, obj=registration, physician_id=registration.physician_id, allowed=DEA_FIELDS, changes=changes
    )


# --- New Jersey CDS registrations ------------------------------------------------------------------


@transaction.atomic
def cds_registration_create(
    *,
    actor: User,
    physician: User,
    number: str,
    expires_on: dt.date,
    issued_on: dt.date | None = None,
    status: str = "active",
) -> NJCDSRegistration:
    _require_physician(physician)
    registration = NJCDSRegistration(
        physician=physician, number=number.strip(), status=status, issued_on=issued_on, expires_on=expires_on
    )
    return _create(actor=actor, obj=registration, physician=physician)


@transaction.atomic
def cds_registration_update(*, actor: User, registration: NJCDSRegistration, **changes: Any) -> NJCDSRegistration:
    return _update(
        actor=actor, obj=registration, physician_id=registration.physician_id, allowed=CDS_FIELDS, changes=changes
    )
