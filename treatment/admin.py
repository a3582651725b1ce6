from django.contrib import admin

from treatment.models import CheckInNotice, DosingSession, SessionCheckIn, TreatmentPolicy


@admin.register(TreatmentPolicy)
class TreatmentPolicyAdmin(admin.ModelAdmin):
    """The medical director adds a row with a later `effective_from`; a row in force is read-only."""

    list_display = ("effective_from", "session_auto_close_hours", "check_in_window_hours", "session_gap_days")

    def get_readonly_fields(self, request, obj=None):
        from django.utils import timezone

        if obj is not None and obj.effective_from <= timezone.localdate():
            return [f.name for f in obj._meta.fields]
        return []


@admin.register(DosingSession)
class DosingSessionAdmin(admin.ModelAdmin):
    list_display = ("public_id", "status", "local_date", "started_at", "ended_at", "dose_units")
    list_filter = ("status",)
    readonly_fields = [f.name for f in DosingSession._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(SessionCheckIn)
class SessionCheckInAdmin(admin.ModelAdmin):
    list_display = ("public_id", "submitted_at", "overall", "dissociation", "flag_reasons")
    exclude = ("notes",)
    readonly_fields = [f.name for f in SessionCheckIn._meta.fields if f.name != "notes"]

    def has_add_permission(self, request):
        return False


@admin.register(CheckInNotice)
class CheckInNoticeAdmin(admin.ModelAdmin):
    list_display = ("session", "kind", "status", "due_at", "sent_at", "attempts")
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in CheckInNotice._meta.fields]
