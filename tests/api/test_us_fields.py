"""US addresses are checked by django-localflavor, the same way in the models (admin forms,
full_clean) and in the API's serializers (docs/api-conventions.md)."""

import pytest
from django.core.exceptions import ValidationError
from django.forms import modelform_factory

from prescriptions.models import Pharmacy
from scheduling.models import VisitLocation

pytestmark = pytest.mark.django_db
URL = "/api/v1/staff/visit-locations/"


def _office(**overrides):
    body = {"name": "Tampa office", "address_line1": "100 N Tampa St", "city": "Tampa", "state": "FL"}
    return {**body, **overrides}


@pytest.mark.parametrize("zip_code", ["33602", "33602-1234"])
def test_a_five_digit_or_zip_plus_four_is_accepted(api, staff, zip_code):
    response = api(staff).post(URL, _office(zip_code=zip_code), format="json")
    assert response.status_code == 201, response.json()
    assert VisitLocation.objects.get(name="Tampa office").zip_code == zip_code


@pytest.mark.parametrize("zip_code", ["3360", "336021", "33602-12", "ABCDE", "33602 1234x"])
def test_a_malformed_zip_is_a_field_error_and_nothing_is_stored(api, staff, zip_code):
    response = api(staff).post(URL, _office(zip_code=zip_code), format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["zip_code"][0]["code"] == "invalid"
    assert not VisitLocation.objects.filter(name="Tampa office").exists()


def test_the_admin_form_refuses_a_state_or_zip_that_does_not_exist():
    form_class = modelform_factory(Pharmacy, fields=["name", "email", "state", "zip_code"])
    form = form_class(data={"name": "Somewhere Rx", "email": "rx@example.test", "state": "ZZ", "zip_code": "1234"})
    assert not form.is_valid() and {"state", "zip_code"} <= set(form.errors)
    ok = form_class(data={"name": "Somewhere Rx", "email": "rx@example.test", "state": "TX", "zip_code": "75201"})
    assert ok.is_valid(), ok.errors


def test_model_validation_refuses_a_state_that_does_not_exist():
    pharmacy = Pharmacy(name="Somewhere Rx", email="rx@example.test", state="ZZ")
    with pytest.raises(ValidationError) as refused:
        pharmacy.full_clean(exclude=["ncpdp_id"])
    assert "state" in refused.value.error_dict
