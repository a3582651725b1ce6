"""Dosing sessions: every gate of session_start, the daily and weekly limits in the patient's
local dates, ending, and the beat that closes forgotten sessions (docs/treatment.md#sessions)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from accounts.models import AuditEvent
from prescriptions.models import OrderStatus
from tests.patients.factories import SafetyFlagFactory
from tests.treatment.conftest import deliver, end, go_check, reason_codes, run_session, start
from treatment.models import CheckInNotice, DosingSession, SessionStatus, TreatmentPolicy
from treatment.services.sessions import sessions_auto_close

pytestmark = pytest.mark.django_db


def test_session_starts_after_a_go_check_and_records_the_fill_dose_and_monitor(api, patient, profile, rx, fill):
    check = go_check(patient)
    response = start(api, patient)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "open" and body["check_in_status"] == "not_due"
    assert body["fill_id"] == str(fill.public_id) and body["prescription_id"] == str(rx.public_id)
    assert (body["dose_units"], body["dispensing_unit"], body["dose_text"]) == (1, "troche", rx.dose)
    assert body["monitor_name"] == profile.monitor_name
    assert body["local_date"] == "2026-11-20"
    session = DosingSession.objects.get(public_id=body["session_id"])
    assert session.pre_session_check == check and session.product == rx.product
    assert AuditEvent.objects.filter(object_type="treatment.dosingsession", action="create").exists()


def test_session_refused_while_a_safety_flag_holds_dosing(api, patient, rx, fill):
    go_check(patient)
    SafetyFlagFactory(patient=patient)
    response = start(api, patient)
    assert response.status_code == 422
    assert response.json()["code"] == "session_refused"
    assert "open_safety_flag" in reason_codes(response)
    assert not DosingSession.objects.exists()


def test_session_refused_after_a_failed_blood_pressure_check(api, patient, rx, fill):
    go_check(patient, systolic=152, diastolic=94)  # hold: above 140/90, opens a bp_hold flag
    response = start(api, patient)
    assert response.status_code == 422
    assert {"pre_session_check_not_go", "open_safety_flag"} <= set(reason_codes(response))
    assert not DosingSession.objects.exists()


def test_a_later_go_check_the_same_day_does_not_clear_an_earlier_flag(api, patient, rx, fill):
    go_check(patient, systolic=185, diastolic=100)  # emergency: bp_emergency flag
    go_check(patient)  # the gate itself answers hold while the flag is open
    response = start(api, patient)
    assert response.status_code == 422
    assert "open_safety_flag" in reason_codes(response)


def test_session_refused_without_a_delivered_fill(api, patient, rx):
    deliver(rx).__class__.objects.filter(prescription=rx).update(status=OrderStatus.IN_TRANSIT)
    go_check(patient)
    response = start(api, patient)
    assert response.status_code == 422
    assert reason_codes(response) == ["no_delivered_fill"]


def test_session_refused_without_todays_check(api, patient, rx, fill):
    response = start(api, patient)
    assert response.status_code == 422
    assert reason_codes(response) == ["pre_session_check_missing"]


def test_yesterdays_check_does_not_count_after_local_midnight_in_central_time(api, patient, profile, rx, fill):
    """The same two instants are one local day in Miami but two in Pensacola (Central time)."""
    profile.time_zone = "America/Chicago"
    profile.save()
    with time_machine.travel("2026-11-20T05:30:00Z", tick=False):  # 23:30 CST on the 19th
        go_check(patient)
    with time_machine.travel("2026-11-20T06:30:00Z", tick=False):  # 00:30 CST on the 20th
        response = start(api, patient)
    assert response.status_code == 422 and reason_codes(response) == ["pre_session_check_missing"]


def test_the_same_instants_are_one_local_day_on_eastern_time(api, patient, rx, fill):
    with time_machine.travel("2026-11-20T05:30:00Z", tick=False):  # 00:30 EST on the 20th
        go_check(patient)
    with time_machine.travel("2026-11-20T06:30:00Z", tick=False):
        response = start(api, patient)
    assert response.status_code == 201, response.json()
    assert response.json()["local_date"] == "2026-11-20"


def test_monitor_must_be_attested_and_named(api, patient, profile, rx, fill):
    go_check(patient)
    assert reason_codes(start(api, patient, monitor_attested=False)) == ["monitor_not_attested"]
    type(profile).objects.filter(pk=profile.pk).update(monitor_name="", monitor_phone="", monitor_adult_confirmed=False)
    assert "no_treatment_monitor" in reason_codes(start(api, patient))


def test_a_second_session_the_same_day_is_refused_by_default(api, patient, rx, fill, clock):
    run_session(api, patient, clock)
    go_check(patient)
    response = start(api, patient)
    assert response.status_code == 422
    assert reason_codes(response) == ["daily_session_limit"]


def test_a_second_session_the_same_day_when_the_directions_allow_it(api, patient, rx, fill, clock):
    type(rx).objects.filter(pk=rx.pk).update(sessions_per_day=2)
    run_session(api, patient, clock)
    go_check(patient)
    assert start(api, patient).status_code == 201


def test_a_pre_session_check_is_used_by_one_session_only(api, patient, rx, fill, clock):
    type(rx).objects.filter(pk=rx.pk).update(sessions_per_day=2)
    run_session(api, patient, clock)
    response = start(api, patient)  # no new check
    assert reason_codes(response) == ["pre_session_check_used"]


def test_weekly_limit_defaults_to_two_sessions_in_seven_local_days(api, patient, rx, fill, clock):
    run_session(api, patient, clock)  # Friday 20th
    clock.shift(timedelta(days=3))  # Monday 23rd
    run_session(api, patient, clock)
    clock.shift(timedelta(days=3))  # Thursday 26th: Friday and Monday are inside the 7 days
    go_check(patient)
    response = start(api, patient)
    assert reason_codes(response) == ["weekly_session_limit"]
    clock.shift(timedelta(days=1))  # Friday 27th: the 20th has left the window
    go_check(patient)
    assert start(api, patient).status_code == 201


def test_weekly_limit_follows_the_prescription(api, patient, rx, clock):
    deliver(rx, quantity=8)
    type(rx).objects.filter(pk=rx.pk).update(sessions_per_week=3)
    for _ in range(3):
        run_session(api, patient, clock)
        clock.shift(timedelta(days=1))
    go_check(patient)
    assert reason_codes(start(api, patient)) == ["weekly_session_limit"]


def test_weekly_default_follows_the_policy_row_in_force(api, patient, rx, fill, clock):
    TreatmentPolicy.objects.create(effective_from="2026-11-01", default_sessions_per_week=1)
    run_session(api, patient, clock)
    clock.shift(timedelta(days=2))
    go_check(patient)
    assert reason_codes(start(api, patient)) == ["weekly_session_limit"]


def test_sessions_consume_the_fill_until_it_is_exhausted(api, patient, rx, clock):
    deliver(rx, quantity=1)
    run_session(api, patient, clock)
    clock.shift(timedelta(days=4))
    go_check(patient)
    response = start(api, patient)
    assert reason_codes(response) == ["supply_exhausted"]


def test_only_one_open_session(api, patient, rx, fill):
    type(rx).objects.filter(pk=rx.pk).update(sessions_per_day=2)
    go_check(patient)
    assert start(api, patient).status_code == 201
    go_check(patient)
    second = start(api, patient)
    assert second.status_code == 409 and second.json()["code"] == "session_open"


def test_end_records_the_time_plans_the_notices_and_cannot_repeat(api, patient, rx, fill, clock):
    go_check(patient)
    session_id = start(api, patient).json()["session_id"]
    clock.shift(timedelta(minutes=75))
    response = end(api, patient, session_id)
    assert response.status_code == 200
    assert response.json()["status"] == "ended" and response.json()["check_in_status"] == "due"
    assert CheckInNotice.objects.filter(session__public_id=session_id).count() == 2
    again = end(api, patient, session_id)
    assert again.status_code == 409 and again.json()["code"] == "session_not_open"


def test_another_patient_cannot_end_or_see_the_session(api, patient, other_patient, rx, fill):
    go_check(patient)
    session_id = start(api, patient).json()["session_id"]
    assert end(api, other_patient, session_id).status_code == 404
    assert api(other_patient).get("/api/v1/patient/sessions/").json()["count"] == 0
    assert api(patient).get("/api/v1/patient/sessions/").json()["count"] == 1


def test_beat_closes_a_forgotten_session_once_after_the_policy_limit(api, patient, rx, fill, clock):
    go_check(patient)
    session_id = start(api, patient).json()["session_id"]
    clock.shift(timedelta(hours=3, minutes=59))
    assert sessions_auto_close() == 0
    clock.shift(timedelta(minutes=2))
    assert sessions_auto_close() == 1
    assert sessions_auto_close() == 0  # a duplicated beat run closes nothing twice
    session = DosingSession.objects.get(public_id=session_id)
    assert session.status == SessionStatus.AUTO_CLOSED
    assert session.ended_at == session.started_at + timedelta(hours=4)
    assert session.notices.count() == 2


def test_the_fall_back_day_is_one_local_day_of_25_hours(api, patient, rx, fill):
    """1 Nov 2026, DST ends in Miami: 00:10 EDT and 23:50 EST are 24 h 40 min apart, same date."""
    with time_machine.travel("2026-11-01T04:10:00Z", tick=False):  # 00:10 EDT
        go_check(patient)
    with time_machine.travel("2026-11-02T04:50:00Z", tick=False):  # 23:50 EST, still 1 November
        response = start(api, patient)
    assert response.status_code == 201, response.json()
    assert response.json()["local_date"] == "2026-11-01"
    with time_machine.travel("2026-11-02T05:10:00Z", tick=False):  # 00:10 EST, 2 November: a new day
        end(api, patient, response.json()["session_id"])
        go_check(patient)
        second = start(api, patient)
    assert second.status_code == 201, second.json()
    assert second.json()["local_date"] == "2026-11-02"
