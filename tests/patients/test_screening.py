"""Screening in the chart: a claimed assessment's hard stops AND review items become contraindication
records (source and date) with a flag and a hold; a physician decides each one (resolved with a
note, or confirmed: not a candidate); physicians enter screenings; pregnancy is asked at every
pre-session check."""

import pytest

from patients.models import Contraindication, PreSessionCheck, SafetyFlag, Screening
from patients.selectors import confirmed_contraindications, unresolved_contraindications
from patients.services.assessments import assessment_claim
from patients.services.vitals import Reading, pre_session_check_submit

pytestmark = pytest.mark.django_db

PRE_SESSION = "/api/v1/patient/pre-session-checks/"


def take_assessment(anon_client, **answers):
    body = {
        "zip_code": "33139",
        "date_of_birth": "1980-01-01",
        "conditions": ["depression"],
        "treatments_tried": [],
        "contraindications": [],
        "medications": [],
        **answers,
    }
    response = anon_client.post("/api/v1/assessments/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def claim(patient, created):
    return assessment_claim(patient=patient, public_id=created["assessment_id"], token=created["claim_token"])


def pre_session(client, **overrides):
    body = {
        "readings": [{"systolic": 120, "diastolic": 80}, {"systolic": 118, "diastolic": 78}],
        "rested_5_minutes": True,
        "monitor_present": True,
        "monitor_adult": True,
        "monitor_sober": True,
        "pregnant_or_nursing": False,
        **overrides,
    }
    return client.post(PRE_SESSION, body, format="json")


def test_a_claimed_hard_stop_and_the_review_items_behind_it_follow_the_patient(api, anon_client, patient, profile):
    created = take_assessment(
        anon_client,
        contraindications=["pregnant_or_nursing", "heart_disease"],
        medications=["opioids"],
        phq9=[0, 0, 0, 0, 0, 0, 0, 0, 1],
    )
    assert created["outcome"] == "not_eligible"  # the assessment itself lists only the hard stop
    claim(patient, created)
    records = {r.code: r for r in Contraindication.objects.filter(patient=patient)}
    assert set(records) == {"pregnant_or_nursing", "heart_disease", "medication_opioids"}
    assert records["pregnant_or_nursing"].severity == "hard_stop"
    assert records["heart_disease"].severity == "review"
    assert {r.source for r in records.values()} == {"assessment"}
    assert all(r.source_date is not None and r.status == "unresolved" for r in records.values())
    screening = Screening.objects.get(patient=patient)
    assert screening.source == "assessment" and screening.assessment_id is not None
    kinds = set(SafetyFlag.objects.filter(patient=patient, status="open").values_list("kind", flat=True))
    assert kinds == {"screening_review", "phq9_item9"}  # item 9 too, though the hard stop hid it
    body = pre_session(api(patient)).json()
    assert body["outcome"] == "hold"
    assert {"open_safety_flag", "contraindication_unresolved"} <= set(body["reasons"])


def test_claiming_twice_records_nothing_twice(anon_client, patient, profile):
    created = take_assessment(anon_client, contraindications=["seizures"])
    claim(patient, created)
    claim(patient, created)
    assert Screening.objects.filter(patient=patient).count() == 1
    assert Contraindication.objects.filter(patient=patient).count() == 1


def test_a_clean_assessment_is_a_screening_on_file_with_nothing_to_decide(anon_client, patient, profile):
    claim(patient, take_assessment(anon_client))
    assert Screening.objects.filter(patient=patient).count() == 1
    assert unresolved_contraindications(patient=patient) == []
    assert not SafetyFlag.objects.filter(patient=patient).exists()


def decide(api, physician, record, decision, note="Reviewed with cardiology; cleared."):
    return api(physician).post(
        f"/api/v1/physician/contraindications/{record.public_id}/decision/",
        {"decision": decision, "note": note},
        format="json",
    )


def test_the_patients_physician_resolves_each_item_and_the_last_clears_the_flag(
    api, anon_client, patient, physician, profile
):
    claim(patient, take_assessment(anon_client, contraindications=["heart_disease", "liver_disease"]))
    heart, liver = Contraindication.objects.filter(patient=patient).order_by("code")
    response = decide(api, physician, heart, "resolved")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "resolved"
    assert SafetyFlag.objects.get(patient=patient, kind="screening_review").status == "open"
    assert decide(api, physician, liver, "resolved").status_code == 200
    assert SafetyFlag.objects.get(patient=patient, kind="screening_review").status == "resolved"
    assert unresolved_contraindications(patient=patient) == []
    heart.refresh_from_db()
    assert heart.decided_by == physician and heart.decision_note.startswith("Reviewed")
    assert decide(api, physician, heart, "confirmed").status_code == 409


def test_a_confirmed_contraindication_keeps_holding(api, anon_client, patient, physician, profile):
    claim(patient, take_assessment(anon_client, contraindications=["pregnant_or_nursing"]))
    record = Contraindication.objects.get(patient=patient)
    assert decide(api, physician, record, "confirmed", note="Pregnant; not a candidate.").status_code == 200
    assert unresolved_contraindications(patient=patient) == []
    assert confirmed_contraindications(patient=patient) == ["pregnant_or_nursing"]
    body = pre_session(api(patient)).json()
    assert body["outcome"] == "hold" and "contraindication_confirmed" in body["reasons"]


def test_only_the_patients_physician_decides(api, anon_client, patient, physician, other_physician, staff, profile):
    claim(patient, take_assessment(anon_client, contraindications=["seizures"]))
    record = Contraindication.objects.get(patient=patient)
    assert decide(api, other_physician, record, "resolved").status_code == 404
    assert decide(api, staff, record, "resolved").status_code == 403
    assert decide(api, patient, record, "resolved").status_code == 403
    missing_note = api(physician).post(
        f"/api/v1/physician/contraindications/{record.public_id}/decision/", {"decision": "resolved"}, format="json"
    )
    assert missing_note.status_code == 400
    record.refresh_from_db()
    assert record.status == "unresolved"


def test_a_physician_enters_a_screening_and_its_items_wait_for_a_decision(
    api, patient, physician, other_physician, staff, profile
):
    url = f"/api/v1/physician/patients/{patient.public_id}/screenings/"
    body = {"contraindications": ["uncontrolled_hypertension"], "medications": ["maois"]}
    response = api(physician).post(url, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["source"] == "physician"
    assert unresolved_contraindications(patient=patient) == ["uncontrolled_hypertension", "medication_maois"]
    assert api(other_physician).post(url, body, format="json").status_code == 404
    assert api(staff).post(url, body, format="json").status_code == 404  # a care coordinator does not see the chart
    bad = api(physician).post(url, {"contraindications": ["not_a_thing"]}, format="json")
    assert bad.status_code == 400
    listing = api(physician).get(f"/api/v1/physician/patients/{patient.public_id}/contraindications/").json()
    assert {r["code"] for r in listing["results"]} == {"uncontrolled_hypertension", "medication_maois"}
    assert api(other_physician).get(f"/api/v1/physician/patients/{patient.public_id}/screenings/").status_code == 404


def test_pre_session_asks_about_pregnancy_every_time(api, patient, profile):
    assert pre_session(api(patient), pregnant_or_nursing=None).status_code == 400
    omitted = api(patient).post(
        PRE_SESSION,
        {
            "readings": [{"systolic": 120, "diastolic": 80}, {"systolic": 118, "diastolic": 78}],
            "rested_5_minutes": True,
            "monitor_present": True,
            "monitor_adult": True,
            "monitor_sober": True,
        },
        format="json",
    )
    assert omitted.status_code == 400 and "pregnant_or_nursing" in omitted.json()["fields"]
    assert pre_session(api(patient)).json()["outcome"] == "go"


def test_a_yes_at_the_pre_session_check_holds_and_goes_on_the_chart(api, patient, profile):
    body = pre_session(api(patient), pregnant_or_nursing=True).json()
    assert body["outcome"] == "hold" and "pregnant_or_nursing" in body["reasons"]
    record = Contraindication.objects.get(patient=patient)
    assert (record.code, record.severity, record.source) == ("pregnant_or_nursing", "hard_stop", "pre_session_check")
    assert SafetyFlag.objects.get(patient=patient).kind == "screening_review"
    # Next time, even answering no, the chart holds the session until a physician decides.
    later = pre_session(api(patient)).json()
    assert later["outcome"] == "hold" and "contraindication_unresolved" in later["reasons"]


def test_the_service_holds_when_the_question_was_not_answered(patient, profile):
    result = pre_session_check_submit(
        patient=patient,
        readings=[Reading(120, 80), Reading(118, 78)],
        rested_5_minutes=True,
        monitor_present=True,
        monitor_adult=True,
        monitor_sober=True,
    )
    assert result.check.outcome == "hold" and result.check.reasons == ["pregnancy_status_not_answered"]
    assert PreSessionCheck.objects.count() == 1
