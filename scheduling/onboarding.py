"""The onboarding state of a patient (registered with accounts.onboarding; docs/api-conventions.md#onboarding).

Four checks in the order a newcomer meets them: a complete profile (contact, emergency contact,
treatment monitor, verified address), every current consent signed, a membership in good
standing, a visit booked or held. `next_step` is the first one not done, or `done`.
"""

from __future__ import annotations

from typing import Any

from accounts.models import User
from accounts.onboarding import NextStep
from billing.services.standing import patient_good_standing
from patients.models import PatientProfile
from patients.services.consents import patient_consents_current
from scheduling.models import ACTIVE_STATUSES, Appointment


def profile_missing(*, patient: User) -> list[str]:
    """What the profile still needs (`profile` when there is none yet)."""
    profile = PatientProfile.objects.filter(user=patient).first()
    return ["profile"] if profile is None else list(profile.missing_items)


def onboarding_for_patient(user: User) -> dict[str, Any]:
    missing = profile_missing(patient=user)
    consents_pending = patient_consents_current(patient=user)
    standing = patient_good_standing(patient=user)
    has_visit = Appointment.objects.filter(patient=user, status__in=ACTIVE_STATUSES).exists()
    if missing:
        step = NextStep.COMPLETE_PROFILE
    elif consents_pending:
        step = NextStep.SIGN_CONSENTS
    elif not standing.ok:
        step = NextStep.START_MEMBERSHIP
    elif not has_visit:
        step = NextStep.BOOK_VISIT
    else:
        step = NextStep.DONE
    return {
        "profile_complete": not missing,
        "profile_missing": list(missing),
        "consents_complete": not consents_pending,
        "consents_pending": list(consents_pending),
        "membership_active": standing.ok,
        "membership_status": str(standing.status),
        "has_visit": has_visit,
        "next_step": str(step),
    }
