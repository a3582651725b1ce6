"""Demo patients: profiles, monitors, signed consents, questionnaire histories, vitals, one open
safety flag, and a lead in the staff review queue. Fake people only. Idempotent (get-or-create).

patient.miami: Miami-Dade (Eastern), dr.florida's caseload, improving PHQ-9 (a responder).
patient.pensacola: Escambia (Central time), dr.both's caseload, an open PHQ-9 item-9 safety flag.
patient.jersey: Hudson NJ, dr.jersey's caseload, GAD-7 and MIDAS history.
patient.new: registered, profile complete, no physician yet (the review queue's "registrations"),
  with a claimed free assessment whose screening put an unresolved "bladder_disease" on the chart.
Screenings on file: the three caseload patients have a physician-entered one (30 days ago);
patient.jersey's "medication_benzodiazepines" is on the chart, resolved by dr.jersey with a note.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.utils import timezone

from accounts.models import Role, User
from api.errors import DomainError
from patients import policy
from patients.models import (
    Assessment,
    ConsentSignature,
    PatientProfile,
    QuestionnaireResponse,
    SafetyFlag,
    VitalReading,
)
from patients.scoring import score
from patients.services.caseload import patient_assign_physician
from patients.services.consents import body_hash, current_documents
from seeds.demo.accounts import demo_user

# email, first, last, dob, address (line1, city, state, zip, county), physician email, questionnaires
PATIENTS = [
    (
        "patient.miami@demo.practice.example",
        "Maya",
        "Rivera",
        dt.date(1986, 4, 12),
        ("1200 Collins Ave", "Miami Beach", "FL", "33139", "12086", "America/New_York"),
        "dr.florida@demo.practice.example",
        [
            ("phq9", 56, [2, 2, 2, 2, 2, 2, 2, 3, 0]),
            ("phq9", 28, [1, 2, 1, 1, 1, 2, 1, 1, 0]),
            ("phq9", 3, [1, 1, 0, 1, 0, 1, 0, 0, 0]),
        ],
    ),
    (
        "patient.pensacola@demo.practice.example",
        "Noah",
        "Bennett",
        dt.date(1979, 9, 3),
        ("10 Palafox Pl", "Pensacola", "FL", "32501", "12033", "America/Chicago"),
        "dr.both@demo.practice.example",
        [("phq9", 21, [2, 2, 2, 2, 1, 2, 1, 1, 0]), ("phq9", 0, [2, 2, 2, 2, 2, 2, 1, 1, 1])],
    ),
    (
        "patient.jersey@demo.practice.example",
        "Ava",
        "Chen",
        dt.date(1992, 1, 30),
        ("200 Washington St", "Hoboken", "NJ", "07030", "34017", "America/New_York"),
        "dr.jersey@demo.practice.example",
        [("gad7", 30, [3, 2, 2, 2, 2, 2, 2]), ("gad7", 2, [1, 1, 1, 1, 1, 1, 1]), ("midas", 2, [4, 3, 5, 2, 1])],
    ),
    (
        "patient.new@demo.practice.example",
        "Liam",
        "Ortiz",
        dt.date(2000, 7, 19),
        ("55 Bayshore Blvd", "Tampa", "FL", "33606", "12057", "America/New_York"),
        None,
        [],
    ),
]


def _profile(user: User, first: str, last: str, dob: dt.date, address: tuple, n: int) -> PatientProfile:
    line1, city, state, zip_code, county, tz = address
    profile, _ = PatientProfile.objects.get_or_create(
        user=user,
        defaults={
            "legal_first_name": first,
            "legal_last_name": last,
            "date_of_birth": dob,
            "phone": f"+1305555{1000 + n:04d}",
            "address_line1": line1,
            "city": city,
            "state": state,
            "zip_code": zip_code,
            "county_id": county,
            "time_zone": tz,
            "address_verified_at": timezone.now(),
            "emergency_contact_name": "Jordan Demo",
            "emergency_contact_phone": f"+1305555{2000 + n:04d}",
            "emergency_contact_relationship": "sibling",
            "monitor_name": "Casey Demo",
            "monitor_phone": f"+1305555{3000 + n:04d}",
            "monitor_relationship": "partner",
            "monitor_adult_confirmed": True,
        },
    )
    return profile


def _sign_all(user: User) -> None:
    for document in current_documents():
        if not ConsentSignature.objects.filter(patient=user, document=document).exists():
            ConsentSignature.objects.create(
                patient=user,
                document=document,
                document_kind=document.kind,
                document_version=document.version,
                body_sha256=body_hash(document.body),
                ip_address="127.0.0.1",
                user_agent="demo seed",
            )


def _questionnaires(user: User, history: list) -> None:
    if QuestionnaireResponse.objects.filter(patient=user).exists():
        return
    now = timezone.now()
    baselines: set[str] = set()
    for instrument, days_ago, answers in history:
        scored = score(instrument, answers)
        response = QuestionnaireResponse.objects.create(
            patient=user,
            instrument=instrument,
            answers=list(scored.answers),
            total=scored.total,
            band=scored.band,
            taken_at=now - dt.timedelta(days=days_ago),
            is_baseline=instrument not in baselines,
        )
        baselines.add(instrument)
        if policy.self_harm_positive(scored):
            # Created directly (no alert email from demo data).
            SafetyFlag.objects.get_or_create(
                patient=user,
                kind="phq9_item9",
                status="open",
                defaults={"source_questionnaire": response, "opened_at": response.taken_at},
            )


def _vitals(user: User) -> None:
    if VitalReading.objects.filter(patient=user).exists():
        return
    now = timezone.now()
    for days_ago, systolic, diastolic in ((14, 128, 82), (7, 124, 80), (1, 131, 84)):
        VitalReading.objects.create(
            patient=user, systolic=systolic, diastolic=diastolic, measured_at=now - dt.timedelta(days=days_ago)
        )


def _screening(user: User, physician: User | None, email: str) -> None:
    """A screening on file (prescribing needs one within the policy window), through the services."""
    from patients.models import Contraindication, Screening
    from patients.services.screening import contraindication_decide, screening_from_assessment, screening_record

    if Screening.objects.filter(patient=user).exists():
        return
    if email.startswith("patient.new"):
        token_hash = hashlib.sha256(f"demo-claimed-{email}".encode()).hexdigest()
        assessment, _ = Assessment.objects.get_or_create(
            claim_token_hash=token_hash,
            defaults={
                "date_of_birth": dt.date(2000, 7, 19),
                "zip_code": "33606",
                "state": "FL",
                "county_id": "12057",
                "time_zone": "America/New_York",
                "answers": {"contraindications": ["bladder_disease"], "medications": []},
                "outcome": "needs_review",
                "reasons": [{"code": "bladder_disease", "message": "Bladder disease or cystitis."}],
                "patient": user,
                "claimed_at": timezone.now(),
            },
        )
        screening_from_assessment(patient=user, assessment=assessment)
        return
    if physician is None:  # the practice step has not run: no physician to enter a screening
        return
    medications = ["benzodiazepines"] if email.startswith("patient.jersey") else []
    screening = screening_record(actor=physician, patient=user, contraindications=[], medications=medications)
    Screening.objects.filter(pk=screening.pk).update(screened_at=timezone.now() - dt.timedelta(days=30))
    for record in Contraindication.objects.filter(patient=user, status="unresolved"):
        contraindication_decide(
            actor=physician,
            contraindication=record,
            decision="resolved",
            note="Demo: low nightly dose, no use within 24 hours of a session; reviewed at consultation.",
        )


def _lead() -> None:
    token_hash = hashlib.sha256(b"demo-lead-not-claimable").hexdigest()
    Assessment.objects.get_or_create(
        claim_token_hash=token_hash,
        defaults={
            "date_of_birth": dt.date(1975, 5, 5),
            "zip_code": "08401",
            "state": "NJ",
            "county_id": "34001",
            "time_zone": "America/New_York",
            "answers": {
                "conditions": ["depression", "chronic_pain"],
                "treatments_tried": ["antidepressants"],
                "contraindications": ["uncontrolled_hypertension"],
                "medications": ["benzodiazepines"],
                "phq9": None,
                "gad7": None,
            },
            "outcome": "needs_review",
            "reasons": [
                {"code": "uncontrolled_hypertension", "message": "Uncontrolled high blood pressure."},
                {"code": "medication_benzodiazepines", "message": "Benzodiazepines."},
            ],
            "consent_to_contact": True,
            "contact_name": "Riley Demo",
            "contact_email": "lead@demo.practice.example",
        },
    )


def run(stdout) -> None:
    assigned = 0
    for n, (email, first, last, dob, address, physician_email, history) in enumerate(PATIENTS):
        user = demo_user(email, Role.PATIENT, first, last)
        profile = _profile(user, first, last, dob, address, n)
        _sign_all(user)
        _questionnaires(user, history)
        _vitals(user)
        physician = User.objects.filter(email=physician_email, role=Role.PHYSICIAN).first() if physician_email else None
        if physician is not None and profile.assigned_physician_id is None:
            try:
                patient_assign_physician(actor=None, patient=user, physician=physician)
                assigned += 1
            except DomainError as exc:  # the practice step may not have licensed them: leave unassigned
                stdout.write(f"  (left {email} unassigned: {exc.code})")
        profile.refresh_from_db()
        _screening(user, profile.assigned_physician, email)
    _lead()
    open_flags = SafetyFlag.objects.filter(patient__email__in=[p[0] for p in PATIENTS], status="open").count()
    stdout.write(
        f"  {len(PATIENTS)} demo patients ({assigned} newly assigned), {open_flags} open safety flags "
        "(an item-9 flag, a screening awaiting a physician's decision), 1 lead to review"
    )
