"""Demo scheduling data: working hours for the demo physicians and a spread of visits.

Idempotent: weekly hours are added only to a physician without any; each demo visit is keyed
by (patient, idempotency_key) and created once. Missing demo users are skipped.
Past visits are written directly (the booking service refuses the past on purpose).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import User
from scheduling import contracts
from scheduling.models import Appointment, AppointmentStatus, AppointmentType, WeeklyAvailability
from scheduling.services.reminders import reminders_plan

PHYSICIANS = [
    "dr.florida@demo.practice.example",
    "dr.jersey@demo.practice.example",
    "dr.both@demo.practice.example",
    "dr.expiring@demo.practice.example",
]
HOURS = [(dt.time(9), dt.time(12)), (dt.time(13), dt.time(17))]  # Monday to Friday, physician's zone

# patient email, physician email (None: the patient's assigned physician), type, status, days from today, local time
VISITS = [
    ("patient.miami@demo.practice.example", None, "free_consultation", "completed", -21, dt.time(10)),
    ("patient.miami@demo.practice.example", None, "follow_up", "booked", 3, dt.time(10)),
    ("patient.pensacola@demo.practice.example", None, "free_consultation", "completed", -14, dt.time(11)),
    ("patient.pensacola@demo.practice.example", None, "follow_up", "cancelled", 2, dt.time(14)),
    ("patient.pensacola@demo.practice.example", None, "follow_up", "booked", 6, dt.time(14)),
    ("patient.jersey@demo.practice.example", None, "free_consultation", "completed", -10, dt.time(9, 30)),
    ("patient.jersey@demo.practice.example", None, "medication_review", "no_show", -3, dt.time(15)),
    (
        "patient.new@demo.practice.example",
        "dr.florida@demo.practice.example",
        "free_consultation",
        "booked",
        2,
        dt.time(11),
    ),
]


def _weekday_from(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1 if day >= timezone.localdate() else -1)
    return day


def run(stdout) -> None:
    physicians = {u.email: u for u in User.objects.filter(email__in=PHYSICIANS)}
    added = 0
    for physician in physicians.values():
        if WeeklyAvailability.objects.filter(physician=physician).exists():
            continue
        for weekday in range(5):
            for start, end in HOURS:
                WeeklyAvailability.objects.create(physician=physician, weekday=weekday, start_time=start, end_time=end)
                added += 1

    types = {t.code: t for t in AppointmentType.objects.all()}
    created = 0
    now = timezone.now()
    for n, (email, physician_email, type_code, status, days, at) in enumerate(VISITS):
        patient = User.objects.filter(email=email).first()
        if patient is None or type_code not in types:
            continue
        physician_id = contracts.assigned_physician_id(patient)
        physician = physicians.get(physician_email) if physician_email else User.objects.filter(pk=physician_id).first()
        location = contracts.patient_location(patient=patient)
        if physician is None or location is None:
            continue
        key = f"demo-visit-{n}"
        if Appointment.objects.filter(patient=patient, idempotency_key=key).exists():
            continue
        tz = contracts.physician_infos([physician.pk])[physician.pk].time_zone
        day = _weekday_from(timezone.localdate() + dt.timedelta(days=days))
        starts_at = dt.datetime.combine(day, at, tzinfo=tz).astimezone(dt.UTC)
        appointment_type = types[type_code]
        ends_at = starts_at + dt.timedelta(minutes=appointment_type.duration_minutes)
        if Appointment.objects.filter(
            physician=physician,
            status__in=["booked", "in_progress", "completed"],
            starts_at__lt=ends_at,
            ends_at__gt=starts_at,
        ).exists():
            continue
        appointment = Appointment.objects.create(
            patient=patient,
            physician=physician,
            appointment_type=appointment_type,
            starts_at=starts_at,
            ends_at=ends_at,
            buffer_minutes=appointment_type.buffer_minutes,
            status=status,
            idempotency_key=key,
            patient_state=location.state,
            patient_state_at_visit=location.state if status == AppointmentStatus.COMPLETED else "",
            visit_note="Demo visit note (not a real patient)." if status == AppointmentStatus.COMPLETED else None,
            started_at=starts_at if status == AppointmentStatus.COMPLETED else None,
            completed_at=ends_at if status == AppointmentStatus.COMPLETED else None,
            cancelled_at=now if status == AppointmentStatus.CANCELLED else None,
            cancelled_by=patient if status == AppointmentStatus.CANCELLED else None,
        )
        if status == AppointmentStatus.BOOKED:
            reminders_plan(appointment=appointment, now=now)
        created += 1
    stdout.write(f"  {added} weekly availability blocks, {created} visits")
