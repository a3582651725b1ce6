from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import InvoiceStatus, SubscriptionStatus
from billing.services.standing import StandingStatus, standing_from


class BillingSubscribeInput(serializers.Serializer):
    price_id = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=255,
        help_text="Optional: the plan's Stripe price id. Omit it; any other price is refused (`unknown_price`).",
    )


PROVIDER_HELP = (
    "`stripe`, or `sandbox` (the offline simulation: pay with POST /api/v1/billing/sandbox/pay/ instead "
    "of Stripe's page or PaymentSheet; docs/billing.md#sandbox)."
)


class BillingCheckoutSessionOutput(serializers.Serializer):
    url = serializers.URLField(help_text="Stripe Checkout page to send the browser to.")
    session_id = serializers.CharField()
    provider = serializers.ChoiceField(choices=["stripe", "sandbox"], help_text=PROVIDER_HELP)


class BillingMobileSubscriptionOutput(serializers.Serializer):
    subscription_id = serializers.UUIDField(help_text="Public id of the membership (the local mirror).")
    stripe_subscription_id = serializers.CharField()
    status = serializers.CharField()
    client_secret = serializers.CharField(help_text="The first invoice's confirmation secret, for PaymentSheet.")
    customer_id = serializers.CharField(help_text="Stripe customer id, for PaymentSheet.")
    customer_session_client_secret = serializers.CharField(help_text="Stripe CustomerSession secret.")
    publishable_key = serializers.CharField()
    provider = serializers.ChoiceField(choices=["stripe", "sandbox"], help_text=PROVIDER_HELP)


class BillingPortalSessionOutput(serializers.Serializer):
    url = serializers.URLField(help_text="Stripe customer portal (card, invoices, cancellation).")


class BillingCancelInput(serializers.Serializer):
    subscription_id = serializers.UUIDField(
        required=False, help_text="Public id of the membership; omit to cancel your current one."
    )


class BillingStandingOutput(serializers.Serializer):
    ok = serializers.BooleanField()
    status = serializers.ChoiceField(choices=StandingStatus.choices)
    reason = serializers.CharField(allow_null=True)
    shipments_paused = serializers.BooleanField()
    grace_ends_on = serializers.DateField(allow_null=True)


class BillingSubscriptionOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    stripe_subscription_id = serializers.CharField()
    status = serializers.ChoiceField(choices=SubscriptionStatus.choices)
    current_period_start = serializers.DateTimeField(allow_null=True)
    current_period_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    cancel_at = serializers.DateTimeField(allow_null=True)
    canceled_at = serializers.DateTimeField(allow_null=True)
    past_due_since = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class BillingMySubscriptionOutput(serializers.Serializer):
    subscription = BillingSubscriptionOutput(allow_null=True)
    standing = BillingStandingOutput()


class BillingInvoiceOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    stripe_invoice_id = serializers.CharField()
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=InvoiceStatus.choices)
    currency = serializers.CharField()
    amount_due = serializers.IntegerField(help_text="In cents.")
    amount_paid = serializers.IntegerField(help_text="In cents.")
    hosted_invoice_url = serializers.CharField()
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField(source="stripe_created_at", allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)


class BillingStaffInvoiceFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=InvoiceStatus.choices, required=False)
    patient = serializers.UUIDField(required=False, help_text="A patient's public id.")


class BillingPatientRefOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()


class BillingStaffSubscriptionOutput(BillingSubscriptionOutput):
    patient = BillingPatientRefOutput()


class BillingStaffInvoiceOutput(BillingInvoiceOutput):
    patient = BillingPatientRefOutput()


class BillingPastDueOutput(BillingStaffSubscriptionOutput):
    standing = serializers.SerializerMethodField()

    @extend_schema_field(BillingStandingOutput)
    def get_standing(self, subscription):
        return BillingStandingOutput(standing_from(subscription, on=self.context["on"])).data


class BillingStaffSubscriptionFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=SubscriptionStatus.choices, required=False)
    patient = serializers.UUIDField(required=False, help_text="A patient's public id.")


class BillingWebhookAckOutput(serializers.Serializer):
    received = serializers.BooleanField()


class BillingSandboxPayInput(serializers.Serializer):
    client_secret = serializers.CharField(
        required=False, max_length=255, help_text="The `client_secret` from POST /billing/subscription/ (the app)."
    )
    checkout_session_id = serializers.CharField(
        required=False, max_length=255, help_text="The `session_id` from POST /billing/checkout-session/ (the web)."
    )
    card = serializers.ChoiceField(
        choices=["4242424242424242", "4000000000000002", "4000000000009995"],
        default="4242424242424242",
        help_text="A Stripe test card: 4242... pays, 4000...0002 is declined, 4000...9995 has insufficient funds.",
    )

    def validate(self, attrs):
        if bool(attrs.get("client_secret")) == bool(attrs.get("checkout_session_id")):
            raise serializers.ValidationError(
                {"client_secret": ["Send exactly one of client_secret and checkout_session_id."]}, code="required"
            )
        return attrs


class BillingSandboxPayOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["paid"])
    subscription_id = serializers.CharField(help_text="The sandbox's (Stripe-shaped) subscription id.")
    invoice_id = serializers.CharField()


class BillingSandboxRenewalInput(serializers.Serializer):
    patient = serializers.UUIDField(help_text="The patient's public id.")
    outcome = serializers.ChoiceField(choices=["paid", "failed"], help_text="Whether the charge succeeds.")


class BillingSandboxRenewalOutput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["paid", "failed", "ended"])
    subscription_status = serializers.ChoiceField(choices=SubscriptionStatus.choices)
    invoice_id = serializers.CharField(allow_null=True)
    attempt_count = serializers.IntegerField()
