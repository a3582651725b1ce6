from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.admin_mixins import ReadOnlyAdminMixin
from accounts.models import AccountDeletionRequest, AuditEvent, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "role", "staff_role", "first_name", "last_name", "is_active", "is_staff"]
    list_filter = ["role", "staff_role", "is_active", "is_staff"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "role", "staff_role")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "role", "staff_role", "is_staff", "password1", "password2")}),
    )
    readonly_fields = ["last_login", "date_joined"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: nobody edits or deletes the audit trail, administrators included."""

    list_display = ["created_at", "actor", "actor_role", "action", "object_type", "object_id", "patient", "ip_address"]
    list_filter = ["action", "actor_role", "object_type"]
    search_fields = ["object_id", "request_id"]
    date_hierarchy = "created_at"


@admin.register(AccountDeletionRequest)
class AccountDeletionRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Patients' deletion requests (docs/account-deletion.md): read-only, a record of who asked when."""

    list_display = ["requested_at", "user"]
    date_hierarchy = "requested_at"
