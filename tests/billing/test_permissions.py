"""Who sees and does what: patients their own billing only, staff everything, others nothing."""

import pytest

from accounts.models import AuditEvent
from tests.billing.factories import InvoiceFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

PATIENT_ENDPOINTS = [
    ("post", "/api/v1/billing/checkout-session/"),
    ("post", "/api/v1/billing/subscription/"),
    ("get", "/api/v1/billing/subscription/"),
    ("post", "/api/v1/billing/subscription/cancel/"),
    ("post", "/api/v1/billing/portal-session/"),
    ("get", "/api/v1/billing/invoices/"),
]
STAFF_ENDPOINTS = [
    ("get", "/api/v1/billing/staff/subscriptions/"),
    ("get", "/api/v1/billing/staff/past-due/"),
    ("get", "/api/v1/billing/staff/invoices/"),
]


@pytest.mark.parametrize(("method", "url"), PATIENT_ENDPOINTS + STAFF_ENDPOINTS)
def test_anonymous_is_401(anon_client, method, url):
    response = getattr(anon_client, method)(url)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("role", ["physician", "staff", "admin_user"])
@pytest.mark.parametrize(("method", "url"), PATIENT_ENDPOINTS)
def test_patient_endpoints_are_for_patients_only(request, api, fake_stripe, role, method, url):
    user = request.getfixturevalue(role)
    response = getattr(api(user), method)(url, {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert fake_stripe.requests == []


@pytest.mark.parametrize("role", ["patient", "physician", "pharmacy_liaison", "medical_director", "admin_user"])
@pytest.mark.parametrize(("method", "url"), STAFF_ENDPOINTS)
def test_staff_endpoints_are_for_care_coordinators_only(request, api, role, method, url):
    response = getattr(api(request.getfixturevalue(role)), method)(url)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_patient_sees_only_their_own_subscription_and_invoices(api, patient, other_patient):
    mine = SubscriptionFactory(customer__patient=patient)
    theirs = SubscriptionFactory(customer__patient=other_patient)
    InvoiceFactory(subscription=mine)
    InvoiceFactory(subscription=theirs)
    body = api(patient).get("/api/v1/billing/subscription/").json()
    assert body["subscription"]["id"] == str(mine.public_id)
    assert body["standing"]["ok"] is True
    invoices = api(patient).get("/api/v1/billing/invoices/").json()
    assert invoices["count"] == 1
    assert invoices["results"][0]["stripe_invoice_id"] == mine.invoices.get().stripe_invoice_id
    assert AuditEvent.objects.filter(actor=patient, action="read", patient=patient).count() == 2
    assert not AuditEvent.objects.filter(actor=patient, patient=other_patient).exists()


def test_a_patient_without_a_membership_sees_none(api, patient):
    body = api(patient).get("/api/v1/billing/subscription/").json()
    assert body == {
        "subscription": None,
        "standing": {
            "ok": False,
            "status": "none",
            "reason": "no_subscription",
            "shipments_paused": True,
            "grace_ends_on": None,
        },
    }


def test_cancelling_someone_elses_subscription_is_404_and_calls_no_stripe(api, patient, other_patient, fake_stripe):
    SubscriptionFactory(customer__patient=patient)
    theirs = SubscriptionFactory(customer__patient=other_patient)
    response = api(patient).post("/api/v1/billing/subscription/cancel/", {"subscription_id": str(theirs.public_id)})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert fake_stripe.requests == []
    theirs.refresh_from_db()
    assert theirs.cancel_at_period_end is False


def test_cancelling_without_a_subscription_is_404(api, patient, fake_stripe):
    response = api(patient).post("/api/v1/billing/subscription/cancel/", {})
    assert response.status_code == 404


def test_cancelling_an_ended_subscription_is_409(api, patient, fake_stripe):
    SubscriptionFactory(customer__patient=patient, status="canceled")
    response = api(patient).post("/api/v1/billing/subscription/cancel/", {})
    assert response.status_code == 409
    assert response.json()["code"] == "not_cancellable"


def test_cancel_with_a_malformed_id_is_a_validation_error(api, patient):
    response = api(patient).post("/api/v1/billing/subscription/cancel/", {"subscription_id": "nope"})
    assert response.status_code == 400
    assert response.json()["fields"]["subscription_id"][0]["code"] == "invalid"


def test_staff_see_every_patients_subscriptions_filtered_in_constant_queries(
    api, staff, patient, other_patient, django_assert_max_num_queries
):
    SubscriptionFactory(customer__patient=patient, status="active")
    SubscriptionFactory(customer__patient=other_patient, status="past_due")
    client = api(staff)
    everyone = client.get("/api/v1/billing/staff/subscriptions/").json()
    assert everyone["count"] == 2
    past_due = client.get("/api/v1/billing/staff/subscriptions/?status=past_due").json()
    assert [r["patient"]["id"] for r in past_due["results"]] == [str(other_patient.public_id)]
    one = client.get(f"/api/v1/billing/staff/subscriptions/?patient={patient.public_id}").json()
    assert one["count"] == 1

    for _ in range(5):
        SubscriptionFactory(status="past_due")
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/billing/staff/subscriptions/")
    assert response.json()["count"] == 7
    with django_assert_max_num_queries(8):
        rows = client.get("/api/v1/billing/staff/past-due/").json()["results"]
    assert len(rows) == 6


def test_staff_filter_with_an_unknown_status_is_a_validation_error(api, staff):
    response = api(staff).get("/api/v1/billing/staff/subscriptions/?status=bogus")
    assert response.status_code == 400
    assert response.json()["fields"]["status"][0]["code"] == "invalid_choice"


def test_staff_see_every_patients_invoices_filtered_in_constant_queries(
    api, staff, patient, other_patient, django_assert_max_num_queries
):
    InvoiceFactory(subscription__customer__patient=patient, status="paid")
    InvoiceFactory(subscription__customer__patient=other_patient, status="open", amount_paid=0)
    for _ in range(4):
        InvoiceFactory()
    client = api(staff)
    with django_assert_max_num_queries(8):
        everyone = client.get("/api/v1/billing/staff/invoices/").json()
    assert everyone["count"] == 6
    open_ones = client.get("/api/v1/billing/staff/invoices/?status=open").json()["results"]
    assert [r["patient"]["id"] for r in open_ones] == [str(other_patient.public_id)]
    mine = client.get(f"/api/v1/billing/staff/invoices/?patient={patient.public_id}").json()
    assert mine["count"] == 1
    assert AuditEvent.objects.filter(actor=staff, patient=other_patient).exists()
