"""Who may call a route. What they then see is the selectors' job, through `accounts.scopes`.

Role routes (`IsPatient`, `IsPhysician`) answer 403 to other roles: the route is not theirs.
Capability routes (`Sees...`) answer 404 to anyone without the capability: "whatever a role
cannot see is not found to it, like anything out of scope" (docs/roles-and-access.md).
"""

from rest_framework.permissions import BasePermission

from accounts import scopes
from accounts.models import Role
from accounts.scopes import Capability, Reach
from api.errors import NotFound


class _RolePermission(BasePermission):
    roles: tuple[str, ...] = ()

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role in self.roles)


class IsPatient(_RolePermission):
    roles = (Role.PATIENT,)


class IsPhysician(_RolePermission):
    roles = (Role.PHYSICIAN,)


class IsPracticeStaff(_RolePermission):
    """Any back-office account (every staff sub-role and administrators). Not a scope: pair it
    with a selector that asks `accounts.scopes`, or use a `Sees...` class."""

    roles = (Role.STAFF, Role.ADMIN)


class IsPhysicianOrStaff(_RolePermission):
    """Physicians and any back-office account; the selector decides the rest (see IsPracticeStaff)."""

    roles = (Role.PHYSICIAN, Role.STAFF, Role.ADMIN)


class IsCareTeamOrPatient(_RolePermission):
    """Every signed-in role; the selector decides the rest (see IsPracticeStaff)."""

    roles = (Role.PATIENT, Role.PHYSICIAN, Role.STAFF, Role.ADMIN)


class _CapabilityPermission(BasePermission):
    """Signed in and holding `capability` with one of `reaches`; any other signed-in user gets
    404 (a refusal that says nothing); anonymous callers 401 as everywhere."""

    capability: Capability
    reaches: frozenset[Reach] = frozenset({Reach.CARE, Reach.ALL})

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if scopes.reach(user, self.capability) in self.reaches:
            return True
        raise NotFound()


_EVERY_PATIENT = frozenset({Reach.ALL})


class SeesClinical(_CapabilityPermission):
    """Charts: physicians (their caseload) and the medical director."""

    capability = Capability.CLINICAL


class SeesFlags(_CapabilityPermission):
    """Safety flags: physicians (caseload), care coordinators, the medical director."""

    capability = Capability.FLAGS


class SeesMessages(_CapabilityPermission):
    """A patient's messages with the care team: physicians (caseload), care coordinators, the
    medical director. Not pharmacy liaisons or administrators."""

    capability = Capability.MESSAGES


class SeesPdmp(_CapabilityPermission):
    """PDMP checks: physicians (caseload), their delegates (care coordinators), the medical director."""

    capability = Capability.PDMP


class SeesPrescribingReadiness(_CapabilityPermission):
    """The prescribing-readiness worklist: physicians (caseload), care coordinators (who book the
    in-person evaluations), the medical director."""

    capability = Capability.PRESCRIBING_READINESS


class SeesScheduling(_CapabilityPermission):
    """Visits: a patient's own, a physician's own, every visit for care coordinators and the
    medical director."""

    capability = Capability.SCHEDULING
    reaches = frozenset({Reach.SELF, Reach.CARE, Reach.ALL})


class SeesAllBilling(_CapabilityPermission):
    """Every patient's membership and invoices: care coordinators."""

    capability = Capability.BILLING_STANDING
    reaches = _EVERY_PATIENT


class SeesAllShipping(_CapabilityPermission):
    """The delivery board: pharmacy liaisons and care coordinators."""

    capability = Capability.SHIPPING
    reaches = _EVERY_PATIENT


class WorksOrders(_CapabilityPermission):
    """Moving delivery orders through their states: pharmacy liaisons and care coordinators."""

    capability = Capability.ORDER_WORK
    reaches = _EVERY_PATIENT


class ManagesCatalogue(_CapabilityPermission):
    """The medication catalogue: staff of every sub-role (not administrators)."""

    capability = Capability.CATALOGUE
    reaches = _EVERY_PATIENT


class WorksReviewQueue(_CapabilityPermission):
    """New assessments and registrations, assigning physicians: care coordinators, medical director."""

    capability = Capability.REVIEW_QUEUE
    reaches = _EVERY_PATIENT


class ManagesCredentials(_CapabilityPermission):
    """Physicians' licences and registrations: care coordinators, medical director, administrators."""

    capability = Capability.CREDENTIALS
    reaches = _EVERY_PATIENT
