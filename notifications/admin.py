"""Staff see the outbox and may send a failed row again (attempts start over)."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone

from notifications.models import Delivery, OutboxEffect, OutboxStatus


@admin.action(description="Send again (failed or cancelled rows)")
def send_again(modeladmin, request, queryset):
    queryset.filter(status__in=[OutboxStatus.FAILED, OutboxStatus.CANCELLED]).update(
        status=OutboxStatus.PENDING, attempts=0, claimed_by="", next_attempt_at=timezone.now()
    )


class _OutboxAdmin(admin.ModelAdmin):
    list_filter = ("status",)
    actions = [send_again]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(_OutboxAdmin):
    list_display = ("id", "kind", "channel", "status", "attempts", "created_at", "sent_at", "last_error")
    list_filter = ("status", "kind", "channel")
    search_fields = ("dedupe_key", "provider_id")


@admin.register(OutboxEffect)
class OutboxEffectAdmin(_OutboxAdmin):
    list_display = ("id", "handler", "status", "attempts", "created_at", "sent_at", "result", "last_error")
    list_filter = ("status", "handler")
    search_fields = ("dedupe_key",)
