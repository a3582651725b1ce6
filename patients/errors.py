"""Domain errors of the patients app, each with a stable code the mobile apps switch on."""

from __future__ import annotations

from api.errors import Conflict, DomainError, NotFound


class LocationRefused(DomainError):
    """The address or ZIP is not in the service area or cannot be placed (code = the resolver's reason)."""

    code = "location_refused"
    default_message = "We could not place this address in our service area."


class CountyRequired(DomainError):
    code = "county_required"
    default_message = "This ZIP code spans more than one county: choose your county."


class StateNotServed(DomainError):
    code = "state_not_served"
    default_message = "We are not yet available in your state."


class ProfileMissing(Conflict):
    code = "profile_missing"
    default_message = "Complete your profile first."


class AssessmentClaimInvalid(NotFound):
    """Wrong id, wrong token, expired or already claimed by someone else: one answer for all."""

    code = "assessment_not_found"
    default_message = "This assessment cannot be found or was already used."


class DocumentSuperseded(Conflict):
    code = "document_superseded"
    default_message = "A newer version of this document is in effect; sign that one."


class FlagAlreadyResolved(Conflict):
    code = "flag_already_resolved"
    default_message = "This safety flag is already resolved."


class ContraindicationAlreadyDecided(Conflict):
    code = "contraindication_already_decided"
    default_message = "A physician already recorded a decision on this contraindication."


class PhysicianUnavailable(DomainError):
    status_code = 422
    code = "physician_unavailable"
    default_message = "This physician cannot take this patient."

    def __init__(self, message: str | None = None, *, reasons: list[dict[str, str]] | None = None, **kw):
        super().__init__(message, **kw)
        self.extra.setdefault("reasons", reasons or [])
