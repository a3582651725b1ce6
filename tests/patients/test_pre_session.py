import datetime

import pytest
from django.core import mail

from patients.models import ClinicalPolicy, PreSessionCheck, SafetyFlag, VitalReading

pytestmark = pytest.mark.django_db

URL = "/api/v1/patient/pre-session-checks/"


def check(client, first=(120, 80), second=(118, 78), **overrides):
    body = {
        "readings": [
            {"systolic": first[0], "diastolic": first[1]},
            {"systolic": second[0], "diastolic": second[1]},
        ],
        "rested_5_minutes": True,
        "monitor_present": True,
        "monitor_adult": True,
        "monitor_sober": True,
        "pregnant_or_nursing": False,
    }
    body.update(overrides)
    return client.post(URL, body, format="json")


@pytest.mark.parametrize(
    ("reading", "outcome", "reasons"),
    [
        ((140, 90), "go", []),
        ((141, 90), "hold", ["bp_above_threshold"]),
        ((140, 91), "hold", ["bp_above_threshold"]),
        ((179, 119), "hold", ["bp_above_threshold"]),
        ((180, 119), "emergency", ["bp_emergency"]),
        ((179, 120), "emergency", ["bp_emergency"]),
    ],
)
def test_blood_pressure_gate_thresholds(api, profile, reading, outcome, reasons):
    response = check(api(profile.user), first=reading, second=(120, 80))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["outcome"], body["reasons"]) == (outcome, reasons)
    assert (body["judged_systolic"], body["judged_diastolic"]) == reading


def test_judged_on_the_higher_systolic_and_the_higher_diastolic(api, profile):
    body = check(api(profile.user), first=(150, 80), second=(130, 95)).json()
    assert (body["judged_systolic"], body["judged_diastolic"]) == (150, 95)
    assert body["outcome"] == "hold"


def test_emergency_shows_911_instructions_and_alerts_physician_and_care_team(api, profile, on_commit, settings):
    settings.CARE_TEAM_ALERT_EMAILS = ["oncall@practice.example"]
    with on_commit():
        body = check(api(profile.user), first=(185, 100)).json()
    assert body["outcome"] == "emergency"
    assert "911" in body["instructions"] and "chest pain" in body["instructions"]
    assert SafetyFlag.objects.get().kind == "bp_emergency"
    assert sorted(m.to[0] for m in mail.outbox) == sorted([profile.assigned_physician.email, "oncall@practice.example"])


def test_hold_notifies_the_physician_only(api, profile, on_commit, settings):
    settings.CARE_TEAM_ALERT_EMAILS = ["oncall@practice.example"]
    with on_commit():
        check(api(profile.user), first=(150, 85))
    assert SafetyFlag.objects.get().kind == "bp_hold"
    assert [m.to[0] for m in mail.outbox] == [profile.assigned_physician.email]


@pytest.mark.parametrize("attestation", ["monitor_present", "monitor_adult", "monitor_sober"])
def test_no_monitor_attestation_holds(api, profile, attestation):
    body = check(api(profile.user), **{attestation: False}).json()
    assert (body["outcome"], body["reasons"]) == ("hold", ["monitor_not_attested"])
    assert not SafetyFlag.objects.exists()


def test_no_treatment_monitor_in_the_profile_holds(api, profile):
    profile.monitor_name = ""
    profile.monitor_adult_confirmed = False
    profile.save()
    assert check(api(profile.user)).json()["reasons"] == ["no_treatment_monitor"]


def test_no_profile_at_all_holds(api, patient):
    assert check(api(patient)).json()["reasons"] == ["no_treatment_monitor"]


def test_not_rested_holds(api, profile):
    assert check(api(profile.user), rested_5_minutes=False).json()["reasons"] == ["not_rested"]


def test_an_open_safety_flag_holds_even_with_normal_readings(api, profile):
    SafetyFlag.objects.create(patient=profile.user, kind="phq9_item9")
    body = check(api(profile.user)).json()
    assert (body["outcome"], body["reasons"]) == ("hold", ["open_safety_flag"])


def test_thresholds_are_configurable(api, profile):
    ClinicalPolicy.objects.create(effective_from=datetime.date(2026, 1, 1), bp_hold_systolic_above=130)
    assert check(api(profile.user), first=(135, 80)).json()["outcome"] == "hold"


def test_readings_are_kept_as_vitals_history(api, profile):
    check(api(profile.user), first=(121, 81), second=(119, 79))
    assert sorted(VitalReading.objects.values_list("systolic", "diastolic")) == [(119, 79), (121, 81)]
    response = api(profile.user).get("/api/v1/patient/vitals/")
    assert response.status_code == 200 and response.json()["count"] == 2


def test_implausible_reading_40_over_300_is_a_400_and_nothing_is_saved(api, profile):
    response = check(api(profile.user), first=(40, 300))
    assert response.status_code == 400
    fields = response.json()["fields"]  # one flat shape: a list item's field is `readings.0.<field>`
    assert fields["readings.0.systolic"][0]["code"] == "reading_out_of_range"
    assert fields["readings.0.diastolic"][0]["code"] == "reading_out_of_range"
    assert not PreSessionCheck.objects.exists() and not VitalReading.objects.exists()


def test_diastolic_above_systolic_is_a_400(api, profile):
    response = check(api(profile.user), first=(100, 110))
    assert response.json()["fields"]["readings.0.diastolic"][0]["code"] == "systolic_not_above_diastolic"


def test_exactly_two_readings(api, profile):
    response = api(profile.user).post(
        URL,
        {
            "readings": [{"systolic": 120, "diastolic": 80}],
            "rested_5_minutes": True,
            "monitor_present": True,
            "monitor_adult": True,
            "monitor_sober": True,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["fields"]["readings"][0]["code"] == "wrong_reading_count"
