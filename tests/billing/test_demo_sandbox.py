"""Demo memberships live in the billing sandbox too (docs/billing.md#demo-memberships): a seeded
demo patient cancels, resubscribes, pays or is shown a failed renewal through the real endpoints."""

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from accounts.models import User
from billing import sandbox
from billing.models import Invoice, SandboxObject, Subscription
from billing.services.standing import patient_good_standing
from tests.factories import PatientUserFactory

pytestmark = pytest.mark.django_db

SUBSCRIPTION = "/api/v1/billing/subscription/"
CANCEL = "/api/v1/billing/subscription/cancel/"
PAY = "/api/v1/billing/sandbox/pay/"
RENEWAL = "/api/v1/billing/staff/sandbox/renewal/"
INVOICES = "/api/v1/billing/invoices/"


@pytest.fixture(autouse=True)
def demo_sandbox(settings):
    """The demo's default: the sandbox, no Stripe keys."""
    settings.BILLING_PROVIDER = "sandbox"
    settings.BILLING_ENABLED = True
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_sandbox"
    settings.STRIPE_PRICE_ID = "price_sandbox_membership_monthly"
    return settings


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def _run(fn):
        with django_capture_on_commit_callbacks(execute=True):
            return fn()

    return _run


@pytest.fixture
def seeded(db):
    call_command("seed", stdout=StringIO())
    return User.objects.get(email="patient.miami@demo.practice.example")


def test_every_seeded_membership_is_known_to_the_sandbox_once(seeded):
    memberships = list(Subscription.objects.select_related("customer"))
    assert memberships and seeded.pk in {m.patient_id for m in memberships}
    for membership in memberships:
        at_sandbox = sandbox.load(sandbox.SUBSCRIPTION, membership.stripe_subscription_id)
        assert (
            at_sandbox["status"] == membership.status
            and at_sandbox["customer"] == membership.customer.stripe_customer_id
        )
        assert sandbox.period_of(at_sandbox)[1] == int(membership.current_period_end.timestamp())
        assert sandbox.load(sandbox.CUSTOMER, membership.customer.stripe_customer_id) is not None
        assert at_sandbox["latest_invoice"] in {i.stripe_invoice_id for i in membership.invoices.all()}
    counts = SandboxObject.objects.count()
    call_command("seed", stdout=StringIO())  # idempotent
    assert SandboxObject.objects.count() == counts


def test_a_seeded_patient_cancels_and_resubscribes(api, seeded, staff, run):
    assert api(seeded).get(SUBSCRIPTION).json()["subscription"]["status"] == "active"
    cancelled = run(lambda: api(seeded).post(CANCEL, {}, format="json"))
    assert cancelled.status_code == 200, cancelled.json()
    assert cancelled.json()["cancel_at_period_end"] is True
    assert Subscription.objects.get(patient=seeded).cancel_at_period_end is True  # through the signed event
    ended = run(lambda: api(staff).post(RENEWAL, {"patient": str(seeded.public_id), "outcome": "paid"}, format="json"))
    assert ended.status_code == 200, ended.json()
    assert ended.json()["outcome"] == "ended"
    assert Subscription.objects.get(patient=seeded).status == "canceled"

    started = run(lambda: api(seeded).post(SUBSCRIPTION, {}, format="json"))
    assert started.status_code == 201, started.json()
    paid = run(
        lambda: api(seeded).post(
            PAY, {"client_secret": started.json()["client_secret"], "card": "4242424242424242"}, format="json"
        )
    )
    assert paid.status_code == 200, paid.json()
    assert patient_good_standing(patient=seeded).status == "active"
    assert len(api(seeded).get(INVOICES).json()["results"]) == 4  # three seeded, one new


def test_a_seeded_patient_is_shown_a_failed_renewal_and_settles_it(api, seeded, staff, run):
    mail.outbox.clear()
    failed = run(
        lambda: api(staff).post(RENEWAL, {"patient": str(seeded.public_id), "outcome": "failed"}, format="json")
    )
    assert failed.status_code == 200, failed.json()
    assert failed.json()["subscription_status"] == "past_due"
    assert patient_good_standing(patient=seeded).status == "past_due_in_grace"
    assert len(mail.outbox) == 1  # the dunning notice
    settled = run(
        lambda: api(staff).post(RENEWAL, {"patient": str(seeded.public_id), "outcome": "paid"}, format="json")
    )
    assert settled.json()["subscription_status"] == "active"
    assert patient_good_standing(patient=seeded).status == "active"


def test_a_past_due_demo_membership_settles_its_open_invoice(api, staff, run):
    from seeds.demo import billing as step

    overdue = PatientUserFactory(email="pastdue.pat@demo.practice.example")
    step.run(StringIO())
    unpaid = Invoice.objects.get(patient=overdue, status="open")
    assert sandbox.load(sandbox.INVOICE, unpaid.stripe_invoice_id)["confirmation_secret"] is not None
    settled = run(
        lambda: api(staff).post(RENEWAL, {"patient": str(overdue.public_id), "outcome": "paid"}, format="json")
    )
    assert settled.status_code == 200, settled.json()
    assert settled.json()["invoice_id"] == unpaid.stripe_invoice_id
    assert Invoice.objects.get(pk=unpaid.pk).status == "paid"
    assert patient_good_standing(patient=overdue).status == "active"


def test_an_older_demo_database_registers_its_memberships_on_the_next_seed(settings):
    from seeds.demo import billing as step

    patient = PatientUserFactory(email="alex@demo.practice.example")
    settings.BILLING_PROVIDER = "off"  # seeded before the sandbox knew demo memberships
    settings.BILLING_ENABLED = False
    step.run(StringIO())
    membership = Subscription.objects.get(patient=patient)
    assert sandbox.load(sandbox.SUBSCRIPTION, membership.stripe_subscription_id) is None
    settings.BILLING_PROVIDER, settings.BILLING_ENABLED = "sandbox", True
    out = StringIO()
    step.run(out)
    assert sandbox.load(sandbox.SUBSCRIPTION, membership.stripe_subscription_id) is not None
    assert "1 earlier demo memberships registered" in out.getvalue()
