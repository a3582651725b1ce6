"""Minimum necessary: each staff sub-role sees what its work needs, and 404 for the rest
(docs/roles-and-access.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, AuditEvent, Role, StaffRole, User
from tests.patients.factories import PatientProfileFactory, QuestionnaireFactory, SafetyFlagFactory
from tests.prescriptions.factories import DeliveryOrderFactory, SignedPrescriptionFactory
from tests.scheduling.factories import AppointmentFactory

NOTE = "Discussed dissociation at 56 mg; plan unchanged."


@pytest.fixture
def chart(patient, physician):
    """Patient A on the physician's caseload, with a questionnaire, an open flag, a visit with a
    note, and a delivery order."""
    PatientProfileFactory(user=patient, assigned_physician=physician)
    rx = SignedPrescriptionFactory(patient=patient, physician=physician)
    starts = (timezone.now() - dt.timedelta(days=2)).replace(second=0, microsecond=0)
    return {
        "questionnaire": QuestionnaireFactory(patient=patient),
        "flag": SafetyFlagFactory(patient=patient),
        "visit": AppointmentFactory(patient=patient, physician=physician, starts_at=starts, visit_note=NOTE),
        "order": DeliveryOrderFactory(prescription=rx, ship_to_name="Alice Anders", ship_to_line1="1 Ocean Drive"),
    }


def urls(patient, chart) -> dict[str, str]:
    visit = chart["visit"].public_id
    return {
        "questionnaires": f"/api/v1/physician/patients/{patient.public_id}/questionnaires/",
        "vitals": f"/api/v1/physician/patients/{patient.public_id}/vitals/",
        "appointment": f"/api/v1/appointments/{visit}/",
        "visit_note": f"/api/v1/appointments/{visit}/visit-note/",
        "flags": "/api/v1/physician/safety-flags/",
        "orders": "/api/v1/staff/delivery-orders/",
        "order": f"/api/v1/staff/delivery-orders/{chart['order'].public_id}/",
        "past_due": "/api/v1/billing/staff/past-due/",
        "review_queue": "/api/v1/staff/review-queue/",
        "physicians": "/api/v1/staff/physicians/",
    }


def _status(api, user, url) -> int:
    return api(user).get(url).status_code


def test_url_shapes_are_the_real_routes(patient, chart):
    # Guard for the tests below: a 404 there means "not yours", never a mistyped URL.
    from django.urls import resolve

    for url in urls(patient, chart).values():
        resolve(url)


def test_pharmacy_liaison_gets_404_on_questionnaires_visit_notes_and_flags(api, pharmacy_liaison, patient, chart):
    u = urls(patient, chart)
    for name in ("questionnaires", "vitals", "appointment", "visit_note", "flags", "past_due", "review_queue"):
        response = api(pharmacy_liaison).get(u[name])
        assert response.status_code == 404, name
        assert response.json()["code"] == "not_found"
    assert _status(api, pharmacy_liaison, "/api/v1/appointments/") == 404


def test_pharmacy_liaison_works_orders_and_sees_name_and_shipping_address(api, pharmacy_liaison, patient, chart):
    u = urls(patient, chart)
    assert api(pharmacy_liaison).get(u["orders"]).json()["count"] == 1
    order = api(pharmacy_liaison).get(u["order"]).json()
    assert (order["ship_to_name"], order["ship_to_line1"]) == ("Alice Anders", "1 Ocean Drive")
    moved = api(pharmacy_liaison).post(u["order"] + "transition/", {"to": "sent_to_pharmacy"}, format="json")
    assert moved.status_code == 200, moved.json()


def test_care_coordinator_sees_the_visit_but_404_on_its_note_and_the_chart(api, staff, patient, chart):
    u = urls(patient, chart)
    visit = api(staff).get(u["appointment"])
    assert visit.status_code == 200
    assert visit.json()["visit_note"] is None
    assert NOTE not in visit.content.decode()
    for name in ("visit_note", "questionnaires", "vitals"):
        assert _status(api, staff, u[name]) == 404, name


def test_care_coordinator_sees_scheduling_billing_standing_flags_and_queues(api, staff, patient, chart):
    u = urls(patient, chart)
    for name in ("flags", "past_due", "review_queue", "orders", "physicians"):
        assert _status(api, staff, u[name]) == 200, name
    assert api(staff).get(u["flags"]).json()["count"] == 1


def test_medical_director_reads_every_patients_chart_and_visit_notes(api, medical_director, patient, chart):
    u = urls(patient, chart)
    note = api(medical_director).get(u["visit_note"])
    assert note.status_code == 200
    assert note.json()["visit_note"] == NOTE
    assert api(medical_director).get(u["appointment"]).json()["visit_note"] == NOTE
    assert api(medical_director).get(u["questionnaires"]).json()["count"] == 1
    assert api(medical_director).get(u["flags"]).json()["count"] == 1
    assert AuditEvent.objects.filter(actor=medical_director, detail="visit_note").count() == 1


def test_medical_director_has_no_billing_or_delivery_board(api, medical_director, patient, chart):
    u = urls(patient, chart)
    for name in ("past_due", "orders", "order"):
        assert _status(api, medical_director, u[name]) == 404, name


def test_administrator_manages_accounts_and_sees_no_patient_records(api, admin_user, patient, chart):
    u = urls(patient, chart)
    for name in ("questionnaires", "appointment", "visit_note", "flags", "orders", "order", "past_due", "review_queue"):
        assert _status(api, admin_user, u[name]) == 404, name
    assert _status(api, admin_user, u["physicians"]) == 200


def test_physician_reads_the_note_of_their_visit_and_not_of_another_physicians(
    api, physician, other_physician, patient, chart
):
    u = urls(patient, chart)
    assert api(physician).get(u["visit_note"]).json()["visit_note"] == NOTE
    assert _status(api, other_physician, u["visit_note"]) == 404


def test_the_patient_sees_their_visit_without_the_note(api, patient, chart):
    u = urls(patient, chart)
    assert api(patient).get(u["appointment"]).json()["visit_note"] is None
    assert _status(api, patient, u["visit_note"]) == 404


def test_audit_rows_name_the_staff_sub_role(pharmacy_liaison, patient, chart):
    (row,) = audit_log(None, AuditAction.READ, chart["order"], actor=pharmacy_liaison)
    assert row.actor_role == "pharmacy_liaison"


def test_a_staff_account_created_without_a_sub_role_is_a_care_coordinator(db):
    user = User.objects.create_user("new.staff@example.test", "x-Long-password-1", role=Role.STAFF)
    assert user.staff_role == StaffRole.CARE_COORDINATOR
    assert user.access_role == "care_coordinator"


def test_only_staff_accounts_carry_a_sub_role(db):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="p@example.test", role=Role.PATIENT, staff_role=StaffRole.MEDICAL_DIRECTOR)


def test_existing_staff_become_care_coordinators_except_the_demo_pharmacy_liaison(db):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("accounts.migrations.0005_existing_staff_sub_roles")
    old = User.objects.create(email="old.staff@example.test", role=Role.STAFF)
    demo = User.objects.create(email="pharmacy@demo.practice.example", role=Role.STAFF)
    director = User.objects.create(email="md@example.test", role=Role.STAFF, staff_role=StaffRole.MEDICAL_DIRECTOR)
    migration.forwards(apps, None)
    staff_roles = dict(User.objects.filter(role=Role.STAFF).values_list("email", "staff_role"))
    assert staff_roles[old.email] == "care_coordinator"
    assert staff_roles[demo.email] == "pharmacy_liaison"
    assert staff_roles[director.email] == "medical_director"
    migration.backwards(apps, None)
    assert set(User.objects.filter(role=Role.STAFF).values_list("staff_role", flat=True)) == {""}


def test_me_says_which_role_decides_what_the_user_sees(api, pharmacy_liaison, patient):
    assert api(pharmacy_liaison).get("/api/v1/auth/me/").json()["access_role"] == "pharmacy_liaison"
    assert api(patient).get("/api/v1/auth/me/").json()["access_role"] == "patient"


def test_the_docs_table_of_capabilities_is_the_code():
    import re
    from pathlib import Path

    from accounts import scopes

    text = (Path(__file__).resolve().parents[2] / "docs" / "roles-and-access.md").read_text()
    documented = {}
    for line in text.splitlines():
        match = re.match(r"^\| `(\w+)`[^|]*\|(.*)\|$", line)
        if match:
            cells = [c.strip().split(" ")[0] or "none" for c in match.group(2).split("|")]
            documented[match.group(1)] = dict(zip(scopes.ACCESS_ROLES, cells, strict=True))
    assert documented == {c.value: {r: scopes.REACH[r].get(c, scopes.Reach.NONE).value
                                    for r in scopes.ACCESS_ROLES} for c in scopes.Capability}  # fmt: skip


def test_forms_ask_staff_for_a_sub_role_and_refuse_one_for_anyone_else(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as staff_without:
        User(email="s@example.test", role=Role.STAFF).clean()
    assert staff_without.value.error_dict["staff_role"][0].code == "required"
    with pytest.raises(ValidationError) as physician_with:
        User(email="d@example.test", role=Role.PHYSICIAN, staff_role=StaffRole.MEDICAL_DIRECTOR).clean()
    assert physician_with.value.error_dict["staff_role"][0].code == "invalid"
