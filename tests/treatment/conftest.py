"""The treatment cast: a Miami patient (Eastern time) on `physician`'s caseload with a treatment
monitor, a membership, a signed prescription (8 troches per fill, 1 per session, default 2
sessions a week) and one delivered fill of 4; helpers for the pre-session check and sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from patients.services.vitals import Reading, pre_session_check_submit
from prescriptions.models import OrderStatus
from tests.prescriptions.factories import DeliveryOrderFactory, SignedPrescriptionFactory, licensed_pharmacy

NOW = "2026-11-20T15:00:00Z"  # Friday 10:00 in Miami (EST)


@pytest.fixture(autouse=True)
def _frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clock(_frozen_now):
    return _frozen_now


@pytest.fixture(autouse=True)
def _treatment_settings(settings):
    settings.CARE_TEAM_ALERT_EMAILS = ["care-team@practice.example"]
    settings.SMS_BACKEND = "locmem"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def profile(patient, physician):
    """The patient on the physician's caseload with every prescribing gate met (licence, DEA,
    consents, screening, a recent evaluation, membership): later fills pass the shared gate."""
    from patients.models import PatientProfile
    from tests.prescriptions.conftest import make_ready

    make_ready(patient, physician)
    return PatientProfile.objects.get(user=patient)


@pytest.fixture
def rx(patient, physician, profile):
    return SignedPrescriptionFactory(
        patient=patient, physician=physician, quantity=8, refills=3, pharmacy=licensed_pharmacy("FL", "NJ")
    )


def deliver(rx, *, quantity=4, days_ago=3, sequence=None):
    delivered_at = timezone.now() - timedelta(days=days_ago)
    return DeliveryOrderFactory(
        prescription=rx,
        quantity=quantity,
        status=OrderStatus.DELIVERED,
        delivered_at=delivered_at,
        shipped_at=delivered_at - timedelta(days=1),
        **({"sequence": sequence} if sequence else {}),
    )


@pytest.fixture
def fill(rx):
    return deliver(rx)


def go_check(patient, systolic=122, diastolic=78):
    return pre_session_check_submit(
        patient=patient,
        readings=[Reading(systolic, diastolic), Reading(systolic - 2, diastolic - 2)],
        rested_5_minutes=True,
        monitor_present=True,
        monitor_adult=True,
        monitor_sober=True,
        pregnant_or_nursing=False,
    ).check


def start(api, patient, monitor_attested=True):
    return api(patient).post("/api/v1/patient/sessions/", {"monitor_attested": monitor_attested}, format="json")


def end(api, patient, session_id):
    return api(patient).post(f"/api/v1/patient/sessions/{session_id}/end/", {}, format="json")


def reason_codes(response):
    return [r["code"] for r in response.json().get("reasons", [])]


CALM = {
    "overall": 7,
    "nausea_vomiting": False,
    "dizziness": False,
    "dissociation": 3,
    "headache": False,
    "urinary_pain": False,
    "blood_in_urine": False,
    "did_not_drive": True,
    "notes": "",
}


def check_in(api, patient, session_id, **answers):
    return api(patient).post(f"/api/v1/patient/sessions/{session_id}/check-in/", {**CALM, **answers}, format="json")


def run_session(api, patient, clock=None, minutes=90):
    """A go check, a session started and ended `minutes` later; returns the session id."""
    go_check(patient)
    response = start(api, patient)
    assert response.status_code == 201, response.json()
    session_id = response.json()["session_id"]
    if clock is not None:
        clock.shift(timedelta(minutes=minutes))
    assert end(api, patient, session_id).status_code == 200
    return session_id


def dosing_session(rx, *, at, fill=None, dose_units=1, ended=True, time_zone="America/New_York"):
    """A session recorded directly (no API: any date, no gate), started at `at` (aware), its
    local date in `time_zone`; with a go check of its own and, unless given, a delivered fill."""
    from zoneinfo import ZoneInfo

    from patients.models import PreSessionCheck
    from treatment.models import DosingSession

    if fill is None:
        fill = DeliveryOrderFactory(
            prescription=rx, quantity=10, status=OrderStatus.DELIVERED, delivered_at=at - timedelta(days=1)
        )
    check = PreSessionCheck.objects.create(
        patient=rx.patient,
        checked_at=at,
        rested_5_minutes=True,
        monitor_present=True,
        monitor_adult=True,
        monitor_sober=True,
        judged_systolic=120,
        judged_diastolic=80,
        outcome="go",
    )
    return DosingSession.objects.create(
        patient=rx.patient,
        prescription=rx,
        fill=fill,
        product=rx.product,
        pre_session_check=check,
        dose_units=dose_units,
        dispensing_unit="troche",
        dose_text=rx.dose,
        monitor_name="Mo Nitor",
        monitor_attested_at=at,
        started_at=at,
        local_date=at.astimezone(ZoneInfo(time_zone)).date(),
        time_zone=time_zone,
        ended_at=at + timedelta(hours=1) if ended else None,
        status="ended" if ended else "open",
    )
