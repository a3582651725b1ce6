"""Demo treatment: patient.miami mid-treatment. Her first fill (4 troches) was delivered; she has
taken three sessions from it (each after a go pre-session check, her monitor attested): two with
check-ins (one calm, one with nausea, a headache and moderate dissociation) and the latest ended
two days ago without a check-in (the reminder and the care-team alert already sent, so the care
team sees it overdue). One dose is left: supply running low, run-out within the week.

Demo shortcut (documented): the sessions are written directly with past times (the service only
starts a session now). Idempotent: a patient who already has sessions is left alone.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone

from accounts.models import User
from patients.models import CheckOutcome, PreSessionCheck, VitalReading
from prescriptions.models import DeliveryOrder, OrderStatus
from treatment.models import CheckInNotice, DosingSession, NoticeStatus, SessionCheckIn, SessionStatus
from treatment.services.sessions import _plan_notices, patient_zone

EMAIL = "patient.miami@demo.practice.example"

# days ago, minutes long, check-in answers (None: missed)
SESSIONS = [
    (30, 95, {"overall": 8, "dissociation": 4, "nausea_vomiting": False, "headache": False}),
    (8, 110, {"overall": 6, "dissociation": 6, "nausea_vomiting": True, "headache": True}),
    (2, 100, None),
]


def run(stdout) -> None:
    patient = User.objects.filter(email=EMAIL).select_related("patient_profile").first()
    if patient is None or not hasattr(patient, "patient_profile"):
        return
    if DosingSession.objects.filter(patient=patient).exists():
        return
    fill = (
        DeliveryOrder.objects.filter(patient=patient, status=OrderStatus.DELIVERED)
        .select_related("prescription__product")
        .order_by("delivered_at")
        .first()
    )
    if fill is None:
        return
    profile = patient.patient_profile
    zone = patient_zone(profile)
    now = timezone.now()
    for days_ago, minutes, answers in SESSIONS:
        day = timezone.localtime(now, zone).date() - timedelta(days=days_ago)
        started = datetime.combine(day, time(19), tzinfo=zone)  # 7 PM at home
        check = _go_check(patient, checked_at=started - timedelta(minutes=15))
        session = _ended_session(fill, check, profile=profile, started=started, minutes=minutes, zone=zone)
        _plan_notices(session)
        if answers is None:
            CheckInNotice.objects.filter(session=session).update(status=NoticeStatus.SENT, sent_at=now)
            continue
        SessionCheckIn.objects.create(
            session=session,
            submitted_at=session.ended_at + timedelta(minutes=40),
            dizziness=False,
            urinary_pain=False,
            blood_in_urine=False,
            did_not_drive=True,
            notes="Demo: calm afterwards, slept well.",
            **answers,
        )
        CheckInNotice.objects.filter(session=session).update(status=NoticeStatus.SKIPPED)
    stdout.write(f"  {len(SESSIONS)} demo sessions for the mid-treatment patient")


def _go_check(patient: User, *, checked_at: datetime) -> PreSessionCheck:
    """A pre-session check that cleared the patient, with its two blood-pressure readings."""
    check = PreSessionCheck.objects.create(
        patient=patient,
        checked_at=checked_at,
        rested_5_minutes=True,
        monitor_present=True,
        monitor_adult=True,
        monitor_sober=True,
        judged_systolic=124,
        judged_diastolic=79,
        outcome=CheckOutcome.GO,
        reasons=[],
    )
    for sequence, (systolic, diastolic) in enumerate([(124, 79), (121, 77)], start=1):
        VitalReading.objects.create(
            patient=patient,
            measured_at=check.checked_at,
            systolic=systolic,
            diastolic=diastolic,
            pre_session_check=check,
            sequence=sequence,
        )
    return check


def _ended_session(fill, check: PreSessionCheck, *, profile, started: datetime, minutes: int, zone) -> DosingSession:
    rx = fill.prescription
    return DosingSession.objects.create(
        patient=check.patient,
        prescription=rx,
        fill=fill,
        product=rx.product,
        pre_session_check=check,
        dose_units=rx.units_per_session,
        dispensing_unit=rx.product.dispensing_unit,
        dose_text=rx.dose,
        monitor_name=profile.monitor_name or "Demo monitor",
        monitor_attested_at=started,
        started_at=started,
        local_date=started.astimezone(zone).date(),
        time_zone=str(zone),
        ended_at=started + timedelta(minutes=minutes),
        status=SessionStatus.ENDED,
    )
