from datetime import timedelta

import factory
from django.utils import timezone

from billing.models import Invoice, StripeCustomer, Subscription, SubscriptionStatus
from billing.services.mirror import subscription_apply_snapshot
from tests.factories import PatientUserFactory


class StripeCustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StripeCustomer

    patient = factory.SubFactory(PatientUserFactory)
    stripe_customer_id = factory.Sequence(lambda n: f"cus_factory{n:04d}")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    customer = factory.SubFactory(StripeCustomerFactory)
    patient = factory.LazyAttribute(lambda o: o.customer.patient)
    stripe_subscription_id = factory.Sequence(lambda n: f"sub_factory{n:04d}")
    status = SubscriptionStatus.ACTIVE
    price_id = "price_membership_monthly"
    current_period_start = factory.LazyFunction(timezone.now)
    current_period_end = factory.LazyAttribute(lambda o: o.current_period_start + timedelta(days=30))
    stripe_created_at = factory.LazyFunction(timezone.now)
    snapshot_at = factory.LazyFunction(timezone.now)


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    subscription = factory.SubFactory(SubscriptionFactory)
    patient = factory.LazyAttribute(lambda o: o.subscription.patient)
    stripe_invoice_id = factory.Sequence(lambda n: f"in_factory{n:04d}")
    status = "paid"
    amount_due = 25000
    amount_paid = 25000
    stripe_created_at = factory.LazyFunction(timezone.now)
    snapshot_at = factory.LazyFunction(timezone.now)


def mirror_from_fake(patient, customer: dict, subscription: dict) -> Subscription:
    """Mirror a subscription the fake Stripe holds, as the webhooks would have."""
    StripeCustomer.objects.get_or_create(patient=patient, defaults={"stripe_customer_id": customer["id"]})
    return subscription_apply_snapshot(data=subscription, snapshot_at=timezone.now() - timedelta(seconds=1))
