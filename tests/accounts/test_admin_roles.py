"""The admin site by role: each demo back-office account signs in and sees its own pages, listed
with the API's scopes (docs/roles-and-access.md#the-admin-site)."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts import scopes
from accounts.models import User
from seeds.demo import DEMO_PASSWORD
from seeds.demo import accounts as demo_accounts
from tests.patients.factories import PatientProfileFactory, QuestionnaireFactory
from tests.prescriptions.factories import DeliveryOrderFactory

pytestmark = pytest.mark.django_db

NOTHING = "have permission to view or edit anything"
PAGES = {
    "staff@demo.practice.example": {
        "sees": ["scheduling/appointment", "patients/safetyflag", "patients/assessment", "billing/subscription",
                 "prescriptions/deliveryorder", "practice/statelicense"],
        "not": ["patients/questionnaireresponse", "prescriptions/prescription", "accounts/user", "auth/group",
                "prescriptions/prescribingpolicy"],
    },
    "pharmacy@demo.practice.example": {
        "sees": ["prescriptions/deliveryorder", "prescriptions/pharmacy", "prescriptions/medicationproduct"],
        "not": ["patients/patientprofile", "patients/questionnaireresponse", "patients/safetyflag",
                "scheduling/appointment", "billing/subscription", "accounts/user", "auth/group"],
    },
    "director@demo.practice.example": {
        "sees": ["prescriptions/prescribingpolicy", "practice/statelicense", "practice/dearegistration",
                 "patients/questionnaireresponse", "prescriptions/prescription"],
        "not": ["billing/subscription", "prescriptions/deliveryorder", "accounts/user", "auth/group"],
    },
    "admin@demo.practice.example": {
        "sees": ["accounts/user", "auth/group", "accounts/auditevent"],
        "not": ["patients/patientprofile", "patients/questionnaireresponse", "prescriptions/deliveryorder",
                "billing/subscription", "scheduling/appointment"],
    },
}  # fmt: skip


@pytest.fixture
def demo():
    demo_accounts.run(io.StringIO())
    return {u.email: u for u in User.objects.filter(email__in=PAGES)}


def signed_in(email: str) -> Client:
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/admin/", email
    return client


def test_each_role_has_its_admin_group():
    assert set(Group.objects.values_list("name", flat=True)) >= set(scopes.ADMIN_GROUPS.values())


def test_demo_back_office_accounts_have_their_sub_roles_and_none_is_a_superuser(demo):
    roles = {email: user.access_role for email, user in demo.items()}
    assert roles == {
        "staff@demo.practice.example": "care_coordinator",
        "pharmacy@demo.practice.example": "pharmacy_liaison",
        "director@demo.practice.example": "medical_director",
        "admin@demo.practice.example": "admin",
    }
    assert not any(user.is_superuser for user in demo.values())


@pytest.mark.parametrize("email", list(PAGES))
def test_demo_staff_sign_in_to_the_admin_and_see_their_pages(demo, email):
    client = signed_in(email)
    page = client.get("/admin/")
    assert page.status_code == 200
    body = page.content.decode()
    assert NOTHING not in body
    for model in PAGES[email]["sees"]:
        assert f"/admin/{model}/" in body, f"{email} should see {model}"
        assert client.get(f"/admin/{model}/").status_code == 200, model
    for model in PAGES[email]["not"]:
        assert f"/admin/{model}/" not in body, f"{email} should not see {model}"


def test_pages_of_other_roles_are_refused(demo):
    liaison = signed_in("pharmacy@demo.practice.example")
    for model in PAGES["pharmacy@demo.practice.example"]["not"]:
        assert liaison.get(f"/admin/{model}/").status_code == 403, model


def test_only_the_administrator_manages_users_and_groups(demo):
    for email in PAGES:
        user = demo[email]
        assert user.has_perm("accounts.change_user") is (email == "admin@demo.practice.example")
        assert user.has_perm("auth.change_group") is (email == "admin@demo.practice.example")


def test_a_role_change_changes_the_admin_pages_at_once(demo):
    coordinator = User.objects.get(email="staff@demo.practice.example")
    assert coordinator.has_perm("billing.view_subscription")
    coordinator.staff_role = "pharmacy_liaison"
    coordinator.save()
    coordinator = User.objects.get(pk=coordinator.pk)  # permissions are cached per instance
    assert not coordinator.has_perm("billing.view_subscription")
    assert coordinator.has_perm("prescriptions.change_pharmacy")


def test_admin_lists_follow_the_api_scope_even_for_a_superuser(demo, patient, admin_user):
    PatientProfileFactory(user=patient)
    QuestionnaireFactory(patient=patient)
    director = signed_in("director@demo.practice.example")
    assert "1 questionnaire response" in director.get("/admin/patients/questionnaireresponse/").content.decode()
    superuser = Client()
    superuser.force_login(admin_user)  # an administrator with every model permission
    body = superuser.get("/admin/patients/questionnaireresponse/").content.decode()
    assert "0 questionnaire responses" in body


def test_the_pharmacy_liaison_sees_the_name_and_ship_to_address_on_an_order(demo):
    order = DeliveryOrderFactory(ship_to_name="Alice Anders", ship_to_line1="1 Ocean Drive")
    page = signed_in("pharmacy@demo.practice.example").get(f"/admin/prescriptions/deliveryorder/{order.pk}/change/")
    assert page.status_code == 200
    assert "Alice Anders" in page.content.decode() and "1 Ocean Drive" in page.content.decode()
