"""PHI-safe admin: every view of a record is audited; signatures and flags change only through services."""

from django.contrib import admin

from accounts.admin_mixins import ReadOnlyAdminMixin, ScopedAdminMixin
from accounts.audit import AuditedAdminMixin
from accounts.scopes import Capability
from api.clock import practice_date
from patients.models import (
    AlertDelivery,
    Assessment,
    ClinicalPolicy,
    ConsentDocument,
    ConsentSignature,
    Contraindication,
    PatientProfile,
    PreSessionCheck,
    QuestionnaireResponse,
    SafetyFlag,
    Screening,
    VitalReading,
)


class _ReadOnlyAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    scope_capability = Capability.CLINICAL


@admin.register(PatientProfile)
class PatientProfileAdmin(ScopedAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    # Who the patient is and where they live: the review queue's staff, not the pharmacy liaison
    # (whose orders carry the name and ship-to address).
    scope_capability = Capability.REVIEW_QUEUE
    scope_patient = "user"
    list_display = ["id", "user", "state", "county", "assigned_physician", "address_verified_at"]
    list_filter = ["state"]
    search_fields = ["user__email"]
    raw_id_fields = ["user", "assigned_physician"]
    readonly_fields = ["time_zone", "address_verified_at", "county", "state", "zip_code", "physician_assigned_at"]

    def has_delete_permission(self, request, obj=None):
        return False  # medical records are never hard-deleted (docs/records-and-privacy.md#retention)


@admin.register(Assessment)
class AssessmentAdmin(_ReadOnlyAdmin):
    scope_capability = Capability.REVIEW_QUEUE
    list_display = ["public_id", "created_at", "outcome", "state", "consent_to_contact", "reviewed_at"]
    list_filter = ["outcome", "state", "consent_to_contact"]
    exclude = ["claim_token_hash"]


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(admin.ModelAdmin):
    """New versions are added here; a version someone signed is never edited (add a new one)."""

    list_display = ["kind", "version", "title", "effective_at"]
    list_filter = ["kind"]

    def has_change_permission(self, request, obj=None):
        return obj is None or not obj.signatures.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConsentSignature)
class ConsentSignatureAdmin(_ReadOnlyAdmin):
    scope_capability = Capability.REVIEW_QUEUE
    list_display = ["public_id", "patient", "document_kind", "document_version", "signed_at"]
    list_filter = ["document_kind"]


@admin.register(QuestionnaireResponse)
class QuestionnaireResponseAdmin(_ReadOnlyAdmin):
    list_display = ["public_id", "patient", "instrument", "total", "band", "taken_at", "is_baseline"]
    list_filter = ["instrument"]


@admin.register(SafetyFlag)
class SafetyFlagAdmin(_ReadOnlyAdmin):
    scope_capability = Capability.FLAGS
    list_display = ["public_id", "patient", "kind", "status", "opened_at", "trigger_count", "resolved_at"]
    list_filter = ["kind", "status"]
    exclude = ["resolution_note"]


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(_ReadOnlyAdmin):
    scope_capability = Capability.FLAGS
    scope_patient = "flag__patient"
    list_display = ["flag", "channel", "recipient", "sent_at", "attempts"]


@admin.register(PreSessionCheck)
class PreSessionCheckAdmin(_ReadOnlyAdmin):
    list_display = ["public_id", "patient", "checked_at", "outcome", "judged_systolic", "judged_diastolic"]
    list_filter = ["outcome"]


@admin.register(VitalReading)
class VitalReadingAdmin(_ReadOnlyAdmin):
    list_display = ["public_id", "patient", "measured_at", "systolic", "diastolic"]


@admin.register(Screening)
class ScreeningAdmin(_ReadOnlyAdmin):
    list_display = ["public_id", "patient", "source", "screened_at"]
    list_filter = ["source"]
    search_fields = ["patient__email"]


@admin.register(Contraindication)
class ContraindicationAdmin(_ReadOnlyAdmin):
    """Read-only: a decision is clinical and goes through the physician's endpoint (services.screening)."""

    list_display = ["public_id", "patient", "code", "severity", "source", "source_date", "status", "decided_at"]
    list_filter = ["status", "severity", "source"]
    search_fields = ["patient__email", "code"]
    exclude = ["decision_note"]


@admin.register(ClinicalPolicy)
class ClinicalPolicyAdmin(admin.ModelAdmin):
    """The medical director changes a threshold by adding a row with a new effective date; a row
    already in force is read-only, so every past decision keeps the policy of its day."""

    list_display = [
        "effective_from",
        "minimum_age",
        "bp_hold_systolic_above",
        "bp_hold_diastolic_above",
        "bp_emergency_systolic_at",
        "bp_emergency_diastolic_at",
        "response_drop_percent",
        "phq9_remission_below",
        "phq9_item9_flag_at",
        "hard_stop_contraindications",
    ]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.effective_from <= practice_date():
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.effective_from > practice_date() and super().has_delete_permission(request, obj)
