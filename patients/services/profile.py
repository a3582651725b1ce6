"""The patient's own profile: create on first write, update, re-check the address when it changes."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from api.errors import DomainError
from patients import policy
from patients.eligibility import age_on, local_today
from patients.models import PatientProfile
from patients.services.assessments import assessment_claim
from patients.services.location import resolve_or_raise

# What the patient may write. Everything else (assigned_physician, time_zone,
# address_verified_at, ...) is set by the practice or derived, never taken from the request.
WRITABLE = (
    "legal_first_name",
    "legal_last_name",
    "date_of_birth",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "county_fips",
    "zip_code",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relationship",
    "monitor_name",
    "monitor_phone",
    "monitor_relationship",
    "monitor_adult_confirmed",
    "pharmacy_name",
    "pharmacy_phone",
)
ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "state", "county_fips", "zip_code")
REQUIRED_ON_CREATE = (
    "legal_first_name",
    "legal_last_name",
    "date_of_birth",
    "address_line1",
    "city",
    "state",
    "zip_code",
)


def _invalid(field: str, code: str, message: str) -> DomainError:
    return DomainError(
        "Some fields are invalid.", code="validation_error", fields={field: [{"code": code, "message": message}]}
    )


def _check_date_of_birth(value: date, time_zone: str | None) -> None:
    today = local_today(time_zone)
    if value > today:
        raise _invalid("date_of_birth", "date_in_future", "The date of birth cannot be in the future.")
    if age_on(value, today) < policy.minimum_age():
        raise _invalid("date_of_birth", "under_minimum_age", f"Patients must be {policy.minimum_age()} or older.")


def _current(profile: PatientProfile | None, field: str) -> Any:
    if profile is None:
        return None
    if field == "county_fips":
        return profile.county_id
    return getattr(profile, field)


@transaction.atomic
def profile_upsert(
    *,
    patient: User,
    data: dict[str, Any],
    replace: bool,
    assessment_id=None,
    assessment_token: str = "",
    request=None,
) -> PatientProfile:
    """Create the profile on the first write, or update it (`replace`: PUT, unsent optional fields
    are cleared; otherwise PATCH). A changed address is placed in the service area again, which
    sets the county, the time zone and `address_verified_at`; an address outside FL/NJ is refused
    and the old one kept. An assessment claimed here pre-fills the date of birth and ZIP code.
    """
    profile = PatientProfile.objects.select_for_update().filter(user=patient).first()
    data = {k: v for k, v in data.items() if k in WRITABLE}
    if assessment_id is not None:
        assessment = assessment_claim(patient=patient, public_id=assessment_id, token=assessment_token, request=request)
        _prefill_from_assessment(data, profile, assessment)

    creating = profile is None
    if creating:
        _require_fields(data)
        profile = PatientProfile(user=patient)
    elif replace:
        # PUT: optional fields not sent go back to empty; required ones must be sent.
        _require_fields(data)
        for field in WRITABLE:
            if field not in data and field not in REQUIRED_ON_CREATE:
                data[field] = False if field == "monitor_adult_confirmed" else ("" if field != "county_fips" else None)

    address_changed = creating or any(
        field in data and (data[field] or None) != (_current(profile, field) or None) for field in ADDRESS_FIELDS
    )
    # A PATCH of the ZIP alone re-derives the county rather than keeping the old one.
    if not creating and "zip_code" in data and "county_fips" not in data:
        data["county_fips"] = None

    for field, value in data.items():
        if field == "county_fips":
            continue
        setattr(profile, field, "" if value is None and field != "date_of_birth" else value)
    if address_changed:
        _place_address(profile, data)
    _check_profile_rules(profile)

    profile.full_clean(exclude=["user", "assigned_physician"], validate_constraints=False)
    profile.save()
    changed = sorted(data)
    audit_log(
        request,
        AuditAction.CREATE if creating else AuditAction.UPDATE,
        profile,
        actor=patient,
        detail=("created " if creating else "") + ",".join(changed),
    )
    return profile


def _prefill_from_assessment(data: dict[str, Any], profile: PatientProfile | None, assessment) -> None:
    """The claimed assessment's date of birth, ZIP and county fill what is neither sent nor on file."""
    prefill = {"date_of_birth": assessment.date_of_birth, "zip_code": assessment.zip_code}
    if assessment.county_id:
        prefill["county_fips"] = assessment.county_id
    for field, value in prefill.items():
        if field not in data and _current(profile, field) in (None, ""):
            data[field] = value


def _require_fields(data: dict[str, Any]) -> None:
    missing = [f for f in REQUIRED_ON_CREATE if data.get(f) in (None, "")]
    if missing:
        raise DomainError(
            "Some fields are invalid.",
            code="validation_error",
            fields={f: [{"code": "required", "message": "This field is required."}] for f in missing},
        )


def _place_address(profile: PatientProfile, data: dict[str, Any]) -> None:
    """Place the new address in the service area (refused outside it), which sets the county and
    time zone and marks the address verified now."""
    location = resolve_or_raise(
        zip_code=data.get("zip_code", profile.zip_code),
        county_fips=data.get("county_fips", profile.county_id),
        state=profile.state,
    )
    profile.zip_code = location.zip_code
    profile.state = location.state
    profile.county_id = location.county_fips
    profile.time_zone = location.time_zone
    profile.address_verified_at = timezone.now()


def _check_profile_rules(profile: PatientProfile) -> None:
    _check_date_of_birth(profile.date_of_birth, profile.time_zone)
    if profile.monitor_name and not profile.monitor_adult_confirmed:
        raise _invalid(
            "monitor_adult_confirmed",
            "monitor_adult_not_confirmed",
            "Confirm that your treatment monitor is 18 or older.",
        )
    if profile.monitor_phone and profile.phone and profile.monitor_phone == profile.phone:
        raise _invalid("monitor_phone", "monitor_is_patient", "Your treatment monitor must be someone other than you.")
