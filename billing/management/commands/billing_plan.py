"""`manage.py billing_plan --check` verifies STRIPE_PRICE_ID is the $250/month "Membership - monthly"
price; `manage.py billing_plan --create` creates that product and price (once: idempotent) and
prints the price id to put in STRIPE_PRICE_ID."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from billing.gateway import (
    MEMBERSHIP_AMOUNT_CENTS,
    MEMBERSHIP_CURRENCY,
    MEMBERSHIP_DESCRIPTION,
    get_gateway,
)


def plan_problems(price: dict) -> list[str]:
    problems = []
    if price.get("unit_amount") != MEMBERSHIP_AMOUNT_CENTS or price.get("currency") != MEMBERSHIP_CURRENCY:
        problems.append(f"amount is {price.get('unit_amount')} {price.get('currency')}, expected 25000 usd")
    recurring = price.get("recurring") or {}
    if recurring.get("interval") != "month" or recurring.get("interval_count", 1) != 1:
        problems.append("the price is not monthly")
    if not price.get("active", True):
        problems.append("the price is archived")
    product = price.get("product")
    name = product.get("name") if isinstance(product, dict) else None
    if name is not None and name != MEMBERSHIP_DESCRIPTION:
        problems.append(f"the product is named {name!r}; name it {MEMBERSHIP_DESCRIPTION!r} (no health words)")
    return problems


class Command(BaseCommand):
    help = "Create or check the $250/month membership price in Stripe."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--create", action="store_true")
        group.add_argument("--check", action="store_true")

    def handle(self, *args, create=False, check=False, **options):
        gateway = get_gateway()
        if create:
            price = gateway.plan_create()
            self.stdout.write(f"STRIPE_PRICE_ID={price['id']}")
            return
        price = gateway.price_retrieve(settings.STRIPE_PRICE_ID)
        problems = plan_problems(price)
        if problems:
            raise CommandError("; ".join(problems))
        self.stdout.write(self.style.SUCCESS(f"{price['id']} is the $250/month {MEMBERSHIP_DESCRIPTION!r} price."))
