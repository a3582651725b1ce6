"""Demo scheduling data: working hours for the demo physicians and a spread of visits.

Two offices for in-person evaluations (docs/in-person-visits.md): Miami (FL) and Newark (NJ).
dr.both sees patients in person in Miami on Tuesdays and in Newark on Thursdays, dr.florida in
Miami on Wednesdays, dr.jersey in Newark on Tuesdays (9-12 and 13-16, the office's time); their
video hours are the other weekdays, so the two never overlap. patient.miami has had a completed
in-person evaluation with dr.florida at the Miami office.

Idempotent: offices are keyed by name; weekly hours are added only to a physician without any;
each demo visit is keyed by (patient, idempotency_key) and created once. Missing demo users are
skipped. Past visits are written directly (the booking service refuses the past on purpose).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import User
from scheduling import contracts
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    InPersonEvaluation,
    Modality,
    VisitLocation,
    WeeklyAvailability,
)
from scheduling.services.reminders import reminders_plan

PHYSICIANS = [
    "dr.florida@demo.practice.example",
    "dr.jersey@demo.practice.example",
    "dr.both@demo.practice.example",
    "dr.expiring@demo.practice.example",
]
HOURS = [(dt.time(9), dt.time(12)), (dt.time(13), dt.time(17))]  # Monday to Friday, physician's zone
IN_PERSON_HOURS = [(dt.time(9), dt.time(12)), (dt.time(13), dt.time(16))]  # the office's zone

# Practice offices (addresses of the practice, not of patients; demo data).
OFFICES = [
    {
        "name": "Miami office",
        "address_line1": "200 Biscayne Blvd",
        "address_line2": "Suite 1200",
        "city": "Miami",
        "state": "FL",
        "zip_code": "33131",
        "time_zone": "America/New_York",
        "instructions": "Check in at the 12th-floor reception. Validated parking in the building garage.",
    },
    {
        "name": "Newark office",
        "address_line1": "1 Gateway Center",
        "address_line2": "Suite 2600",
        "city": "Newark",
        "state": "NJ",
        "zip_code": "07102",
        "time_zone": "America/New_York",
        "instructions": "Bring a photo ID for the lobby desk. Steps from Newark Penn Station.",
    },
]
# physician email -> [(office name, weekday)]: in-person days (no video hours on them)
IN_PERSON_DAYS = {
    "dr.both@demo.practice.example": [("Miami office", 1), ("Newark office", 3)],
    "dr.florida@demo.practice.example": [("Miami office", 2)],
    "dr.jersey@demo.practice.example": [("Newark office", 1)],
}

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
    offices = {}
    for office in OFFICES:
        offices[office["name"]], _ = VisitLocation.objects.get_or_create(name=office["name"], defaults=office)
    physicians = {u.email: u for u in User.objects.filter(email__in=PHYSICIANS)}
    added = _weekly_hours(physicians, offices)
    types = {t.code: t for t in AppointmentType.objects.all()}
    now = timezone.now()
    created = sum(_demo_visit(n, visit, physicians, types, now) for n, visit in enumerate(VISITS))
    evaluations = _completed_in_person_visit(offices["Miami office"], physicians, types, now)
    stdout.write(
        f"  {len(offices)} offices, {added} weekly availability blocks, {created} visits, "
        f"{evaluations} in-person evaluation visit"
    )


def _weekly_hours(physicians: dict, offices: dict) -> int:
    """Weekday hours for each demo physician without any: at an office on their in-person days, by
    video on the others. Returns the number of blocks added."""
    added = 0
    for email, physician in physicians.items():
        if WeeklyAvailability.objects.filter(physician=physician).exists():
            continue
        in_person = {weekday: offices[name] for name, weekday in IN_PERSON_DAYS.get(email, [])}
        for weekday in range(5):
            location = in_person.get(weekday)
            for start, end in IN_PERSON_HOURS if location else HOURS:
                WeeklyAvailability.objects.create(
                    physician=physician, location=location, weekday=weekday, start_time=start, end_time=end
                )
                added += 1
    return added


def _demo_visit(n: int, visit: tuple, physicians: dict, types: dict, now: dt.datetime) -> bool:
    """The n-th demo visit, unless it exists, its people are missing or its time is taken."""
    email, physician_email, type_code, status, days, at = visit
    patient = User.objects.filter(email=email).first()
    if patient is None or type_code not in types:
        return False
    physician_id = contracts.assigned_physician_id(patient)
    physician = physicians.get(physician_email) if physician_email else User.objects.filter(pk=physician_id).first()
    location = contracts.patient_location(patient=patient)
    if physician is None or location is None:
        return False
    key = f"demo-visit-{n}"
    if Appointment.objects.filter(patient=patient, idempotency_key=key).exists():
        return False
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
        return False
    completed = status == AppointmentStatus.COMPLETED
    cancelled = status == AppointmentStatus.CANCELLED
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
        patient_state_at_visit=location.state if completed else "",
        visit_note="Demo visit note (not a real patient)." if completed else None,
        started_at=starts_at if completed else None,
        completed_at=ends_at if completed else None,
        cancelled_at=now if cancelled else None,
        cancelled_by=patient if cancelled else None,
    )
    if status == AppointmentStatus.BOOKED:
        reminders_plan(appointment=appointment, now=now)
    return True


def _completed_in_person_visit(office: VisitLocation, physicians: dict, types: dict, now: dt.datetime) -> int:
    """patient.miami's in-person evaluation with dr.florida at the Miami office, last Wednesday
    (or the one before), completed with the attestation and its InPersonEvaluation record."""
    patient = User.objects.filter(email="patient.miami@demo.practice.example").first()
    physician = physicians.get("dr.florida@demo.practice.example")
    appointment_type = types.get("in_person_evaluation")
    key = "demo-in-person-evaluation"
    if patient is None or physician is None or appointment_type is None:
        return 0
    if Appointment.objects.filter(patient=patient, idempotency_key=key).exists():
        return 0
    tz = contracts.zone(office.time_zone)
    day = timezone.localdate(now, tz) - dt.timedelta(days=7)
    while day.weekday() != 2:
        day -= dt.timedelta(days=1)
    starts_at = dt.datetime.combine(day, dt.time(10), tzinfo=tz).astimezone(dt.UTC)
    ends_at = starts_at + dt.timedelta(minutes=appointment_type.duration_minutes)
    appointment = Appointment.objects.create(
        patient=patient,
        physician=physician,
        appointment_type=appointment_type,
        starts_at=starts_at,
        ends_at=ends_at,
        buffer_minutes=appointment_type.buffer_minutes,
        status=AppointmentStatus.COMPLETED,
        idempotency_key=key,
        patient_state=office.state,
        patient_state_at_visit=office.state,
        modality=Modality.IN_PERSON,
        location=office,
        visit_note="Demo in-person evaluation note (not a real patient).",
        started_at=starts_at,
        completed_at=ends_at,
    )
    InPersonEvaluation.objects.create(
        patient=patient,
        physician=physician,
        evaluated_on=day,
        source="visit",
        appointment=appointment,
        location=office,
        place_address=office.address_text,
        place_state=office.state,
        others_present="Medical assistant (demo)",
        attested_by=physician,
        attested_at=ends_at,
    )
    return 1
