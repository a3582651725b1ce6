"""Follow-up: the medication-overuse review flag (no dosing hold), the evening diary reminder,
cluster attacks, and PEG-3 beside PHQ-9."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail

from accounts import notifications
from outcomes.models import ClusterAttack, DiaryReminderDelivery, HeadacheDiaryEntry, OutcomeReviewFlag
from outcomes.reminders import send_due_diary_reminders
from outcomes.tasks import send_diary_reminders
from patients.services.safety import patient_has_open_safety_flag
from tests.outcomes.conftest import entry, session_for, utc

pytestmark = pytest.mark.django_db


# --- medication overuse -----------------------------------------------------------------------
def _triptan_days(patient, end: dt.date, counts: list[int]):
    """Triptan-treated headache days in consecutive 28-day windows ending on `end` (newest first),
    never on `end` itself (left for the API call)."""
    for k, count in enumerate(counts):
        window_end = end - dt.timedelta(days=28 * k)
        for i in range(1, count + 1):
            HeadacheDiaryEntry.objects.create(
                patient=patient,
                date=window_end - dt.timedelta(days=i),
                headache=True,
                peak_pain=6,
                acute_medications=[{"class": "triptan", "doses": 1}],
            )


@time_machine.travel(utc(2026, 11, 28, 17), tick=False)
def test_overuse_opens_one_review_flag_and_no_dosing_hold(profile, patient, physician, patient_api):
    _triptan_days(patient, dt.date(2026, 11, 28), counts=[9, 10, 10])
    url = "/api/v1/patient/headache-diary/2026-11-28/"
    quiet = patient_api.put(url, entry(headache=False), format="json")
    assert quiet.json()["medication_overuse_review"] is False  # 9 days in the last window
    body = patient_api.put(url, entry(meds=["triptan"]), format="json").json()
    assert body["medication_overuse_review"] is True  # the 10th
    patient_api.put(url, entry(meds=["triptan", "opioid"]), format="json")
    flags = OutcomeReviewFlag.objects.filter(patient=patient)
    assert flags.count() == 1 and flags.get().status == "open"
    assert patient_has_open_safety_flag(patient=patient) is False  # a review, not a hold

    listed = session_for(physician).get("/api/v1/physician/outcome-review-flags/").json()
    assert [r["kind"] for r in listed["results"]] == ["medication_overuse"]
    flag_id = listed["results"][0]["flag_id"]
    resolved = session_for(physician).post(f"/api/v1/physician/outcome-review-flags/{flag_id}/resolve/")
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    again = session_for(physician).post(f"/api/v1/physician/outcome-review-flags/{flag_id}/resolve/")
    assert again.json()["code"] == "flag_already_resolved"


def test_other_physician_cannot_see_or_resolve_the_flag(profile, patient, other_physician):
    flag = OutcomeReviewFlag.objects.create(
        patient=patient, kind="medication_overuse", window_end=dt.date(2026, 11, 28)
    )
    assert session_for(other_physician).get("/api/v1/physician/outcome-review-flags/").json()["results"] == []
    response = session_for(other_physician).post(f"/api/v1/physician/outcome-review-flags/{flag.public_id}/resolve/")
    assert response.status_code == 404


# --- the diary reminder -----------------------------------------------------------------------
def _opt_in(patient, at: str):
    response = session_for(patient).put(
        "/api/v1/patient/diary-reminder/", {"enabled": True, "local_time": at}, format="json"
    )
    assert response.status_code == 200, response.json()
    return response.json()


def test_reminder_is_sent_once_per_local_date_at_the_chosen_time(
    pensacola, patient, django_capture_on_commit_callbacks
):
    assert _opt_in(patient, "20:30")["time_zone"] == "America/Chicago"
    with time_machine.travel(utc(2026, 11, 29, 2, 0), tick=False):  # 20:00 in Pensacola: too early
        assert send_due_diary_reminders() == 0
    with time_machine.travel(utc(2026, 11, 29, 2, 35), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert send_diary_reminders() == 1  # 20:35 Central, Nov 28; the outbox sends after commit
        assert send_diary_reminders() == 0  # a second scan, the same local date
    assert len(notifications.sms_outbox) == 1
    body = notifications.sms_outbox[0].body
    assert "headache" not in body.lower() and "migraine" not in body.lower()
    assert DiaryReminderDelivery.objects.get(patient=patient).local_date == dt.date(2026, 11, 28)
    with time_machine.travel(utc(2026, 11, 30, 2, 35), tick=False):  # the next evening
        assert send_due_diary_reminders() == 1


def test_reminder_skipped_when_the_day_is_logged_or_opted_out(profile, patient):
    _opt_in(patient, "19:00")
    HeadacheDiaryEntry.objects.create(patient=patient, date=dt.date(2026, 11, 28), headache=False)
    with time_machine.travel(utc(2026, 11, 29, 0, 30), tick=False):  # 19:30 Eastern, Nov 28
        assert send_due_diary_reminders() == 0
    assert DiaryReminderDelivery.objects.get(patient=patient).status == "skipped"
    session_for(patient).put(
        "/api/v1/patient/diary-reminder/", {"enabled": False, "local_time": "19:00"}, format="json"
    )
    with time_machine.travel(utc(2026, 11, 30, 0, 30), tick=False):
        assert send_due_diary_reminders() == 0
    assert notifications.sms_outbox == []


def test_reminder_goes_by_email_without_a_phone(profile, patient, django_capture_on_commit_callbacks):
    profile.phone = ""
    profile.save()
    _opt_in(patient, "19:00")
    with time_machine.travel(utc(2026, 11, 29, 0, 30), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert send_due_diary_reminders() == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [patient.email]


def test_reminder_not_sent_hours_after_the_chosen_time(profile, patient):
    _opt_in(patient, "12:00")
    with time_machine.travel(utc(2026, 11, 29, 3, 0), tick=False):  # 22:00 Eastern: 10 hours late
        assert send_due_diary_reminders() == 0


# --- cluster attacks --------------------------------------------------------------------------
@time_machine.travel(utc(2026, 11, 28, 17), tick=False)
def test_cluster_attack_logged_once_and_listed(profile, patient, patient_api):
    body = {
        "started_at": "2026-11-28T02:10:00-05:00",
        "minutes": 50,
        "side": "right",
        "autonomic_signs": ["lacrimation", "ptosis"],
        "treatment": ["oxygen"],
        "relief": "complete",
    }
    assert patient_api.post("/api/v1/patient/cluster-attacks/", body, format="json").status_code == 201
    assert patient_api.post("/api/v1/patient/cluster-attacks/", body, format="json").status_code == 200
    assert ClusterAttack.objects.filter(patient=patient).count() == 1
    listed = patient_api.get("/api/v1/patient/cluster-attacks/").json()["results"]
    assert listed[0]["autonomic_signs"] == ["lacrimation", "ptosis"]
    bad = patient_api.post(
        "/api/v1/patient/cluster-attacks/", {**body, "started_at": "2026-11-29T12:00:00Z", "minutes": 0}, format="json"
    )
    assert bad.json()["fields"]["minutes"][0]["code"] == "min_value"
    future = patient_api.post(
        "/api/v1/patient/cluster-attacks/", {**body, "started_at": "2026-11-29T12:00:00Z"}, format="json"
    )
    assert future.json()["fields"]["started_at"][0]["code"] == "started_in_future"
    wrong = patient_api.post(
        "/api/v1/patient/cluster-attacks/", {**body, "side": "top", "autonomic_signs": ["sneezing"]}, format="json"
    )
    # One flat shape (docs/api-conventions.md#errors): a list item's error is under `<field>.<position>`.
    assert set(wrong.json()["fields"]) == {"side", "autonomic_signs.0"}


# --- PEG-3 --------------------------------------------------------------------------------------
def test_peg3_is_scored_as_the_mean_with_baseline_and_change(profile, patient, patient_api):
    first = patient_api.post(
        "/api/v1/patient/questionnaires/", {"instrument": "peg3", "answers": [7, 6, 6]}, format="json"
    )
    assert first.status_code == 201, first.json()
    assert (first.json()["total"], first.json()["score"], first.json()["is_baseline"]) == (19, 6.33, True)
    second = patient_api.post(
        "/api/v1/patient/questionnaires/", {"instrument": "peg3", "answers": [3, 3, 2]}, format="json"
    ).json()
    assert (second["score"], second["score_change_from_baseline"], second["change_from_baseline"]) == (2.67, -3.67, -11)
    assert second["response"] is True  # a drop of at least half of the baseline
    summary = patient_api.get("/api/v1/patient/headache-summary/").json()["peg3"]
    assert (summary["baseline_score"], summary["latest_score"], summary["change"]) == (6.33, 2.67, -3.67)
    bad = patient_api.post("/api/v1/patient/questionnaires/", {"instrument": "peg3", "answers": [11, 3]}, format="json")
    assert bad.json()["fields"]["answers"][0]["code"] == "wrong_item_count"
    out = patient_api.post(
        "/api/v1/patient/questionnaires/", {"instrument": "peg3", "answers": [11, 3, 2]}, format="json"
    )
    assert out.json()["fields"]["answers"][0]["code"] == "answer_out_of_range"


def test_reminder_in_the_repeated_fall_back_hour_is_sent_once(profile, patient):
    # 2026-11-01 in New York: 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    _opt_in(patient, "01:30")
    with time_machine.travel(utc(2026, 11, 1, 5, 35), tick=False):
        assert send_due_diary_reminders() == 1
    with time_machine.travel(utc(2026, 11, 1, 6, 35), tick=False):
        assert send_due_diary_reminders() == 0
    assert DiaryReminderDelivery.objects.filter(patient=patient).count() == 1
