"""Who sees what: patients their own, physicians their caseload, staff per role; everything else 404.
Every read of these records leaves audit rows (one per record in a list)."""

import uuid

import pytest
from django.core import mail

from accounts.models import AuditEvent
from patients.models import Assessment, SafetyFlag, VitalReading
from tests.patients.factories import PatientProfileFactory, QuestionnaireFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(profile, other_profile):
    """Two questionnaires and a reading for each patient."""
    for p in (profile, other_profile):
        QuestionnaireFactory(patient=p.user, answers=[2] * 9, is_baseline=True)
        QuestionnaireFactory(patient=p.user, answers=[1] * 9)
        VitalReading.objects.create(patient=p.user, systolic=120, diastolic=80)
    return profile, other_profile


def qurl(user):
    return f"/api/v1/physician/patients/{user.public_id}/questionnaires/"


def vurl(user):
    return f"/api/v1/physician/patients/{user.public_id}/vitals/"


def test_physician_reads_a_caseload_patients_questionnaires_and_each_row_is_audited(api, records, physician):
    profile, _ = records
    response = api(physician).get(qurl(profile.user))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["total"] for r in rows] == [9, 18]
    assert rows[0]["change_from_baseline"] == -9 and rows[0]["response"] is True
    audited = AuditEvent.objects.filter(actor=physician, action="read", object_type="patients.questionnaireresponse")
    assert audited.count() == 2 and set(audited.values_list("patient_id", flat=True)) == {profile.user_id}


def test_physician_gets_404_for_a_patient_outside_the_caseload(api, records, physician):
    _, other = records
    assert api(physician).get(qurl(other.user)).status_code == 404
    assert api(physician).get(vurl(other.user)).status_code == 404
    assert api(physician).get(qurl(physician)).status_code == 404  # not a patient
    assert api(physician).get(f"/api/v1/physician/patients/{uuid.uuid4()}/vitals/").status_code == 404
    assert not AuditEvent.objects.filter(actor=physician, action="read").exists()


def test_medical_director_reads_any_patients_history(api, records, medical_director):
    _, other = records
    assert api(medical_director).get(qurl(other.user)).json()["count"] == 2
    response = api(medical_director).get(vurl(other.user))
    assert response.json()["count"] == 1
    audited = AuditEvent.objects.filter(actor=medical_director, action="read", object_type="patients.vitalreading")
    assert audited.count() == 1


@pytest.mark.parametrize("who", ["staff", "pharmacy_liaison", "admin_user"])
def test_coordinators_liaisons_and_administrators_get_404_for_any_patients_history(api, records, request, who):
    user = request.getfixturevalue(who)
    _, other = records
    assert api(user).get(qurl(other.user)).status_code == 404
    assert api(user).get(vurl(other.user)).status_code == 404
    assert not AuditEvent.objects.filter(actor=user).exists()


def test_patient_cannot_use_care_team_endpoints_even_for_themselves(api, records):
    profile, other = records
    assert api(profile.user).get(qurl(profile.user)).status_code == 404
    assert api(profile.user).get(vurl(other.user)).status_code == 404


def test_patient_lists_only_their_own_records(api, records):
    profile, other = records
    q = api(profile.user).get("/api/v1/patient/questionnaires/").json()
    v = api(profile.user).get("/api/v1/patient/vitals/").json()
    assert q["count"] == 2 and v["count"] == 1
    own_ids = set(map(str, profile.user.questionnaires.values_list("public_id", flat=True)))
    assert {r["questionnaire_id"] for r in q["results"]} == own_ids
    assert AuditEvent.objects.filter(actor=profile.user, action="read", patient=other.user).count() == 0


def test_care_team_list_is_constant_queries(api, records, medical_director, django_assert_max_num_queries):
    profile, _ = records
    for _ in range(5):
        QuestionnaireFactory(patient=profile.user, answers=[0] * 9)
    client = api(medical_director)
    with django_assert_max_num_queries(8):
        response = client.get(qurl(profile.user))
    assert response.json()["count"] == 7


# --- safety flags ---------------------------------------------------------------------------


@pytest.fixture
def flags(profile, other_profile):
    return (
        SafetyFlag.objects.create(patient=profile.user, kind="phq9_item9"),
        SafetyFlag.objects.create(patient=other_profile.user, kind="bp_hold"),
    )


def test_physician_sees_open_flags_of_their_caseload_staff_see_all(api, flags, physician, staff):
    mine, theirs = flags
    assert [f["flag_id"] for f in api(physician).get("/api/v1/physician/safety-flags/").json()["results"]] == [
        str(mine.public_id)
    ]
    assert api(staff).get("/api/v1/physician/safety-flags/").json()["count"] == 2
    assert AuditEvent.objects.filter(actor=staff, object_type="patients.safetyflag", action="read").count() == 2


def test_flag_list_is_constant_queries(api, staff, flags, django_assert_max_num_queries):
    for i in range(4):
        SafetyFlag.objects.create(patient=PatientProfileFactory(user__email=f"p{i}@example.test").user, kind="bp_hold")
    client = api(staff)
    with django_assert_max_num_queries(6):
        assert client.get("/api/v1/physician/safety-flags/").json()["count"] == 6


def resolve(client, flag, note="Spoke with the patient; safety plan reviewed; cleared to continue."):
    return client.post(f"/api/v1/physician/safety-flags/{flag.public_id}/resolve/", {"note": note}, format="json")


def test_assigned_physician_resolves_with_a_note_encrypted_at_rest(api, flags, physician):
    from django.db import connection

    mine, _ = flags
    response = resolve(api(physician), mine)
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "resolved"
    mine.refresh_from_db()
    assert (mine.resolved_by, mine.resolution_note[:5]) == (physician, "Spoke")
    with connection.cursor() as cursor:
        cursor.execute("SELECT resolution_note FROM patients_safetyflag WHERE id = %s", [mine.pk])
        stored = cursor.fetchone()[0]
    assert "safety plan" not in stored
    assert AuditEvent.objects.filter(actor=physician, action="update", object_id=str(mine.pk)).exists()


def test_resolving_twice_is_a_conflict(api, flags, physician):
    mine, _ = flags
    resolve(api(physician), mine)
    response = resolve(api(physician), mine)
    assert response.status_code == 409 and response.json()["code"] == "flag_already_resolved"


def test_other_physician_gets_404_staff_and_patients_cannot_resolve(api, flags, other_physician, staff, patient):
    mine, _ = flags
    assert resolve(api(other_physician), mine).status_code == 404
    assert resolve(api(staff), mine).status_code == 403
    assert resolve(api(patient), mine).status_code == 403
    mine.refresh_from_db()
    assert mine.status == "open"


def test_a_blank_note_is_a_field_error(api, flags, physician):
    mine, _ = flags
    response = resolve(api(physician), mine, note="   ")
    assert response.status_code == 400 and response.json()["fields"]["note"][0]["code"] == "blank"


def test_alerts_for_a_patient_without_physician_go_to_the_care_team(settings, patient, on_commit):
    from patients.services.safety import safety_flag_raise

    settings.CARE_TEAM_ALERT_EMAILS = ["oncall@practice.example"]
    with on_commit():
        safety_flag_raise(patient=patient, kind="bp_hold")
    assert [m.to for m in mail.outbox] == [["oncall@practice.example"]]


def test_alert_task_run_twice_sends_once(settings, profile, on_commit):
    from patients.services.safety import safety_flag_raise
    from patients.tasks import send_safety_flag_alerts

    settings.CARE_TEAM_ALERT_EMAILS = ["oncall@practice.example"]
    with on_commit():
        flag = safety_flag_raise(patient=profile.user, kind="phq9_item9").flag
    with on_commit():
        send_safety_flag_alerts(flag.pk)  # an old queued message: its rows exist, nothing new
    assert len(mail.outbox) == 2


def test_a_failed_alert_send_stays_in_the_outbox_for_a_retry(settings, profile, monkeypatch, on_commit):
    from accounts import notifications as backends
    from notifications.models import Delivery
    from notifications.outbox import sweep
    from patients.services.safety import safety_flag_raise

    settings.CARE_TEAM_ALERT_EMAILS = []

    def broken(**kwargs):
        raise ConnectionError("smtp down")

    monkeypatch.setattr(backends, "send_email", broken)
    with on_commit():
        safety_flag_raise(patient=profile.user, kind="phq9_item9")
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "ConnectionError")
    monkeypatch.undo()
    assert sweep(token="t", now=delivery.next_attempt_at)["Delivery"] == 1
    delivery.refresh_from_db()
    assert delivery.status == "sent" and [m.to for m in mail.outbox] == [[profile.assigned_physician.email]]


# --- staff review queue and caseload assignment ----------------------------------------------


def test_review_queue_lists_assessments_needing_review_and_unassigned_registrations(api, anon_client, staff, patient):
    base = {"zip_code": "33139", "date_of_birth": "1980-01-01", "conditions": ["ptsd"], "treatments_tried": []}
    anon_client.post("/api/v1/assessments/", {**base, "contraindications": ["seizures"], "medications": []})
    anon_client.post("/api/v1/assessments/", {**base, "contraindications": [], "medications": []})
    PatientProfileFactory(user=patient)
    client = api(staff)
    assert client.get("/api/v1/staff/review-queue/").json() == {
        "assessments": 1,
        "registrations": 1,
        "open_safety_flags": 0,
    }
    rows = client.get("/api/v1/staff/review-queue/assessments/").json()["results"]
    assert [r["reasons"][0]["code"] for r in rows] == ["seizures"]
    registrations = client.get("/api/v1/staff/review-queue/registrations/").json()["results"]
    assert [r["patient_id"] for r in registrations] == [str(patient.public_id)]
    reviewed = client.post(f"/api/v1/staff/assessments/{rows[0]['assessment_id']}/mark-reviewed/")
    assert reviewed.status_code == 200
    assert Assessment.objects.filter(reviewed_by=staff).count() == 1
    assert client.get("/api/v1/staff/review-queue/").json()["assessments"] == 0


def test_review_queue_is_for_coordinators_and_the_medical_director_only(
    api, physician, patient, pharmacy_liaison, admin_user, medical_director
):
    for user in (physician, patient, pharmacy_liaison, admin_user):
        assert api(user).get("/api/v1/staff/review-queue/").status_code == 404
        assert api(user).get("/api/v1/staff/review-queue/assessments/").status_code == 404
    assert api(medical_director).get("/api/v1/staff/review-queue/").status_code == 200


def test_staff_assigns_a_licensed_physician(api, staff, patient, other_physician):
    from tests.practice.factories import StateLicenseFactory

    StateLicenseFactory(physician=other_physician, state="FL")
    PatientProfileFactory(user=patient)
    response = api(staff).post(
        f"/api/v1/staff/patients/{patient.public_id}/assign-physician/",
        {"physician_id": str(other_physician.public_id)},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["assigned_physician_id"] == str(other_physician.public_id)


def test_assigning_a_physician_without_a_licence_in_the_patients_state_is_refused(api, staff, patient, physician):
    PatientProfileFactory(user=patient)
    response = api(staff).post(
        f"/api/v1/staff/patients/{patient.public_id}/assign-physician/",
        {"physician_id": str(physician.public_id)},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["code"] == "physician_unavailable"
    assert "no_licence" in [r["code"] for r in response.json()["reasons"]]


def test_admin_views_of_patient_records_are_audited_and_read_only(medical_director, records):
    from django.test import Client

    profile, _ = records
    response_row = profile.user.questionnaires.first()
    client = Client()
    client.force_login(medical_director)
    assert client.get("/admin/patients/questionnaireresponse/").status_code == 200
    page = client.get(f"/admin/patients/questionnaireresponse/{response_row.pk}/change/")
    assert page.status_code == 200
    assert AuditEvent.objects.filter(
        actor=medical_director, action="read", object_id=str(response_row.pk), detail="admin"
    ).exists()
    posted = client.post(f"/admin/patients/questionnaireresponse/{response_row.pk}/delete/", {"post": "yes"})
    assert posted.status_code == 403
    assert client.get("/admin/patients/safetyflag/").status_code == 200


def test_every_patients_admin_page_renders(medical_director, records, flags):
    from django.test import Client

    from patients.models import ConsentDocument

    client = Client()
    client.force_login(medical_director)
    pages = {
        "patientprofile": records[0].pk,
        "questionnaireresponse": records[0].user.questionnaires.first().pk,
        "vitalreading": VitalReading.objects.first().pk,
        "safetyflag": flags[0].pk,
        "consentdocument": ConsentDocument.objects.first().pk,
    }
    for model, pk in pages.items():
        assert client.get(f"/admin/patients/{model}/").status_code == 200, model
        assert client.get(f"/admin/patients/{model}/{pk}/change/").status_code == 200, model
    for model in ("assessment", "consentsignature", "alertdelivery", "presessioncheck"):
        assert client.get(f"/admin/patients/{model}/").status_code == 200, model
