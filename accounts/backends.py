"""Admin-site permissions from the role (docs/roles-and-access.md#the-admin-site)."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q

from accounts import scopes


class RoleGroupBackend(ModelBackend):
    """Django's model backend, where a user's group permissions are those of the groups they
    are in plus the admin group of their role (`scopes.ADMIN_GROUPS`): changing a person's role
    changes what the admin site lets them open, with no membership to keep in step. Which rows
    each page lists is still the role's scope (`accounts.admin_mixins.ScopedAdminMixin`)."""

    def _get_group_permissions(self, user_obj):
        in_groups = Q(group__in=user_obj.groups.all())
        group = scopes.ADMIN_GROUPS.get(user_obj.access_role)
        return Permission.objects.filter(in_groups | Q(group__name=group) if group else in_groups).distinct()
