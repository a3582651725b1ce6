"""What prescribing needs to know about a patient, read through the other apps' contracts
(patients, billing): location and address, time zone. Kept in one place so the gates and the
orders read the same facts the same way."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from billing.services.standing import patient_good_standing
from patients.models import PatientProfile
from practice.models import PhysicianProfile

SERVICE_STATES = ("FL", "NJ")


@dataclass(frozen=True)
class ShipTo:
    name: str
    line1: str
    line2: str
    city: str
    state: str
    zip_code: str
    county_fips: str


# Within `profiles_read_once()`, each patient's (and prescriber's) profile is read once (signing reads it for the
# gates, the state, the zone, the ship-to address and the snapshot: one statement, not six).
_PROFILES: ContextVar[dict | None] = ContextVar("prescribing_profiles", default=None)


@contextmanager
def profiles_read_once():
    """Memoise profile_of for the block (one service call, inside its transaction, with the
    patient's row locked: the profile does not change under it)."""
    token = _PROFILES.set({})
    try:
        yield
    finally:
        _PROFILES.reset(token)


def profile_of(patient: User):
    memo = _PROFILES.get()
    key = ("patient", patient.pk)
    if memo is not None and key in memo:
        return memo[key]
    profile = PatientProfile.objects.filter(user=patient).select_related("county").first()
    if memo is not None:
        memo[key] = profile
    return profile


def physician_profile_of(physician: User):
    """The prescriber's PhysicianProfile (NPI, office address) or None; memoised like profile_of
    (the signing gate and the snapshot both read it)."""
    memo = _PROFILES.get()
    key = ("physician", physician.pk)
    if memo is not None and key in memo:
        return memo[key]
    profile = PhysicianProfile.objects.filter(user=physician).first()
    if memo is not None:
        memo[key] = profile
    return profile


def remember_profiles(
    *, patient: User | None = None, profile=None, physician: User | None = None, physician_profile=None
) -> None:
    """Inside `profiles_read_once()`: profiles the caller read in a query of its own (the gates'
    facts, the signing lock's join), so profile_of / physician_profile_of do not read them again.
    Outside the block, nothing happens."""
    memo = _PROFILES.get()
    if memo is None:
        return
    if patient is not None:
        memo[("patient", patient.pk)] = profile
    if physician is not None:
        memo[("physician", physician.pk)] = physician_profile


def state_from(profile) -> str | None:
    return profile.state if profile is not None and profile.state else None


def zone_from(profile) -> ZoneInfo:
    name = getattr(profile, "time_zone", "") or settings.PRACTICE_TIME_ZONE
    return ZoneInfo(name)


def patient_state(patient: User) -> str | None:
    return state_from(profile_of(patient))


def patient_zone(patient: User) -> ZoneInfo:
    return zone_from(profile_of(patient))


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    return timezone.localtime(instant, zone).date()


def legal_name(patient: User, profile=None) -> str:
    profile = profile or profile_of(patient)
    if profile is not None and (profile.legal_first_name or profile.legal_last_name):
        return f"{profile.legal_first_name} {profile.legal_last_name}".strip()
    return patient.full_name


def verified_ship_to(patient: User) -> ShipTo | None:
    """The patient's verified address inside the service area, or None (never ship elsewhere)."""
    return ship_to_from(patient, profile_of(patient))


def ship_to_from(patient: User, profile) -> ShipTo | None:
    """verified_ship_to on a profile already read."""
    if profile is None or profile.address_verified_at is None or profile.state not in SERVICE_STATES:
        return None
    county_fips = getattr(profile, "county_id", "") or ""
    # The county must belong to the address's state (FL FIPS 12xxx, NJ 34xxx).
    if county_fips and not county_fips.startswith({"FL": "12", "NJ": "34"}[profile.state]):
        return None
    return ShipTo(
        name=legal_name(patient, profile),
        line1=profile.address_line1,
        line2=profile.address_line2 or "",
        city=profile.city,
        state=profile.state,
        zip_code=profile.zip_code,
        county_fips=county_fips,
    )


def standing(patient: User, on: date | None = None):
    return patient_good_standing(patient=patient, on=on)


def standing_refusal(patient: User, on: date | None = None) -> str | None:
    """Why nothing new may ship to this patient, or None: `subscription_past_due` when an unpaid
    membership is past its grace period (shipments paused), `subscription_inactive` otherwise."""
    good = standing(patient, on)
    if good.ok and not good.shipments_paused:
        return None
    return "subscription_past_due" if good.reason == "payment_past_due" else "subscription_inactive"
