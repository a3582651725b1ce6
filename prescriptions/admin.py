"""Staff screens: catalogue, pharmacies, prescribing policy, and the delivery board.

Prescriptions and orders are read-only here: their changes go through the services (signing
gates, the state machine). Bulk actions on orders call `delivery_order_transition` per order.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from accounts.admin_mixins import ReadOnlyAdminMixin, ScopedAdminMixin
from accounts.audit import AuditedAdminMixin
from accounts.scopes import Capability
from api.errors import DomainError
from prescriptions.models import (
    DeliveryOrder,
    MedicationProduct,
    OrderEvent,
    OrderStatus,
    PDMPCheck,
    Pharmacy,
    PharmacyStateLicence,
    PrescribingPolicy,
    Prescription,
    RefillRequest,
    SigningAttempt,
)
from prescriptions.selectors import overdue_q
from prescriptions.services.orders import delivery_order_transition


@admin.register(MedicationProduct)
class MedicationProductAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "dosage_form",
        "strength",
        "strength_unit",
        "route",
        "dea_schedule",
        "heat_sensitive",
        "active",
    ]
    list_filter = ["active", "dosage_form", "heat_sensitive"]
    search_fields = ["name"]
    actions = ["retire"]

    def has_delete_permission(self, request, obj=None):
        return False  # retire instead: past prescriptions point at the product

    @admin.action(description="Retire selected products (keeps past records)")
    def retire(self, request, queryset):
        count = queryset.update(active=False)
        self.message_user(request, f"{count} product(s) retired.")


class PharmacyStateLicenceInline(admin.TabularInline):
    model = PharmacyStateLicence
    extra = 0


@admin.register(Pharmacy)
class PharmacyAdmin(admin.ModelAdmin):
    list_display = ["name", "ncpdp_id", "email", "state", "active"]
    list_filter = ["active", "state_licences__state"]
    search_fields = ["name", "email", "ncpdp_id"]
    inlines = [PharmacyStateLicenceInline]


@admin.register(PrescribingPolicy)
class PrescribingPolicyAdmin(admin.ModelAdmin):
    """The medical director changes policy by adding a row with a new effective date; a row
    already in force is read-only, so every past signature keeps the policy of its day."""

    list_display = [
        "effective_from",
        "evaluation_window_days",
        "telemedicine_flexibility_ends_on",
        "require_in_person_after_flex_end",
        "in_person_evaluation_valid_days",
        "special_registration_enabled",
        "fl_pdmp_max_age_days",
        "nj_pdmp_interval_days",
        "max_days_supply",
        "max_refills",
        "expiry_months",
    ]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.effective_from <= timezone.localdate():
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return (
            obj is not None
            and obj.effective_from > timezone.localdate()
            and super().has_delete_permission(request, obj)
        )


class _ReadOnlyAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    scope_capability = Capability.CLINICAL


@admin.register(PDMPCheck)
class PDMPCheckAdmin(_ReadOnlyAdmin):
    scope_capability = Capability.PDMP
    list_display = ["public_id", "state", "checked_at", "checked_by"]
    list_filter = ["state"]
    search_fields = ["public_id", "patient__email"]
    raw_id_fields = ["patient", "checked_by"]


class SigningAttemptInline(admin.TabularInline):
    model = SigningAttempt
    extra = 0
    can_delete = False
    fields = ["attempted_at", "attempted_by", "signing_date", "succeeded", "reasons", "checks"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Prescription)
class PrescriptionAdmin(_ReadOnlyAdmin):
    list_display = ["public_id", "status", "patient", "physician", "product", "signed_at", "expires_on"]
    list_filter = ["status", "patient_state", "product"]
    search_fields = ["public_id", "patient__email", "patient__last_name"]
    raw_id_fields = ["patient", "physician", "supersedes"]
    inlines = [SigningAttemptInline]


class OrderEventInline(admin.TabularInline):
    """The status timeline, read-only."""

    model = OrderEvent
    extra = 0
    can_delete = False
    fields = ["occurred_at", "from_status", "to_status", "source", "actor", "note"]
    readonly_fields = fields
    ordering = ["occurred_at", "id"]

    def has_add_permission(self, request, obj=None):
        return False


class OverdueFilter(admin.SimpleListFilter):
    """Stuck in a status longer than DELIVERY_STUCK_AFTER_HOURS, or no carrier update for 72 h."""

    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Overdue"), ("no", "On time")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(overdue_q())
        if self.value() == "no":
            return queryset.exclude(overdue_q())
        return queryset


@admin.register(DeliveryOrder)
class DeliveryOrderAdmin(_ReadOnlyAdmin):
    """The staff delivery board."""

    scope_capability = Capability.SHIPPING

    list_display = [
        "public_id",
        "status",
        "status_changed_at",
        "ship_to_state",
        "pharmacy",
        "carrier",
        "tracking_number",
        "last_carrier_update",
        "sequence",
        "hold_reasons",
    ]
    list_filter = ["status", "ship_to_state", "pharmacy", "carrier", OverdueFilter]
    search_fields = [
        "public_id",
        "tracking_number",
        "patient__email",
        "patient__first_name",
        "patient__last_name",
        "ship_to_name",
    ]
    list_select_related = ["pharmacy", "patient"]
    raw_id_fields = ["prescription", "patient"]
    inlines = [OrderEventInline]
    actions = ["mark_sent_to_pharmacy", "mark_compounding", "cancel_orders"]

    def _bulk(self, request, queryset, to_status: str) -> None:
        moved, refused = 0, 0
        for order in queryset:
            try:
                delivery_order_transition(
                    actor=request.user,
                    order_id=order.public_id,
                    to_status=to_status,
                    note="admin bulk action",
                    request=request,
                )
                moved += 1
            except DomainError:
                refused += 1
        self.message_user(request, f"{moved} moved to {to_status}.")
        if refused:
            self.message_user(request, f"{refused} refused (not allowed from their status).", level=messages.WARNING)

    @admin.action(description="Mark sent to pharmacy")
    def mark_sent_to_pharmacy(self, request, queryset):
        self._bulk(request, queryset, OrderStatus.SENT_TO_PHARMACY)

    @admin.action(description="Mark compounding")
    def mark_compounding(self, request, queryset):
        self._bulk(request, queryset, OrderStatus.COMPOUNDING)

    @admin.action(description="Cancel (orders not yet shipped)")
    def cancel_orders(self, request, queryset):
        self._bulk(request, queryset, OrderStatus.CANCELLED)


@admin.register(RefillRequest)
class RefillRequestAdmin(_ReadOnlyAdmin):
    list_display = ["public_id", "status", "requested_at", "decided_at"]
    list_filter = ["status"]
    search_fields = ["public_id", "patient__email"]
    raw_id_fields = ["prescription", "patient", "decided_by", "order"]


from prescriptions.erx import admin as erx_admin  # noqa: E402, F401  (EPCS prescribers, outbox, events)
