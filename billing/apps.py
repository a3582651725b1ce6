from django.apps import AppConfig


class BillingConfig(AppConfig):
    """The $250/month membership: Stripe customers, subscriptions, invoices, good standing."""

    name = "billing"
