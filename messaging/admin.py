"""Threads in the admin: reply times only. Message bodies are read through the audited API, not here."""

from __future__ import annotations

from django.contrib import admin

from messaging.models import Thread


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ("public_id", "waiting_since", "due_at", "overdue_notified_at", "last_message_at")
    readonly_fields = list_display
    fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
