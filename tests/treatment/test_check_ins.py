"""Post-session check-ins: once, within the window, flags through the safety-flag service with
the item-9 alert rules, free text encrypted at rest (docs/treatment.md#check-ins)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from patients.models import SafetyFlag, SafetyFlagKind, VitalReading
from tests.treatment.conftest import check_in, go_check, run_session, start
from treatment.models import SessionCheckIn, TreatmentPolicy

pytestmark = pytest.mark.django_db


def test_check_in_is_stored_with_its_answers(api, patient, rx, fill, clock):
    session_id = run_session(api, patient, clock)
    response = check_in(api, patient, session_id, nausea_vomiting=True, overall=6)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["check_in"]["nausea_vomiting"] is True and body["check_in"]["flags"] == []
    assert body["instructions"] == []
    listed = api(patient).get("/api/v1/patient/sessions/").json()["results"][0]
    assert listed["check_in_status"] == "done" and listed["check_in"]["overall"] == 6


def test_free_text_is_encrypted_at_rest(api, patient, rx, fill, clock):
    session_id = run_session(api, patient, clock)
    check_in(api, patient, session_id, notes="Felt floaty for an hour")
    with connection.cursor() as cursor:
        cursor.execute("SELECT notes FROM treatment_sessioncheckin")
        (raw,) = cursor.fetchone()
    assert "floaty" not in raw
    assert SessionCheckIn.objects.get().notes == "Felt floaty for an hour"


def test_severe_dissociation_opens_one_flag_and_alerts_once(
    api, patient, physician, rx, fill, clock, django_capture_on_commit_callbacks, mailoutbox
):
    session_id = run_session(api, patient, clock)
    with django_capture_on_commit_callbacks(execute=True):
        response = check_in(api, patient, session_id, dissociation=9)
    assert response.status_code == 201
    assert response.json()["check_in"]["flag_reasons"] == ["severe_dissociation"]
    assert len(response.json()["instructions"]) == 1
    SafetyFlag.objects.get(kind=SafetyFlagKind.SEVERE_DISSOCIATION)
    # The item-9 rules: the assigned physician and the on-call care team, once each.
    from notifications.models import Delivery

    recipients = set(
        Delivery.objects.filter(kind="safety_alert", status="sent", channel="email").values_list("address", flat=True)
    )
    assert recipients == {physician.email, "care-team@practice.example"}
    sent = len(mailoutbox)
    with django_capture_on_commit_callbacks(execute=True):
        again = check_in(api, patient, session_id, dissociation=10)
    assert again.status_code == 409 and again.json()["code"] == "already_checked_in"
    assert SafetyFlag.objects.count() == 1 and SafetyFlag.objects.get().trigger_count == 1
    assert len(mailoutbox) == sent
    # and the flag now holds dosing
    go_check(patient)
    assert start(api, patient).status_code == 422


def test_dissociation_below_the_threshold_opens_nothing(api, patient, rx, fill, clock):
    session_id = run_session(api, patient, clock)
    assert check_in(api, patient, session_id, dissociation=7).status_code == 201
    assert not SafetyFlag.objects.exists()


def test_the_threshold_is_the_policy_rows(api, patient, rx, fill, clock):
    TreatmentPolicy.objects.create(effective_from="2026-11-01", dissociation_flag_at=6)
    session_id = run_session(api, patient, clock)
    check_in(api, patient, session_id, dissociation=6)
    assert SafetyFlag.objects.filter(kind=SafetyFlagKind.SEVERE_DISSOCIATION).exists()


@pytest.mark.parametrize("answer", ["urinary_pain", "blood_in_urine"])
def test_urinary_symptoms_open_a_cystitis_flag(api, patient, rx, fill, clock, answer):
    session_id = run_session(api, patient, clock)
    response = check_in(api, patient, session_id, **{answer: True})
    assert response.json()["check_in"]["flag_reasons"] == ["urinary_symptoms"]
    assert SafetyFlag.objects.filter(kind=SafetyFlagKind.URINARY_SYMPTOMS, patient=patient).count() == 1


def test_blood_pressure_goes_through_the_vitals_rules(api, patient, rx, fill, clock):
    session_id = run_session(api, patient, clock)
    response = check_in(api, patient, session_id, blood_pressure={"systolic": 184, "diastolic": 100})
    assert response.status_code == 201
    assert response.json()["check_in"]["flag_reasons"] == ["bp_emergency"]
    assert response.json()["check_in"]["blood_pressure"] == {"systolic": 184, "diastolic": 100}
    assert "911" in response.json()["instructions"][0]
    assert VitalReading.objects.filter(patient=patient, systolic=184, pre_session_check__isnull=True).exists()


def test_an_implausible_blood_pressure_is_a_field_error_and_saves_nothing(api, patient, rx, fill, clock):
    session_id = run_session(api, patient, clock)
    response = check_in(api, patient, session_id, blood_pressure={"systolic": 80, "diastolic": 90})
    assert response.status_code == 400
    assert not SessionCheckIn.objects.exists()


def test_answers_out_of_range_are_refused(api, patient, rx, fill, clock):
    session_id = run_session(api, patient, clock)
    response = check_in(api, patient, session_id, dissociation=11)
    assert response.status_code == 400 and "dissociation" in response.json()["fields"]


def test_no_check_in_before_the_end_or_after_the_window(api, patient, rx, fill, clock):
    go_check(patient)
    session_id = start(api, patient).json()["session_id"]
    early = check_in(api, patient, session_id)
    assert early.status_code == 409 and early.json()["code"] == "session_not_ended"
    api(patient).post(f"/api/v1/patient/sessions/{session_id}/end/", {}, format="json")
    clock.shift(timedelta(hours=4, seconds=1))
    late = check_in(api, patient, session_id)
    assert late.status_code == 409 and late.json()["code"] == "check_in_window_closed"
    assert not SessionCheckIn.objects.exists()


def test_another_patient_cannot_check_in_for_the_session(api, patient, other_patient, rx, fill, clock):
    session_id = run_session(api, patient, clock)
    assert check_in(api, other_patient, session_id).status_code == 404
