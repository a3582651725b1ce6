"""Admin building blocks shared by every app (the audited-admin mixin is in accounts.audit)."""


class ReadOnlyAdminMixin:
    """Records that the admin shows but never adds, changes or deletes (mirrors of Stripe,
    reference data, the audit trail, history rows)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
