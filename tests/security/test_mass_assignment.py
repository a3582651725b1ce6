"""Mass assignment: every writable request body is an explicit, reviewed list of fields, and
protected fields (owner, patient, status, role, prices, verification stamps) sent anyway
change nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

# Writable fields of every write operation. A new writable field fails this test until it is
# added here: a reviewed decision, not an accident of a ModelSerializer.
WRITABLE = {
    "POST /api/v1/appointments/": {"appointment_type", "idempotency_key", "location", "physician", "starts_at"},
    "POST /api/v1/appointments/{public_id}/complete/": {
        "assign_to_me",
        "attest_in_person",
        "modality",
        "others_present",
        "patient_state_at_visit",
        "practitioner_present",
        "visit_note",
    },
    "POST /api/v1/appointments/{public_id}/reschedule/": {"starts_at"},
    "POST /api/v1/assessments/": {
        "conditions",
        "consent_to_contact",
        "contact_email",
        "contact_name",
        "contact_phone",
        "contraindications",
        "county_fips",
        "date_of_birth",
        "gad7",
        "medications",
        "phq9",
        "treatments_tried",
        "zip_code",
    },
    "POST /api/v1/auth/account-deletion/": {"password", "reason"},
    "POST /api/v1/auth/logout/": {"refresh"},
    "POST /api/v1/auth/password/": {"current_password", "new_password"},
    "POST /api/v1/auth/password-reset/": {"email"},
    "POST /api/v1/auth/password-reset/confirm/": {"code", "new_password"},
    "POST /api/v1/auth/register/": {"email", "first_name", "last_name", "password"},
    "POST /api/v1/auth/token/": {"email", "password"},
    "POST /api/v1/auth/token/refresh/": {"refresh"},
    "POST /api/v1/billing/checkout-session/": {"price_id"},
    "POST /api/v1/billing/subscription/": {"price_id"},
    "POST /api/v1/billing/subscription/cancel/": {"subscription_id"},
    "POST /api/v1/billing/sandbox/pay/": {"card", "checkout_session_id", "client_secret"},
    "POST /api/v1/billing/staff/sandbox/renewal/": {"outcome", "patient"},
    "POST /api/v1/patient/pre-session-checks/": {
        "monitor_adult",
        "monitor_present",
        "monitor_sober",
        "pregnant_or_nursing",
        "readings",
        "rested_5_minutes",
    },
    "POST /api/v1/patient/prescriptions/{prescription_id}/refill-requests/": {"note"},
    "PUT /api/v1/patient/profile/": (
        PROFILE := {
            "address_line1",
            "address_line2",
            "assessment_id",
            "assessment_token",
            "city",
            "county_fips",
            "date_of_birth",
            "emergency_contact_name",
            "emergency_contact_phone",
            "emergency_contact_relationship",
            "legal_first_name",
            "legal_last_name",
            "monitor_adult_confirmed",
            "monitor_name",
            "monitor_phone",
            "monitor_relationship",
            "pharmacy_name",
            "pharmacy_phone",
            "phone",
            "state",
            "zip_code",
        }
    ),
    "PATCH /api/v1/patient/profile/": PROFILE,
    "POST /api/v1/patient/questionnaires/": {"answers", "client_submission_id", "instrument"},
    "POST /api/v1/physician/availability/exceptions/": {"date", "end_time", "kind", "location", "start_time"},
    "PATCH /api/v1/physician/availability/exceptions/{public_id}/": {
        "date",
        "end_time",
        "kind",
        "location",
        "start_time",
    },
    "POST /api/v1/physician/availability/weekly/": {"end_time", "location", "start_time", "weekday"},
    "PATCH /api/v1/physician/availability/weekly/{public_id}/": {"end_time", "location", "start_time", "weekday"},
    "POST /api/v1/staff/visit-locations/": (
        VISIT_LOCATION := {
            "address_line1",
            "address_line2",
            "city",
            "instructions",
            "is_active",
            "kind",
            "name",
            "state",
            "time_zone",
            "zip_code",
        }
    ),
    "PATCH /api/v1/staff/visit-locations/{public_id}/": VISIT_LOCATION,
    "PUT /api/v1/patient/headache-diary/{date}/": {
        "acute_medications",
        "aura",
        "features",
        "headache",
        "hours",
        "hours_lost",
        "peak_pain",
    },
    "POST /api/v1/patient/cluster-attacks/": {
        "autonomic_signs",
        "minutes",
        "relief",
        "side",
        "started_at",
        "treatment",
    },
    "PUT /api/v1/patient/diary-reminder/": {"enabled", "local_time"},
    "POST /api/v1/physician/patients/{patient_id}/in-person-evaluations/": {
        "evaluated_on",
        "home_visit",
        "location",
        "others_present",
        "place_address",
        "place_state",
    },
    "POST /api/v1/physician/in-person-evaluations/{evaluation_id}/void/": {"reason"},
    "POST /api/v1/physician/patients/{patient_id}/pdmp-checks/": {"checked_at", "result_summary", "state"},
    "POST /api/v1/physician/prescriptions/": (
        RX := {
            "days_supply",
            "directions",
            "dose",
            "first_fill_quantity",
            "pharmacy",
            "product",
            "quantity",
            "refills",
            "units_per_session",
            "sessions_per_day",
            "sessions_per_week",
        }
    )
    | {"patient", "supersedes"},
    "PATCH /api/v1/physician/prescriptions/{prescription_id}/": RX,
    "POST /api/v1/physician/prescriptions/{prescription_id}/sign/": {"password", "patient_pregnant_or_nursing"},
    "POST /api/v1/physician/prescriptions/{prescription_id}/sandbox-sign/": {"code", "outcome"},
    "POST /api/v1/physician/refill-requests/{refill_id}/approve/": {"note", "quantity"},
    # treatment: the patient's own session and check-in
    "POST /api/v1/patient/sessions/": {"monitor_attested"},
    "POST /api/v1/patient/sessions/{session_id}/check-in/": {
        "blood_in_urine",
        "blood_pressure",
        "did_not_drive",
        "dissociation",
        "dizziness",
        "headache",
        "nausea_vomiting",
        "notes",
        "overall",
        "urinary_pain",
    },
    "POST /api/v1/physician/refill-requests/{refill_id}/decline/": {"reason"},
    # messaging: a message and its optional file; the thread, sender and reply clock are the server's
    "POST /api/v1/patient/messages/": {"attachment", "body"},
    "POST /api/v1/care-team/patients/{patient_id}/messages/": {"attachment", "body"},
    # notifications: one's own device and choices (the owner is the signed-in user; the zone is not writable)
    "POST /api/v1/devices/": {"app_version", "platform", "token"},
    "PATCH /api/v1/me/notification-preferences/": {"channels", "quiet_hours_end", "quiet_hours_start", "sms_consent"},
    "POST /api/v1/physician/safety-flags/{flag_id}/resolve/": {"note"},
    "POST /api/v1/physician/patients/{patient_id}/screenings/": {"contraindications", "medications"},
    "POST /api/v1/physician/contraindications/{contraindication_id}/decision/": {"decision", "note"},
    # Staff screens: staff set statuses and credentials on purpose.
    "POST /api/v1/staff/delivery-orders/{order_id}/transition/": {"carrier", "note", "to", "tracking_number"},
    "POST /api/v1/staff/medications/": (
        MED := {
            "active",
            "dea_schedule",
            "dispensing_unit",
            "dosage_form",
            "heat_sensitive",
            "name",
            "route",
            "strength",
            "strength_unit",
        }
    ),
    "PATCH /api/v1/staff/medications/{product_id}/": MED,
    "POST /api/v1/staff/patients/{patient_id}/assign-physician/": {"physician_id"},
    "POST /api/v1/staff/physicians/": (
        DOC := {
            "accepting_new_patients",
            "new_patient_cap",
            "npi",
            "office_address_line1",
            "office_address_line2",
            "office_city",
            "office_state",
            "office_zip_code",
            "static_video_url",
            "time_zone",
        }
    )
    | {"physician"},
    "PATCH /api/v1/staff/physicians/{physician_id}/": DOC,
    "POST /api/v1/staff/physicians/{physician_id}/cds-registrations/": {"expires_on", "issued_on", "number", "status"},
    "PATCH /api/v1/staff/physicians/{physician_id}/cds-registrations/{credential_id}/": {
        "expires_on",
        "issued_on",
        "number",
        "status",
    },
    "POST /api/v1/staff/physicians/{physician_id}/dea-registrations/": (
        DEA := {"expires_on", "issued_on", "number", "schedules", "state", "status"}
    ),
    "PATCH /api/v1/staff/physicians/{physician_id}/dea-registrations/{credential_id}/": DEA | {"needs_verification"},
    "POST /api/v1/staff/physicians/{physician_id}/licences/": (
        LIC := {"expires_on", "issued_on", "kind", "number", "state", "status"}
    ),
    "PATCH /api/v1/staff/physicians/{physician_id}/licences/{credential_id}/": LIC,
}
# Never writable by a patient or a physician, whatever the endpoint.
PROTECTED = {
    "role",
    "staff_role",
    "is_staff",
    "is_superuser",
    "is_active",
    "owner",
    "status",
    "price",
    "amount",
    "amount_due",
    "amount_paid",
    "assigned_physician",
    "address_verified_at",
    "time_zone",
    "signed_at",
    "signed_by",
    "created_by",
    "tokens_valid_after",
    "verified",
    "needs_verification",
    "total",
    "band",
}


def _writable_fields():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    found = {}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in {"post", "put", "patch"}:
                continue
            ref = (operation.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema", {})
            ref = ref.get("$ref")
            props = components[ref.rsplit("/", 1)[1]].get("properties", {}) if ref else {}
            found[f"{method.upper()} {path}"] = {k for k, v in props.items() if not v.get("readOnly")}
    return found


def test_every_write_operation_has_a_reviewed_field_list():
    found = {op: fields for op, fields in _writable_fields().items() if fields}
    assert set(found) == set(WRITABLE), (
        f"new: {sorted(set(found) - set(WRITABLE))}, gone: {sorted(set(WRITABLE) - set(found))}"
    )
    for op, fields in found.items():
        assert fields == WRITABLE[op], f"{op}: writable fields changed: {sorted(fields ^ WRITABLE[op])}"


def test_patients_and_physicians_cannot_write_protected_fields():
    for op, fields in _writable_fields().items():
        if "/staff/" in op:
            continue
        assert not fields & PROTECTED, f"{op} accepts protected fields {sorted(fields & PROTECTED)}"


@pytest.mark.django_db
def test_patching_protected_profile_fields_changes_nothing(api, patient, physician, other_physician):
    from tests.patients.factories import PatientProfileFactory

    profile = PatientProfileFactory(user=patient, assigned_physician=physician)
    verified_at = profile.address_verified_at
    response = api(patient).patch(
        "/api/v1/patient/profile/",
        {
            "assigned_physician": str(other_physician.public_id),
            "time_zone": "America/Chicago",
            "address_verified_at": "2000-01-01T00:00:00Z",
            "user": str(physician.public_id),
            "legal_first_name": "Al",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    profile.refresh_from_db()
    assert profile.legal_first_name == "Al"  # the allowed field did change
    assert (profile.assigned_physician, profile.time_zone, profile.address_verified_at, profile.user) == (
        physician,
        "America/New_York",
        verified_at,
        patient,
    )


@pytest.mark.django_db
def test_patching_protected_prescription_fields_changes_nothing(api, patient, physician, other_patient):
    from tests.patients.factories import PatientProfileFactory
    from tests.prescriptions.factories import PrescriptionFactory

    PatientProfileFactory(user=patient, assigned_physician=physician)
    rx = PrescriptionFactory(patient=patient, physician=physician)
    response = api(physician).patch(
        f"/api/v1/physician/prescriptions/{rx.public_id}/",
        {
            "status": "signed",
            "signed_at": timezone.now().isoformat(),
            "patient": str(other_patient.public_id),
            "physician": str(other_patient.public_id),
            "dose": "50 mg",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    rx.refresh_from_db()
    assert rx.dose == "50 mg"
    assert (rx.status, rx.signed_at, rx.patient, rx.physician) == ("draft", None, patient, physician)


@pytest.mark.django_db
def test_questionnaire_score_is_computed_not_taken(api, patient):
    from tests.patients.factories import PatientProfileFactory

    PatientProfileFactory(user=patient)
    response = api(patient).post(
        "/api/v1/patient/questionnaires/",
        {"instrument": "phq9", "answers": [0] * 9, "total": 27, "band": "severe", "patient": "someone-else"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["total"], body["band"]) == (0, "minimal")


@pytest.mark.django_db
def test_booking_ignores_patient_and_status_in_the_body(api, patient, other_patient):
    response = api(patient).post(
        "/api/v1/appointments/",
        {
            "patient": str(other_patient.public_id),
            "status": "completed",
            "starts_at": (timezone.now() + timedelta(days=2)).isoformat(),
        },
        format="json",
    )
    from scheduling.models import Appointment

    assert response.status_code >= 400  # incomplete booking refused...
    assert not Appointment.objects.filter(patient=other_patient).exists()  # ...and nothing booked for B
