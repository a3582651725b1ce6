"""The diary endpoints: one entry per local date, editable for 7 days, no future dates, field codes."""

from __future__ import annotations

import pytest
import time_machine

from accounts.models import AuditEvent
from outcomes.models import HeadacheDiaryEntry
from tests.outcomes.conftest import entry, utc

pytestmark = pytest.mark.django_db

URL = "/api/v1/patient/headache-diary/"


@time_machine.travel(utc(2026, 11, 20, 15), tick=False)
def test_put_creates_then_replaces_the_days_entry(profile, patient, patient_api):
    first = patient_api.put(
        f"{URL}2026-11-20/", entry(pain=7, features=["unilateral", "pulsating", "nausea_or_vomiting"]), format="json"
    )
    assert first.status_code == 201, first.json()
    assert first.json()["migraine_day"] is True
    second = patient_api.put(f"{URL}2026-11-20/", entry(headache=False), format="json")
    assert second.status_code == 200
    assert second.json()["migraine_day"] is False
    assert HeadacheDiaryEntry.objects.filter(patient=patient).count() == 1
    row = HeadacheDiaryEntry.objects.get(patient=patient)
    assert (row.headache, row.peak_pain, row.features) == (False, None, [])
    assert AuditEvent.objects.filter(patient=patient, object_type__icontains="headachediaryentry").count() == 2


@time_machine.travel(utc(2026, 11, 30, 5, 30), tick=False)  # 23:30 on Nov 29 in Pensacola, 00:30 Nov 30 in Miami
def test_future_is_judged_in_the_patients_own_zone(pensacola, patient_api):
    refused = patient_api.put(f"{URL}2026-11-30/", entry(), format="json")
    assert refused.status_code == 400
    assert refused.json()["fields"]["date"][0]["code"] == "date_in_future"
    assert patient_api.put(f"{URL}2026-11-29/", entry(), format="json").status_code == 201


@time_machine.travel(utc(2026, 11, 30, 5, 30), tick=False)
def test_eastern_patient_is_already_on_the_next_day(profile, patient_api):
    assert patient_api.put(f"{URL}2026-11-30/", entry(), format="json").status_code == 201


@time_machine.travel(utc(2026, 11, 20, 15), tick=False)
def test_entries_are_editable_for_seven_days_only(profile, patient_api):
    assert patient_api.put(f"{URL}2026-11-13/", entry(), format="json").status_code == 201
    refused = patient_api.put(f"{URL}2026-11-12/", entry(), format="json")
    assert refused.status_code == 400
    assert refused.json()["fields"]["date"][0]["code"] == "edit_window_closed"


@time_machine.travel(utc(2026, 11, 20, 15), tick=False)
@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({**entry(), "peak_pain": 11}, "peak_pain", "max_value"),
        ({**entry(), "peak_pain": -1}, "peak_pain", "min_value"),
        ({"headache": True}, "peak_pain", "required"),
        ({**entry(), "hours": "25"}, "hours", "max_value"),
        ({**entry(), "hours_lost": "-1"}, "hours_lost", "min_value"),
        ({**entry(), "features": ["throbbing"]}, "features", "invalid_choice"),
        ({**entry(), "features": ["unilateral", "unilateral"]}, "features", "duplicate"),
        ({**entry(headache=False), "peak_pain": 5}, "peak_pain", "requires_headache"),
        ({**entry(headache=False), "features": ["pulsating"]}, "features", "requires_headache"),
        ({**entry(), "acute_medications": [{"class": "aspirin", "doses": 1}]}, "acute_medications", "invalid_choice"),
        ({**entry(), "acute_medications": [{"class": "triptan", "doses": 0}]}, "acute_medications", "min_value"),
        (
            {**entry(), "acute_medications": [{"class": "triptan", "doses": 1}, {"class": "triptan", "doses": 2}]},
            "acute_medications",
            "duplicate_class",
        ),
        ({"peak_pain": 3}, "headache", "required"),
    ],
)
def test_bad_values_are_field_errors_with_codes(profile, patient, patient_api, body, field, code):
    response = patient_api.put(f"{URL}2026-11-20/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    # One flat shape (docs/api-conventions.md#errors): a list item's error is under `<field>.<position>`.
    fields = response.json()["fields"]
    assert code in str([errors for name, errors in fields.items() if name == field or name.startswith(f"{field}.")])
    assert not HeadacheDiaryEntry.objects.filter(patient=patient).exists()


@time_machine.travel(utc(2026, 11, 20, 15), tick=False)
def test_malformed_date_is_a_field_error(profile, patient_api):
    response = patient_api.put(f"{URL}2026-13-01/", entry(), format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["date"][0]["code"] == "invalid_date"


@time_machine.travel(utc(2026, 11, 20, 15), tick=False)
def test_list_returns_logged_days_in_range_oldest_first(profile, patient, patient_api, other_patient):
    for day in ("2026-11-15", "2026-11-18", "2026-11-20"):
        patient_api.put(f"{URL}{day}/", entry(), format="json")
    HeadacheDiaryEntry.objects.create(patient=other_patient, date="2026-11-18", headache=True, peak_pain=3)
    response = patient_api.get(URL, {"start": "2026-11-16", "end": "2026-11-20"})
    assert response.status_code == 200
    assert [e["date"] for e in response.json()] == ["2026-11-18", "2026-11-20"]
    assert patient_api.get(URL, {"start": "2026-11-21", "end": "2026-11-20"}).json()["fields"]["start"][0]["code"] == (
        "invalid_window"
    )
    assert patient_api.get(URL, {"start": "2025-01-01", "end": "2026-11-20"}).json()["fields"]["start"][0]["code"] == (
        "window_too_long"
    )


@time_machine.travel(utc(2026, 11, 20, 15), tick=False)
def test_get_one_day(profile, patient_api):
    assert patient_api.get(f"{URL}2026-11-19/").status_code == 404
    patient_api.put(f"{URL}2026-11-19/", entry(meds=["triptan"]), format="json")
    body = patient_api.get(f"{URL}2026-11-19/").json()
    assert body["acute_medications"] == [{"class": "triptan", "doses": 1}]
    assert body["migraine_day"] is True  # treated with a triptan
