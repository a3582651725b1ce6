from accounts import scopes

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


class ScopedAdminMixin:
    """Rows holding patient information, listed as the API lists them (accounts.scopes): the
    model permission of the role's group opens the page, the role's reach decides whose rows it
    shows. Superusers are no exception: being one grants pages, not other people's records.

    `scope_capability` names the kind of record; `scope_patient` the path from the model to the
    patient user ("patient", "user", "flag__patient")."""

    scope_capability = None
    scope_patient = "patient"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        condition = scopes.patient_q(request.user, self.scope_capability, patient=self.scope_patient)
        return queryset.none() if condition is None else queryset.filter(condition)
