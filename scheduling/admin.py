from django.contrib import admin

from accounts.admin_mixins import ScopedAdminMixin
from accounts.audit import AuditedAdminMixin
from accounts.scopes import Capability
from scheduling.models import (
    AgendaDigest,
    Appointment,
    AppointmentType,
    AvailabilityException,
    FreeConsultationGrant,
    InPersonEvaluation,
    Reminder,
    VisitLocation,
    VisitPractitionerPresence,
    WeeklyAvailability,
)


@admin.register(AppointmentType)
class AppointmentTypeAdmin(admin.ModelAdmin):
    """Staff change durations, buffers and whether a type needs a membership here."""

    list_display = ["code", "name", "duration_minutes", "buffer_minutes", "requires_subscription", "is_active"]
    readonly_fields = ["code"]


@admin.register(WeeklyAvailability)
class WeeklyAvailabilityAdmin(admin.ModelAdmin):
    list_display = ["physician", "weekday", "start_time", "end_time"]
    list_filter = ["weekday"]
    raw_id_fields = ["physician"]


@admin.register(AvailabilityException)
class AvailabilityExceptionAdmin(admin.ModelAdmin):
    list_display = ["physician", "date", "kind", "start_time", "end_time"]
    list_filter = ["kind"]
    raw_id_fields = ["physician"]


@admin.register(FreeConsultationGrant)
class FreeConsultationGrantAdmin(ScopedAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    """Allow a patient another free consultation."""

    scope_capability = Capability.SCHEDULING

    list_display = ["patient", "granted_by", "created_at"]
    raw_id_fields = ["patient", "granted_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.granted_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Appointment)
class AppointmentAdmin(ScopedAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    """Read-mostly: bookings, cancellations and visit records go through the API's services.
    The visit note is never shown here (clinical content has its audited API route)."""

    scope_capability = Capability.SCHEDULING

    list_display = ["public_id", "appointment_type", "starts_at", "status", "physician", "patient"]
    list_filter = ["status", "appointment_type"]
    date_hierarchy = "starts_at"
    exclude = ["visit_note"]
    readonly_fields = [f.name for f in Appointment._meta.fields if f.name != "visit_note"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Reminder)
class ReminderAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_capability = Capability.SCHEDULING
    scope_patient = "appointment__patient"

    list_display = ["id", "channel", "kind", "due_at", "status", "attempts", "sent_at"]
    list_filter = ["status", "channel", "kind"]
    readonly_fields = ["appointment", "channel", "kind", "due_at", "sent_at", "provider_id", "claimed_at", "attempts"]


@admin.register(AgendaDigest)
class AgendaDigestAdmin(admin.ModelAdmin):
    list_display = ["physician", "date", "visit_count", "sent_at"]
    readonly_fields = ["physician", "date", "visit_count", "created_at", "sent_at"]


@admin.register(VisitLocation)
class VisitLocationAdmin(admin.ModelAdmin):
    """Offices (and home-visit areas) where in-person evaluations are booked."""

    list_display = ["name", "kind", "city", "state", "time_zone", "is_active"]
    list_filter = ["state", "kind", "is_active"]


@admin.register(InPersonEvaluation)
class InPersonEvaluationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Read here; recorded through the API (a completed visit, or the physician's attestation),
    so the rules (caseload, served state, no future dates) hold. Never deleted."""

    list_display = ["public_id", "physician", "evaluated_on", "source", "place_state", "voided_at"]
    list_filter = ["source", "place_state"]
    raw_id_fields = ["patient", "physician", "attested_by", "appointment", "location"]
    readonly_fields = ["public_id", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(VisitPractitionerPresence)
class VisitPractitionerPresenceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["appointment", "practitioner_state", "recorded_at"]
    raw_id_fields = ["appointment", "recorded_by"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
