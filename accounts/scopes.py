"""What each role may see: the one place that says it (docs/roles-and-access.md).

HIPAA's minimum-necessary standard (45 CFR 164.502(b), 164.514(d)) asks that each workforce
member reach only the health information their job needs. Every app's selectors ask here instead
of deciding by role themselves:

    reach = scopes.reach(viewer, Capability.SCHEDULING)
    if reach is Reach.ALL: ...                       # every patient's
    elif reach is Reach.CARE: ...                    # a physician's own (caseload, own visits)
    elif reach is Reach.SELF: ...                    # a patient's own
    else: ...                                        # nothing: a 404, like anything out of scope

A selector knows how its model reaches a patient or a physician (a profile's assigned physician,
an appointment's physician); this module knows who may see what. A capability missing from a
role's row is Reach.NONE, so a new capability is closed to everyone until it is granted here.
"""

from __future__ import annotations

from enum import Enum, StrEnum

from django.db.models import Q

from accounts.models import Role, StaffRole


class Capability(StrEnum):
    CLINICAL = "clinical"  # questionnaires, vitals, visit notes, PDMP results, screening answers
    FLAGS = "flags"  # safety flags (which say that something is wrong, not the chart)
    SCHEDULING = "scheduling"  # visits: times, status, type (not their notes)
    BILLING_STANDING = "billing_standing"  # memberships, invoices, the dunning list
    SHIPPING = "shipping"  # delivery orders, shipments, pharmacies; the patient's name and ship-to address
    ORDER_WORK = "order_work"  # moving delivery orders through their states
    CATALOGUE = "catalogue"  # managing the medication catalogue (no patient data; everyone reads it)
    REVIEW_QUEUE = "review_queue"  # new assessments and registrations waiting for a physician
    PDMP = "pdmp"  # recording and reading PDMP checks (a prescriber's delegate may)
    PRESCRIBING_READINESS = "prescribing_readiness"  # who could be prescribed on a date, and why not
    CREDENTIALS = "credentials"  # physicians' licences and registrations (no patient data)
    POLICY = "policy"  # the clinical policy tables (thresholds, windows)
    ACCOUNTS = "accounts"  # users, groups, the audit trail
    MESSAGES = "messages"  # a patient's secure messages with the care team (docs/messaging.md)


class Reach(Enum):
    NONE = "none"
    SELF = "self"  # the patient's own records
    CARE = "care"  # a physician's own patients (caseload) or own visits
    ALL = "all"  # every patient's


PATIENT = Role.PATIENT.value
PHYSICIAN = Role.PHYSICIAN.value
ADMIN = Role.ADMIN.value
CARE_COORDINATOR = StaffRole.CARE_COORDINATOR.value
PHARMACY_LIAISON = StaffRole.PHARMACY_LIAISON.value
MEDICAL_DIRECTOR = StaffRole.MEDICAL_DIRECTOR.value

ACCESS_ROLES = (PATIENT, PHYSICIAN, CARE_COORDINATOR, PHARMACY_LIAISON, MEDICAL_DIRECTOR, ADMIN)

C = Capability
_ALL, _CARE, _SELF = Reach.ALL, Reach.CARE, Reach.SELF

# The table. A patient's own records (profile, questionnaires, orders) are served by the patient
# endpoints and not listed, except where a route serves patients and the care team alike.
REACH: dict[str, dict[Capability, Reach]] = {
    PATIENT: {C.SCHEDULING: _SELF, C.BILLING_STANDING: _SELF},
    PHYSICIAN: {
        C.CLINICAL: _CARE,
        C.FLAGS: _CARE,
        C.SCHEDULING: _CARE,
        C.SHIPPING: _CARE,
        C.PDMP: _CARE,
        C.PRESCRIBING_READINESS: _CARE,
        C.MESSAGES: _CARE,
    },
    # Scheduling, billing standing and flags; the review queues; orders (coordinators track
    # deliveries and their exceptions); a prescriber's PDMP delegate; credentials (licence
    # expiries). Never the chart: no questionnaire, vital sign or visit note.
    CARE_COORDINATOR: {
        C.FLAGS: _ALL,
        C.SCHEDULING: _ALL,
        C.BILLING_STANDING: _ALL,
        C.SHIPPING: _ALL,
        C.ORDER_WORK: _ALL,
        C.CATALOGUE: _ALL,
        C.REVIEW_QUEUE: _ALL,
        C.PDMP: _ALL,
        C.PRESCRIBING_READINESS: _ALL,
        C.CREDENTIALS: _ALL,
        C.MESSAGES: _ALL,
    },
    # Orders, shipments, pharmacies, and of the patient only the name and ship-to address that
    # the order carries. No visits, questionnaires, flags or billing.
    PHARMACY_LIAISON: {C.SHIPPING: _ALL, C.ORDER_WORK: _ALL, C.CATALOGUE: _ALL},
    # Every patient's clinical content (clinical oversight), the policy tables and credentials.
    # Not billing, and not the delivery board (logistics, not care).
    MEDICAL_DIRECTOR: {
        C.CLINICAL: _ALL,
        C.FLAGS: _ALL,
        C.SCHEDULING: _ALL,
        C.REVIEW_QUEUE: _ALL,
        C.PDMP: _ALL,
        C.PRESCRIBING_READINESS: _ALL,
        C.CATALOGUE: _ALL,
        C.CREDENTIALS: _ALL,
        C.POLICY: _ALL,
        C.MESSAGES: _ALL,
    },
    # Accounts (and physicians' credentials, which are onboarding, not health information).
    ADMIN: {C.ACCOUNTS: _ALL, C.CREDENTIALS: _ALL},
}


# The admin site's group of each role (created by seeds/migrations/0001_staff_admin_groups.py,
# which holds each group's model permissions). accounts.backends.RoleGroupBackend gives every
# user the permissions of their role's group, so the role stays the one thing to set.
ADMIN_GROUPS: dict[str, str] = {
    CARE_COORDINATOR: "Care coordinator",
    PHARMACY_LIAISON: "Pharmacy liaison",
    MEDICAL_DIRECTOR: "Medical director",
    ADMIN: "Administrator",
}


def access_role(user) -> str | None:
    """patient, physician, care_coordinator, pharmacy_liaison, medical_director, admin; None
    for anonymous or inactive users."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return user.access_role


def reach(user, capability: Capability) -> Reach:
    role = access_role(user)
    if role is None:
        return Reach.NONE
    return REACH.get(role, {}).get(capability, Reach.NONE)


def sees(user, capability: Capability) -> bool:
    """Any reach beyond nothing (a physician's caseload counts)."""
    return reach(user, capability) is not Reach.NONE


def sees_all(user, capability: Capability) -> bool:
    return reach(user, capability) is Reach.ALL


def sees_clinical(user) -> bool:
    """Other people's clinical content: a physician's caseload, every chart for the medical director."""
    return sees(user, Capability.CLINICAL)


def sees_flags(user) -> bool:
    return sees(user, Capability.FLAGS)


def sees_scheduling(user) -> bool:
    return sees(user, Capability.SCHEDULING)


def sees_billing_standing(user) -> bool:
    return sees(user, Capability.BILLING_STANDING)


def sees_shipping(user) -> bool:
    return sees(user, Capability.SHIPPING)


def patient_q(user, capability: Capability, *, patient: str = "") -> Q | None:
    """A filter on the patients whose records of this kind `user` may see, for a queryset whose
    patient user is at `patient` ("" for a queryset of patient users, "patient" for a model with
    a patient foreign key). None: nothing at all.

    A physician's reach is their caseload (the profile's assigned physician), as everywhere in the
    patients app; a selector whose physician scope is different (own visits) filters itself.
    """
    prefix = f"{patient}__" if patient else ""
    r = reach(user, capability)
    if r is Reach.ALL:
        return Q()
    if r is Reach.CARE:
        return Q(**{f"{prefix}patient_profile__assigned_physician": user})
    if r is Reach.SELF:
        return Q(**{f"{prefix}pk": user.pk})
    return None
