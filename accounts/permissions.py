"""Role permissions. Object scoping is the selectors' job (outside your scope is a 404)."""

from rest_framework.permissions import BasePermission

from accounts.models import Role


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
    """Care coordinators, pharmacy liaisons and administrators."""

    roles = (Role.STAFF, Role.ADMIN)


class IsPhysicianOrStaff(_RolePermission):
    roles = (Role.PHYSICIAN, Role.STAFF, Role.ADMIN)


class IsCareTeamOrPatient(_RolePermission):
    roles = (Role.PATIENT, Role.PHYSICIAN, Role.STAFF, Role.ADMIN)
