"""Drafting: bad input gets a 4xx with a stable code and nothing is saved; caseload scoping."""

import uuid

import pytest

from accounts.models import AuditEvent
from prescriptions.models import Prescription

pytestmark = pytest.mark.django_db

URL = "/api/v1/physician/prescriptions/"


@pytest.fixture
def payload(ready, product, pharmacy):
    return {
        "patient": str(ready.public_id),
        "product": str(product.public_id),
        "pharmacy": str(pharmacy.public_id),
        "dose": "100 mg",
        "directions": "Dissolve one troche between cheek and gum during a monitored session.",
        "quantity": 8,
        "days_supply": 30,
        "refills": 2,
        "first_fill_quantity": 4,
    }


def test_physician_drafts_a_prescription_for_a_caseload_patient(api, physician, payload):
    response = api(physician).post(URL, payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["signed_at"] is None
    rx = Prescription.objects.get(public_id=body["id"])
    assert (rx.quantity, rx.first_fill_quantity, rx.patient_state) == (8, 4, "FL")
    assert AuditEvent.objects.filter(object_id=str(rx.pk), action="create").exists()


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"quantity": 0}, 400, "invalid_quantity"),
        ({"refills": 9}, 400, "too_many_refills"),
        ({"refills": 6}, 400, "too_many_refills"),
        ({"days_supply": 90}, 400, "days_supply_exceeds_limit"),
        ({"days_supply": 0}, 400, "invalid_days_supply"),
        ({"first_fill_quantity": 9}, 400, "invalid_first_fill_quantity"),
        ({"product": str(uuid.uuid4())}, 400, "unknown_product"),
        ({"pharmacy": str(uuid.uuid4())}, 400, "unknown_pharmacy"),
        ({"quantity": "lots"}, 400, "validation_error"),
        ({"product": "not-a-uuid"}, 400, "validation_error"),
    ],
)
def test_bad_input_is_refused_with_a_stable_code_and_nothing_is_saved(api, physician, payload, change, status, code):
    response = api(physician).post(URL, {**payload, **change}, format="json")
    assert response.status_code == status
    assert response.json()["code"] == code
    assert not Prescription.objects.exists()


def test_pharmacy_not_licensed_for_the_patients_state_is_refused(api, physician, payload, other_patient, product):
    from tests.prescriptions.conftest import make_ready
    from tests.prescriptions.factories import licensed_pharmacy

    make_ready(other_patient, physician, state="NJ")
    fl_only = licensed_pharmacy("FL")
    response = api(physician).post(
        URL, {**payload, "patient": str(other_patient.public_id), "pharmacy": str(fl_only.public_id)}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "pharmacy_not_licensed_for_state"
    assert not Prescription.objects.exists()


def test_retired_product_cannot_be_prescribed(api, physician, payload, product):
    product.active = False
    product.save()
    response = api(physician).post(URL, payload, format="json")
    assert response.status_code == 400 and response.json()["code"] == "product_retired"


def test_a_patient_off_the_caseload_is_not_found(api, other_physician, payload):
    response = api(other_physician).post(URL, payload, format="json")
    assert response.status_code == 404
    assert not Prescription.objects.exists()


def test_a_draft_can_be_edited_and_limits_apply_to_edits(api, physician, draft):
    url = f"{URL}{draft.public_id}/"
    assert api(physician).patch(url, {"days_supply": 90}, format="json").json()["code"] == "days_supply_exceeds_limit"
    response = api(physician).patch(url, {"days_supply": 14, "directions": "Twice weekly."}, format="json")
    assert response.status_code == 200, response.json()
    draft.refresh_from_db()
    assert (draft.days_supply, draft.directions) == (14, "Twice weekly.")


def test_a_draft_can_be_discarded_but_a_signed_one_cannot(api, physician, draft):
    response = api(physician).post(f"{URL}{draft.public_id}/discard/")
    assert response.status_code == 200 and response.json()["status"] == "discarded"


def test_pharmacy_picker_lists_only_pharmacies_licensed_for_the_state(api, physician, pharmacy, fl_only_pharmacy):
    nj = api(physician).get("/api/v1/pharmacies/?state=NJ").json()["results"]
    fl = api(physician).get("/api/v1/pharmacies/?state=FL").json()["results"]
    assert [p["id"] for p in nj] == [str(pharmacy.public_id)]
    assert {p["id"] for p in fl} == {str(pharmacy.public_id), str(fl_only_pharmacy.public_id)}
    assert api(physician).get("/api/v1/pharmacies/?state=TX").status_code == 400


def test_an_expired_pharmacy_licence_removes_the_state(pharmacy):
    from datetime import date

    from prescriptions.selectors import pharmacies_allowed_for_state

    licence = pharmacy.state_licences.get(state="NJ")
    assert pharmacies_allowed_for_state(state="NJ", on=licence.expires_on).filter(pk=pharmacy.pk).exists()
    assert not pharmacies_allowed_for_state(state="NJ", on=date.fromordinal(licence.expires_on.toordinal() + 1))


def test_physician_list_filters_by_status_and_refuses_unknown_ones(api, physician, draft):
    assert api(physician).get(f"{URL}?status=draft").json()["count"] == 1
    assert api(physician).get(f"{URL}?status=signed").json()["count"] == 0
    assert api(physician).get(f"{URL}?status=bogus").status_code == 400
