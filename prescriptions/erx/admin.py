"""Staff screens of e-prescribing: prescribers' EPCS enrolment (through the service), and the
outbox and vendor events read-only (for support: why is this prescription still waiting?)."""

from __future__ import annotations

from django.contrib import admin

from prescriptions.erx.models import ErxEvent, ErxPrescriber, ErxSubmission
from prescriptions.services.erx import erx_prescriber_set


@admin.register(ErxPrescriber)
class ErxPrescriberAdmin(admin.ModelAdmin):
    list_display = ["physician", "provider", "vendor_clinician_id", "identity_proofed_at", "two_factor_enrolled_at"]
    search_fields = ["physician__email", "vendor_clinician_id"]
    readonly_fields = ["provider", "updated_at"]
    autocomplete_fields: list[str] = []
    raw_id_fields = ["physician"]

    def save_model(self, request, obj, form, change):
        saved = erx_prescriber_set(
            actor=request.user,
            physician=obj.physician,
            vendor_clinician_id=obj.vendor_clinician_id,
            identity_proofed_at=obj.identity_proofed_at,
            two_factor_enrolled_at=obj.two_factor_enrolled_at,
            request=request,
        )
        obj.pk = saved.pk


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ErxSubmission)
class ErxSubmissionAdmin(_ReadOnly):
    list_display = [
        "id",
        "prescription_id",
        "provider",
        "attempt",
        "status",
        "send_state",
        "cancel_state",
        "vendor_prescription_id",
        "vendor_status",
        "last_vendor_update",
    ]
    list_filter = ["provider", "status", "send_state", "cancel_state"]
    search_fields = ["vendor_prescription_id", "idempotency_key"]


@admin.register(ErxEvent)
class ErxEventAdmin(_ReadOnly):
    list_display = ["id", "provider", "event_type", "source", "status", "outcome", "received_at"]
    list_filter = ["provider", "event_type", "source", "status"]
