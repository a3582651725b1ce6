"""The clinical policy of intake and monitoring is effective-dated rows (docs/policy.md): a row
takes effect on its date in the practice's zone, a row in force is read-only, and every threshold
it holds changes what the endpoints decide."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.admin.sites import site
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import RequestFactory

from patients import policy
from patients.models import ClinicalPolicy, SafetyFlag

pytestmark = pytest.mark.django_db
NEW_YORK = ZoneInfo("America/New_York")
PRE_SESSION = "/api/v1/patient/pre-session-checks/"


def _check(client, systolic):
    return client.post(
        PRE_SESSION,
        {
            "readings": [{"systolic": systolic, "diastolic": 80}, {"systolic": 118, "diastolic": 78}],
            "rested_5_minutes": True,
            "monitor_present": True,
            "monitor_adult": True,
            "monitor_sober": True,
            "pregnant_or_nursing": False,
        },
        format="json",
    )


def test_the_migration_stores_the_defaults():
    row = ClinicalPolicy.objects.get(effective_from=dt.date(2025, 1, 1))
    assert (row.minimum_age, row.bp_hold_systolic_above, row.bp_hold_diastolic_above) == (18, 140, 90)
    assert (row.bp_emergency_systolic_at, row.bp_emergency_diastolic_at) == (180, 120)
    assert (row.response_drop_percent, row.phq9_remission_below, row.phq9_item9_flag_at) == (50, 5, 1)
    assert row.hard_stop_contraindications == ["pregnant_or_nursing"]


def test_a_row_takes_effect_at_midnight_in_the_practice_zone_not_utc():
    ClinicalPolicy.objects.create(effective_from=dt.date(2027, 1, 1), bp_hold_systolic_above=135)
    # 04:30 UTC on 1 January is still 31 December in New York.
    with time_machine.travel(dt.datetime(2026, 12, 31, 23, 30, tzinfo=NEW_YORK), tick=False):
        assert policy.blood_pressure_policy().hold_systolic_above == 140
    policy.forget()
    with time_machine.travel(dt.datetime(2027, 1, 1, 0, 0, tzinfo=NEW_YORK), tick=False):
        assert policy.blood_pressure_policy().hold_systolic_above == 135


def test_a_new_row_changes_the_blood_pressure_gate_the_same_day(api, profile):
    client = api(profile.user)
    assert _check(client, 136).json()["outcome"] == "go"
    ClinicalPolicy.objects.create(effective_from=dt.date(2026, 1, 1), bp_hold_systolic_above=135)
    assert _check(client, 136).json()["outcome"] == "hold"


def test_an_added_hard_stop_refuses_the_assessment(anon_client):
    body = {
        "zip_code": "33139",
        "date_of_birth": "1985-06-15",
        "conditions": ["depression"],
        "treatments_tried": ["antidepressants"],
        "contraindications": ["seizures"],
        "medications": [],
    }
    assert anon_client.post("/api/v1/assessments/", body, format="json").json()["outcome"] == "needs_review"
    ClinicalPolicy.objects.create(
        effective_from=dt.date(2026, 1, 1), hard_stop_contraindications=["pregnant_or_nursing", "seizures"]
    )
    response = anon_client.post("/api/v1/assessments/", body, format="json")
    assert response.json()["outcome"] == "not_eligible"
    assert [r["code"] for r in response.json()["reasons"]] == ["seizures"]


def test_the_minimum_age_is_policy(anon_client):
    ClinicalPolicy.objects.create(effective_from=dt.date(2026, 1, 1), minimum_age=21)
    body = {
        "zip_code": "33139",
        "date_of_birth": "2006-01-01",  # 20
        "conditions": ["depression"],
        "treatments_tried": [],
        "contraindications": [],
        "medications": [],
    }
    response = anon_client.post("/api/v1/assessments/", body, format="json")
    assert response.json()["outcome"] == "not_eligible"
    assert "21" in response.json()["reasons"][0]["message"]


def test_the_item9_threshold_is_policy(api, profile):
    ClinicalPolicy.objects.create(effective_from=dt.date(2026, 1, 1), phq9_item9_flag_at=2)
    client = api(profile.user)
    client.post("/api/v1/patient/questionnaires/", {"instrument": "phq9", "answers": [0] * 8 + [1]}, format="json")
    assert not SafetyFlag.objects.filter(patient=profile.user).exists()
    client.post("/api/v1/patient/questionnaires/", {"instrument": "phq9", "answers": [1] * 8 + [2]}, format="json")
    assert SafetyFlag.objects.filter(patient=profile.user, kind="phq9_item9").exists()


@pytest.mark.parametrize(
    ("stops", "message"),
    [
        (["seizures", "no_such_thing"], "Unknown screening codes: no_such_thing"),
        (["seizures"], "Pregnancy or nursing is always a hard stop"),
        ("pregnant_or_nursing", "A list of screening codes"),
    ],
)
def test_hard_stops_are_known_codes_and_keep_pregnancy(stops, message):
    with pytest.raises(ValidationError, match=message):
        ClinicalPolicy(effective_from=dt.date(2027, 1, 1), hard_stop_contraindications=stops).full_clean()


@pytest.mark.parametrize(
    "fields",
    [
        {"minimum_age": 16},
        {"bp_emergency_systolic_at": 140},
        {"bp_emergency_diastolic_at": 90},
        {"response_drop_percent": 0},
        {"phq9_item9_flag_at": 0},
        {"phq9_item9_flag_at": 4},
    ],
)
def test_the_database_refuses_an_unsafe_row(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        ClinicalPolicy.objects.create(effective_from=dt.date(2027, 1, 1), **fields)


def test_only_future_rows_can_be_changed_in_the_admin_and_the_medical_director_may(medical_director, staff):
    admin = site._registry[ClinicalPolicy]
    request = RequestFactory().get("/admin/")
    request.user = medical_director
    in_force = ClinicalPolicy.objects.get(effective_from=dt.date(2025, 1, 1))
    future = ClinicalPolicy.objects.create(effective_from=dt.date(2099, 1, 1))
    assert admin.has_add_permission(request)
    assert not admin.has_change_permission(request, in_force) and not admin.has_delete_permission(request, in_force)
    assert admin.has_change_permission(request, future) and not admin.has_delete_permission(request, future)
    request.user = staff  # a care coordinator: not the policy tables
    assert not admin.has_view_permission(request) and not admin.has_add_permission(request)
