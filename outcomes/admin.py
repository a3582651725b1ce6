from django.contrib import admin

from outcomes.models import ClusterAttack, DiaryReminderPreference, HeadacheDiaryEntry, OutcomeReviewFlag


@admin.register(HeadacheDiaryEntry)
class HeadacheDiaryEntryAdmin(admin.ModelAdmin):
    list_display = ("patient", "date", "headache", "peak_pain")
    list_filter = ("headache",)
    readonly_fields = [f.name for f in HeadacheDiaryEntry._meta.fields]

    def has_add_permission(self, request):
        return False  # the patient's own record: written through the app only


@admin.register(ClusterAttack)
class ClusterAttackAdmin(admin.ModelAdmin):
    list_display = ("public_id", "patient", "started_at", "minutes", "side")
    readonly_fields = [f.name for f in ClusterAttack._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(OutcomeReviewFlag)
class OutcomeReviewFlagAdmin(admin.ModelAdmin):
    list_display = ("public_id", "patient", "kind", "status", "opened_at")
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in OutcomeReviewFlag._meta.fields]


admin.site.register(DiaryReminderPreference)
