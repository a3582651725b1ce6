"""The summary endpoints on hand-built diaries: baseline selection, time zones, DST, scope, audit."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from accounts.models import AuditEvent
from outcomes.models import ClusterAttack, HeadacheDiaryEntry
from outcomes.selectors import TreatmentStart, treatment_start
from tests.factories import StaffUserFactory
from tests.outcomes.conftest import session_for, utc
from tests.prescriptions.factories import SignedPrescriptionFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/patient/headache-summary/"
MIGRAINE = {"features": ["unilateral", "pulsating", "nausea_or_vomiting"], "peak_pain": 7}


def log(patient, day: dt.date, *, headache: bool, migraine: bool = False, meds=()):
    fields = {"peak_pain": 4}
    if migraine:
        fields = dict(MIGRAINE)
    HeadacheDiaryEntry.objects.create(
        patient=patient,
        date=day,
        headache=headache,
        acute_medications=[{"class": c, "doses": 1} for c in meds],
        **(fields if headache else {}),
    )


def fill(patient, end: dt.date, *, days: int, headache_days: int, migraine_days: int, meds=()):
    """`days` logged days ending on `end`: the first `migraine_days` are migraine days, up to
    `headache_days` headache days, the rest headache-free."""
    for i in range(days):
        day = end - dt.timedelta(days=i)
        log(
            patient, day, headache=i < headache_days, migraine=i < migraine_days, meds=meds if i < headache_days else ()
        )


@time_machine.travel(utc(2026, 11, 28, 17), tick=False)
def test_summary_with_baseline_from_the_first_signed_prescription(profile, patient, physician, patient_api):
    # Signed at 03:00 UTC on Sep 1 = 23:00 on Aug 31 in Miami: treatment starts Aug 31 (local),
    # so the baseline is Aug 3 - Aug 30.
    SignedPrescriptionFactory(patient=patient, physician=physician, signed_at=utc(2026, 9, 1, 3))
    SignedPrescriptionFactory(patient=patient, physician=physician, signed_at=utc(2026, 10, 1, 15))
    fill(patient, dt.date(2026, 8, 30), days=28, headache_days=14, migraine_days=12)
    log(patient, dt.date(2026, 8, 2), headache=True, migraine=True)  # the day before the baseline: not counted
    fill(patient, dt.date(2026, 11, 28), days=28, headache_days=5, migraine_days=3, meds=("triptan",))

    body = patient_api.get(URL).json()
    assert body["treatment_start"] == {"date": "2026-08-31", "source": "first_signed_prescription"}
    assert (body["baseline"]["start"], body["baseline"]["end"]) == ("2026-08-03", "2026-08-30")
    assert (body["baseline"]["headache_days"], body["baseline"]["migraine_days"]) == (14, 12)
    assert (body["window"]["start"], body["window"]["end"]) == ("2026-11-01", "2026-11-28")
    # Triptan-treated headache days are migraine days: all 5 of them.
    assert (body["days_logged"], body["headache_days"], body["migraine_days"]) == (28, 5, 5)
    assert body["acute_medication_days"] == 5
    assert body["acute_medication_days_by_class"]["triptan"] == 5
    assert body["change_from_baseline_pct"] == {"headache_days": -64.3, "migraine_days": -58.3}
    assert (body["responder_50"], body["responder_75"], body["responder_basis"]) == (
        "responder",
        "non_responder",
        "migraine_days",
    )
    assert len(body["months"]) == 6 and body["months"][-1]["end"] == "2026-11-28"
    assert body["chronic_migraine_pattern"] is False


@time_machine.travel(utc(2026, 11, 28, 17), tick=False)
def test_missing_days_say_insufficient_data(profile, patient, physician, patient_api):
    SignedPrescriptionFactory(patient=patient, physician=physician, signed_at=utc(2026, 9, 1, 15))
    fill(patient, dt.date(2026, 8, 31), days=28, headache_days=14, migraine_days=12)
    fill(patient, dt.date(2026, 11, 28), days=20, headache_days=0, migraine_days=0)
    body = patient_api.get(URL).json()
    assert (body["days_logged"], body["days_missing"], body["headache_days"]) == (20, 8, 0)
    assert body["window"]["insufficient_data"] is True
    assert body["responder_50"] == body["responder_75"] == "insufficient_data"


@time_machine.travel(utc(2026, 11, 28, 17), tick=False)
def test_no_prescription_no_baseline(profile, patient, patient_api):
    fill(patient, dt.date(2026, 11, 28), days=28, headache_days=3, migraine_days=1)
    body = patient_api.get(URL).json()
    assert body["treatment_start"] is None and body["baseline"] is None
    assert body["responder_50"] == "no_baseline"
    assert body["change_from_baseline_pct"] == {"headache_days": None, "migraine_days": None}


def test_treatment_start_local_date_differs_by_zone(pensacola, patient, physician):
    # 04:30 UTC on Sep 1 is 23:30 on Aug 31 in Pensacola (Central) and 00:30 Sep 1 in Miami.
    SignedPrescriptionFactory(patient=patient, physician=physician, signed_at=utc(2026, 9, 1, 4, 30))
    assert treatment_start(patient=patient).on == dt.date(2026, 8, 31)
    pensacola.time_zone = "America/New_York"
    pensacola.save()
    assert treatment_start(patient=patient).on == dt.date(2026, 9, 1)


@time_machine.travel(utc(2026, 11, 29, 5, 30), tick=False)  # 23:30 Nov 28 in Pensacola
def test_default_window_ends_on_the_patients_today(pensacola, patient, patient_api):
    body = patient_api.get(URL).json()
    assert body["end"] == "2026-11-28"
    assert body["time_zone"] == "America/Chicago"
    assert patient_api.get(URL, {"end": "2026-11-29"}).json()["fields"]["end"][0]["code"] == "date_in_future"
    assert patient_api.get(URL, {"end": "11/28/2026"}).json()["fields"]["end"][0]["code"] == "invalid_date"


@time_machine.travel(utc(2026, 11, 10, 17), tick=False)
def test_cluster_attacks_counted_by_local_date_across_the_fall_back_week(profile, patient, patient_api):
    # DST ends 2026-11-01 at 02:00 in New York: 01:30 happens twice (05:30 and 06:30 UTC).
    for started in (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30), utc(2026, 11, 2, 4, 59), utc(2026, 11, 2, 5, 0)):
        ClusterAttack.objects.create(patient=patient, started_at=started, minutes=45, side="left")
    body = patient_api.get(URL, {"end": "2026-11-07"}).json()
    weeks = body["cluster_attacks_weekly"]
    assert [(w["start"], w["attacks"]) for w in weeks] == [
        ("2026-10-11", 0),
        ("2026-10-18", 0),
        ("2026-10-25", 0),
        ("2026-11-01", 4),  # 04:59 UTC Nov 2 is 23:59 Nov 1 EST; 05:00 UTC is 00:00 Nov 2
    ]
    body = patient_api.get(URL, {"end": "2026-11-01"}).json()
    assert body["cluster_attacks_weekly"][-1] == {"start": "2026-10-26", "end": "2026-11-01", "attacks": 3}


@time_machine.travel(utc(2026, 3, 20, 17), tick=False)
def test_window_across_spring_forward_is_still_28_local_dates(profile, patient, physician, patient_api):
    # DST starts 2026-03-08 in New York (a 23-hour day): it is one diary day like any other.
    fill(patient, dt.date(2026, 3, 20), days=28, headache_days=28, migraine_days=0)
    body = patient_api.get(URL).json()
    assert (body["window"]["start"], body["window"]["end"]) == ("2026-02-21", "2026-03-20")
    assert (body["days_logged"], body["headache_days"]) == (28, 28)


@time_machine.travel(utc(2026, 11, 28, 17), tick=False)
def test_chronic_pattern_and_overuse_risk_over_three_windows(profile, patient, patient_api):
    for k in range(3):
        fill(
            patient,
            dt.date(2026, 11, 28) - dt.timedelta(days=28 * k),
            days=28,
            headache_days=16,
            migraine_days=9,
            meds=("combination_analgesic",),
        )
    body = patient_api.get(URL).json()
    assert body["chronic_migraine_pattern"] is True
    assert body["medication_overuse_risk"] is True
    assert [w["headache_days"] for w in body["pattern_windows"]] == [16, 16, 16]


# --- the care team --------------------------------------------------------------------------------
@time_machine.travel(utc(2026, 11, 28, 17), tick=False)
def test_physician_reads_a_caseload_patients_summary_and_it_is_audited(profile, patient, physician, other_physician):
    url = f"/api/v1/physician/patients/{patient.public_id}/headache-summary/"
    assert session_for(physician).get(url).status_code == 200
    assert AuditEvent.objects.filter(actor=physician, patient=patient, detail="headache_summary").count() == 1
    assert session_for(other_physician).get(url).status_code == 404
    # The chart is clinical content: the medical director reads it, a care coordinator does not.
    assert session_for(StaffUserFactory(staff_role="medical_director")).get(url).status_code == 200
    assert session_for(StaffUserFactory()).get(url).status_code == 404
    assert session_for(patient).get(url).status_code == 404


@time_machine.travel(utc(2026, 11, 28, 17), tick=False)
def test_the_first_session_moves_treatment_start_and_the_baseline(profile, patient, physician, patient_api):
    from tests.treatment.conftest import dosing_session

    rx = SignedPrescriptionFactory(patient=patient, physician=physician, signed_at=utc(2026, 9, 1, 15))
    before = patient_api.get(URL).json()
    assert before["treatment_start"] == {"date": "2026-09-01", "source": "first_signed_prescription"}
    assert before["baseline"]["end"] == "2026-08-31"

    # The first session at 01:30 UTC on Sep 21 is 21:30 on Sep 20 in Miami: treatment starts then.
    dosing_session(rx, at=utc(2026, 9, 21, 1, 30))
    dosing_session(rx, at=utc(2026, 10, 5, 15))
    assert treatment_start(patient=patient).on == dt.date(2026, 9, 20)
    after = patient_api.get(URL).json()
    assert after["treatment_start"] == {"date": "2026-09-20", "source": "first_session"}
    assert (after["baseline"]["start"], after["baseline"]["end"]) == ("2026-08-23", "2026-09-19")


def test_without_the_treatment_hook_the_first_signed_prescription_stays_the_start(
    profile, patient, physician, settings
):
    from tests.treatment.conftest import dosing_session

    rx = SignedPrescriptionFactory(patient=patient, physician=physician, signed_at=utc(2026, 9, 1, 15))
    dosing_session(rx, at=utc(2026, 9, 21, 15))
    assert treatment_start(patient=patient).source == "first_session"
    settings.OUTCOMES_FIRST_SESSION_DATES = ""
    assert treatment_start(patient=patient) == TreatmentStart(
        on=dt.date(2026, 9, 1), source="first_signed_prescription"
    )
