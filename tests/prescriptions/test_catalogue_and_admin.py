"""The medication catalogue (staff), the caseload contract, and the admin delivery board."""

import pytest
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.models import AuditEvent
from prescriptions.models import DeliveryOrder, MedicationProduct, OrderStatus, PrescribingPolicy
from prescriptions.policy import policy_on
from prescriptions.selectors import prescription_status_by_patient
from tests.prescriptions.factories import DeliveryOrderFactory, PrescriptionFactory, SignedPrescriptionFactory

pytestmark = pytest.mark.django_db


# --- catalogue ----------------------------------------------------------------------------------
def test_staff_add_and_retire_a_product_and_physicians_see_only_active_ones(api, staff, physician):
    response = api(staff).post(
        "/api/v1/staff/medications/",
        {
            "name": "Ketamine nasal spray",
            "dosage_form": "nasal_spray",
            "strength": "100.00",
            "strength_unit": "mg/mL",
            "route": "intranasal",
            "dispensing_unit": "mL",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    product_id = response.json()["id"]
    assert response.json()["strength_text"] == "100 mg/mL" and response.json()["dea_schedule"] == "III"
    assert [p["id"] for p in api(physician).get("/api/v1/medications/").json()["results"]] == [product_id]
    retired = api(staff).patch(f"/api/v1/staff/medications/{product_id}/", {"active": False}, format="json")
    assert retired.status_code == 200 and retired.json()["active"] is False
    assert api(physician).get("/api/v1/medications/").json()["count"] == 0
    assert api(staff).get("/api/v1/staff/medications/").json()["count"] == 1


def test_only_staff_maintain_the_catalogue(api, physician, patient):
    body = {"name": "x", "dosage_form": "nasal_spray", "strength": "1", "route": "intranasal", "dispensing_unit": "mL"}
    assert api(physician).post("/api/v1/staff/medications/", body, format="json").status_code == 404
    assert api(patient).get("/api/v1/medications/").status_code == 403


def test_duplicate_product_is_a_validation_error(api, staff, product):
    body = {
        "name": "Again",
        "dosage_form": product.dosage_form,
        "strength": str(product.strength),
        "strength_unit": product.strength_unit,
        "route": product.route,
        "dispensing_unit": "troche",
    }
    response = api(staff).post("/api/v1/staff/medications/", body, format="json")
    assert response.status_code == 400 and response.json()["code"] == "validation_error"


def test_a_prescribed_product_cannot_be_deleted_only_retired(product):
    SignedPrescriptionFactory(product=product)
    with pytest.raises(ProtectedError):
        product.delete()
    assert MedicationProduct.objects.filter(pk=product.pk).exists()


# --- policy -------------------------------------------------------------------------------------
def test_the_default_policy_row_holds_the_domain_defaults():
    policy = policy_on(timezone.localdate())
    assert policy.pk is not None
    assert (policy.evaluation_window_days, policy.fl_pdmp_max_age_days, policy.nj_pdmp_interval_days) == (90, 0, 90)
    assert (policy.max_days_supply, policy.max_refills, policy.expiry_months) == (30, 5, 6)
    assert str(policy.telemedicine_flexibility_ends_on) == "2026-12-31" and policy.require_in_person_after_flex_end


def test_a_new_policy_row_takes_effect_on_its_date():
    from datetime import date

    PrescribingPolicy.objects.create(effective_from=date(2027, 1, 1), max_days_supply=28)
    assert policy_on(date(2026, 12, 31)).max_days_supply == 30
    assert policy_on(date(2027, 1, 1)).max_days_supply == 28


# --- caseload contract --------------------------------------------------------------------------
def test_prescription_status_by_patient_in_one_query(
    patient, other_patient, physician, staff, django_assert_num_queries
):
    from tests.factories import PatientUserFactory

    expired_only = PatientUserFactory()
    nobody = PatientUserFactory()
    SignedPrescriptionFactory(patient=patient)
    PrescriptionFactory(patient=patient)
    PrescriptionFactory(patient=other_patient)
    SignedPrescriptionFactory(patient=expired_only, expires_on=timezone.localdate() - timezone.timedelta(days=1))
    ids = [patient.pk, other_patient.pk, expired_only.pk, nobody.pk]
    with django_assert_num_queries(1):
        result = prescription_status_by_patient(patient_ids=ids)
    assert result == {patient.pk: "active", other_patient.pk: "draft", expired_only.pk: "expired", nobody.pk: "none"}


# --- admin delivery board -----------------------------------------------------------------------
@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def board_client(client, pharmacy_liaison):
    """The delivery board is the pharmacy liaison's (and the care coordinator's) admin page."""
    client.force_login(pharmacy_liaison)
    return client


def test_admin_board_filters_searches_and_shows_the_timeline(board_client, staff):
    admin_client = board_client
    from prescriptions.services.orders import delivery_order_transition

    order = DeliveryOrderFactory(status=OrderStatus.SENT_TO_PHARMACY, tracking_number="9400111")
    DeliveryOrderFactory(status=OrderStatus.DELIVERED)
    delivery_order_transition(actor=staff, order_id=order.public_id, to_status="compounding", note="confirmed")
    base = "/admin/prescriptions/deliveryorder/"
    for query in (
        "",
        "?status__exact=compounding",
        "?overdue=yes",
        "?q=9400111",
        f"?q={order.public_id}",
        "?ship_to_state__exact=FL",
    ):
        assert admin_client.get(base + query).status_code == 200, query
    assert str(order.public_id) in admin_client.get(base + "?q=9400111").content.decode()
    page = admin_client.get(f"{base}{order.pk}/change/")
    assert page.status_code == 200
    assert "confirmed" in page.content.decode()  # the OrderEvent timeline inline
    assert AuditEvent.objects.filter(object_id=str(order.pk), action="read", detail="admin").exists()


def test_admin_bulk_cancel_goes_through_the_state_machine(board_client):
    admin_client = board_client
    movable = DeliveryOrderFactory(status=OrderStatus.CREATED)
    delivered = DeliveryOrderFactory(status=OrderStatus.DELIVERED)
    response = admin_client.post(
        "/admin/prescriptions/deliveryorder/",
        {"action": "cancel_orders", "_selected_action": [movable.pk, delivered.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert DeliveryOrder.objects.get(pk=movable.pk).status == OrderStatus.CANCELLED
    assert DeliveryOrder.objects.get(pk=delivered.pk).status == OrderStatus.DELIVERED  # refused, unchanged
    assert movable.events.get().note == "admin bulk action"


def test_admin_pages_of_the_catalogue_and_policy_render(admin_client, product):
    assert admin_client.get("/admin/prescriptions/medicationproduct/").status_code == 200
    assert admin_client.get("/admin/prescriptions/prescribingpolicy/").status_code == 200
    assert admin_client.get("/admin/prescriptions/pharmacy/add/").status_code == 200
    policy = PrescribingPolicy.objects.first()
    page = admin_client.get(f"/admin/prescriptions/prescribingpolicy/{policy.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content  # in force: read-only
