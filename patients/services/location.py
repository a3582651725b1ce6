"""Placing an address in the service area, with the resolver's reasons turned into API errors."""

from __future__ import annotations

from api.errors import DomainError
from patients.errors import CountyRequired, StateNotServed
from practice import service_area
from practice.service_area import LocationResult

_FIELD_MESSAGES = {
    service_area.INVALID_ZIP: ("zip_code", "Enter a 5-digit ZIP code."),
    service_area.UNKNOWN_ZIP: ("zip_code", "We do not know this ZIP code."),
    service_area.COUNTY_NOT_IN_STATE: ("county_fips", "This county is not in the ZIP code's state."),
}


def resolve_or_raise(
    *, zip_code: str, county_fips: str | None = None, state: str | None = None, allow_unserved: bool = False
) -> LocationResult:
    """resolve_location, or a 400: a field error (`invalid_zip`, `unknown_zip`, `county_not_in_state`,
    `state_zip_mismatch`), `county_required` with the county choices in the envelope, or
    `state_not_served` (unless `allow_unserved`: the assessment answers it as an outcome)."""
    location = service_area.resolve_location(zip_code, county_fips or None)
    if location.reason in _FIELD_MESSAGES:
        field, message = _FIELD_MESSAGES[location.reason]
        raise DomainError(
            "Some fields are invalid.",
            code="validation_error",
            fields={field: [{"code": location.reason, "message": message}]},
        )
    if state and location.state and state.upper() != location.state:
        raise DomainError(
            "Some fields are invalid.",
            code="validation_error",
            fields={"state": [{"code": "state_zip_mismatch", "message": "The state does not match the ZIP code."}]},
        )
    if location.reason == service_area.COUNTY_REQUIRED:
        raise CountyRequired(
            fields={"county_fips": [{"code": "county_required", "message": CountyRequired.default_message}]},
            extra={"county_choices": [{"fips": fips, "name": name} for fips, name in location.county_choices]},
        )
    if location.reason == service_area.STATE_NOT_SERVED and not allow_unserved:
        raise StateNotServed()
    return location
