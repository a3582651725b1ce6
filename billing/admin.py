"""Staff screens for billing: read-only, because Stripe is the source of truth (change things in
Stripe's dashboard or through the API; the mirror follows by webhook)."""

from django.contrib import admin

from accounts.admin_mixins import ReadOnlyAdminMixin, ScopedAdminMixin
from accounts.audit import AuditedAdminMixin
from accounts.scopes import Capability
from billing.models import Invoice, StripeCustomer, Subscription, WebhookEvent


class _ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class _PatientBillingAdmin(ScopedAdminMixin, AuditedAdminMixin, _ReadOnlyAdmin):
    scope_capability = Capability.BILLING_STANDING


@admin.register(StripeCustomer)
class StripeCustomerAdmin(_PatientBillingAdmin):
    list_display = ["stripe_customer_id", "patient_id", "created_at"]
    search_fields = ["stripe_customer_id"]
    list_select_related = ["patient"]


@admin.register(Subscription)
class SubscriptionAdmin(_PatientBillingAdmin):
    list_display = ["stripe_subscription_id", "patient_id", "status", "current_period_end", "cancel_at_period_end"]
    list_filter = ["status", "cancel_at_period_end"]
    search_fields = ["stripe_subscription_id", "customer__stripe_customer_id"]


@admin.register(Invoice)
class InvoiceAdmin(_PatientBillingAdmin):
    list_display = ["stripe_invoice_id", "patient_id", "status", "amount_due", "amount_paid", "stripe_created_at"]
    list_filter = ["status"]
    search_fields = ["stripe_invoice_id", "number"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(_ReadOnlyAdmin):
    list_display = ["stripe_event_id", "type", "status", "attempts", "error_code", "received_at", "processed_at"]
    list_filter = ["status", "type"]
    search_fields = ["stripe_event_id"]
    exclude = ["payload"]  # invoices in payloads carry the customer's email and name
