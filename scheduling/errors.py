"""Scheduling refusals with stable codes (the mobile apps switch on them)."""

from api.errors import Conflict, DomainError, Refused


class InvalidWindow(DomainError):
    code = "invalid_window"
    default_message = "The end date must not be before the start date."


class WindowTooLong(DomainError):
    code = "window_too_long"
    default_message = "Ask for at most 14 days at a time."


class DateInPast(DomainError):
    code = "date_in_past"
    default_message = "Choose today or a later date."


class LocationRequired(DomainError):
    code = "location_required"
    default_message = "We need your ZIP code (and county if asked) to find times in your state."


class LocationNotServed(DomainError):
    code = "location_not_served"
    default_message = "We are not yet available in your area."


class NotOnGrid(DomainError):
    code = "not_on_grid"
    default_message = "That time is not one of the offered slots."


class InThePast(DomainError):
    code = "in_the_past"
    default_message = "That time has already passed."


class TooSoon(DomainError):
    code = "too_soon"
    default_message = "That time is too soon to book."


class SlotUnavailable(Conflict):
    code = "slot_unavailable"
    default_message = "That time was just taken. Please pick another."


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_message = "This idempotency key was already used for a different booking."


class PhysicianNotLicensed(Refused):
    code = "physician_not_licensed"
    default_message = "This physician cannot see patients in your state on that date."


class SubscriptionRequired(Refused):
    code = "subscription_required"
    default_message = "This visit needs an active membership."


class FreeConsultationUsed(Refused):
    code = "free_consultation_used"
    default_message = "You have already had your free consultation."


class TooManyBookings(Refused):
    code = "too_many_bookings"
    default_message = "You already have the most upcoming visits allowed. Cancel one to book another."


class PhysicianNotAccepting(Refused):
    code = "physician_not_accepting"
    default_message = "This physician is not accepting new patients."


class CutoffPassed(Conflict):
    code = "cutoff_passed"
    default_message = "It is too late to change this visit online. Please contact the care team."


class InvalidTransition(Conflict):
    code = "invalid_status"
    default_message = "The visit is not in a state that allows this."


class TooEarly(Conflict):
    code = "too_early"
    default_message = "This cannot be done before the visit's start time."


class VideoNotReady(Conflict):
    code = "video_not_ready"
    default_message = "The video link is created shortly before the visit."


class InvalidVisitState(DomainError):
    code = "invalid_visit_state"
    default_message = "The patient's location at the visit must be Florida or New Jersey."


# --- in-person visits (docs/in-person-visits.md) ----------------------------------------------


class AvailabilityOverlap(Conflict):
    code = "availability_overlap"
    default_message = "These hours overlap your hours at another place (video or another location)."


class VisitLocationRequired(DomainError):
    code = "visit_location_required"
    default_message = "This physician sees patients in person at several places: choose one."


class LocationOutOfState(Refused):
    code = "location_out_of_state"
    default_message = "In-person visits are booked at a location in your own state."


class NotAVideoVisit(Conflict):
    code = "not_a_video_visit"
    default_message = "This is an in-person visit: it has no video link."


class AttestationRequired(DomainError):
    code = "attestation_required"
    default_message = "Attest that you evaluated the patient in person to complete an in-person visit."


class PractitionerStateMismatch(DomainError):
    code = "practitioner_state_mismatch"
    default_message = "The practitioner present must be DEA-registered in the state where the patient was."


class DateInFuture(DomainError):
    code = "date_in_future"
    default_message = "An evaluation cannot be recorded for a future date."


class StateNotServed(DomainError):
    code = "state_not_served"
    default_message = "The evaluation must have taken place in Florida or New Jersey."


class AlreadyVoided(Conflict):
    code = "already_voided"
    default_message = "This evaluation was already voided."
