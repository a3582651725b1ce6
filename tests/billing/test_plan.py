from io import StringIO

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_create_plan_sends_the_membership_price_once(fake_stripe):
    out = StringIO()
    call_command("billing_plan", "--create", stdout=out)
    call_command("billing_plan", "--create", stdout=StringIO())
    (call, again) = fake_stripe.sent("post", "/v1/prices")
    assert call.form["unit_amount"] == "25000" and call.form["currency"] == "usd"
    assert call.form["recurring[interval]"] == "month"
    assert call.form["product_data[name]"] == "Membership - monthly"
    assert call.idempotency_key == again.idempotency_key == "plan-membership_monthly-25000"
    assert len(fake_stripe.prices) == 1
    assert out.getvalue().strip() == f"STRIPE_PRICE_ID={next(iter(fake_stripe.prices))}"


def test_check_plan_accepts_the_membership_price_and_refuses_another(fake_stripe, settings):
    call_command("billing_plan", "--create", stdout=StringIO())
    price_id = next(iter(fake_stripe.prices))
    settings.STRIPE_PRICE_ID = price_id
    call_command("billing_plan", "--check", stdout=StringIO())
    fake_stripe.prices[price_id].update(unit_amount=30000)
    fake_stripe.prices[price_id]["product"]["name"] = "Ketamine therapy"
    with pytest.raises(CommandError) as refused:
        call_command("billing_plan", "--check", stdout=StringIO())
    assert "25000 usd" in str(refused.value) and "Membership - monthly" in str(refused.value)
