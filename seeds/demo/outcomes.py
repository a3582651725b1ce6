"""Demo headache outcomes: four months of diary for two patients, PEG-3 scores, cluster attacks.

patient.miami: chronic migraine before treatment (about 16 headache / 12 migraine days a month),
  falling to 6 / 5 after: a 50 % responder, not a 75 % one, whatever today's date (the current
  window ends today, which has no entry yet: it holds 4 or 5 migraine days over 26 or 27 logged
  days, a 57-67 % fall; with 4 a month it could hold 3, a 75 % fall on some dates).
patient.jersey: about 12 headache / 9 migraine days a month throughout: a non-responder.
patient.pensacola: a few cluster attacks this month.
Treatment starts with each patient's first dosing session (patient.miami's first was 30 days ago,
seeds/demo/treatment.py, which runs first), else the first signed prescription
(seeds/demo/prescriptions.py); a patient with neither gets no diary. Idempotent: a patient who
already has a diary is left alone.
"""

from __future__ import annotations

import random
from datetime import time, timedelta

from django.utils import timezone

from accounts.models import User
from outcomes.models import ClusterAttack, DiaryReminderPreference, HeadacheDiaryEntry
from outcomes.selectors import patient_today, patient_zone, treatment_start
from patients.models import QuestionnaireResponse
from patients.scoring import score

DIARY_DAYS = 120
MIGRAINE_FEATURES = ["unilateral", "pulsating", "moderate_or_severe", "light_and_sound_sensitivity"]
PLAIN_FEATURES = ["moderate_or_severe"]

# email -> (headache, migraine days per 28 before treatment), (after), PEG-3 answers (before, after)
PLANS = {
    "patient.miami@demo.practice.example": ((16, 12), (6, 5), ([7, 7, 6], [3, 2, 3])),
    "patient.jersey@demo.practice.example": ((12, 9), (11, 8), ([6, 6, 5], [6, 5, 5])),
}


def _diary(patient: User, before: tuple[int, int], after: tuple[int, int], rng: random.Random) -> int:
    zone = patient_zone(patient=patient)
    start = treatment_start(patient=patient, zone=zone)
    if start is None or HeadacheDiaryEntry.objects.filter(patient=patient).exists():
        return 0
    today = patient_today(patient=patient, zone=zone)
    rows = []
    for offset in range(DIARY_DAYS, 0, -1):
        day = today - timedelta(days=offset)
        # 11 and 5 are coprime with 28: over any 28 consecutive days each residue occurs once, so
        # every window holds exactly `rate` headache days and one unlogged day.
        slot = (day.toordinal() * 11) % 28
        if (day.toordinal() * 5) % 28 == 0:
            continue  # a day not logged: missing, never headache-free
        headache_rate, migraine_rate = before if day < start.on else after
        headache = slot < headache_rate
        migraine = slot < migraine_rate
        meds = []
        if migraine:
            meds = [{"class": "triptan", "doses": 1}] if rng.random() < 0.5 else [{"class": "gepant", "doses": 1}]
        elif headache and rng.random() < 0.5:
            meds = [{"class": "simple_analgesic", "doses": 2}]
        rows.append(
            HeadacheDiaryEntry(
                patient=patient,
                date=day,
                headache=headache,
                peak_pain=rng.randint(6, 9) if migraine else rng.randint(2, 5) if headache else None,
                hours=rng.choice([4, 6, 8, 12]) if headache else None,
                features=MIGRAINE_FEATURES if migraine else PLAIN_FEATURES if headache else [],
                aura=migraine and rng.random() < 0.2,
                acute_medications=meds,
                hours_lost=rng.choice([0, 2, 4]) if migraine else None,
            )
        )
    HeadacheDiaryEntry.objects.bulk_create(rows)
    return len(rows)


def _peg(patient: User, answers_before: list[int], answers_after: list[int]) -> None:
    if QuestionnaireResponse.objects.filter(patient=patient, instrument="peg3").exists():
        return
    now = timezone.now()
    for days_ago, answers, baseline in ((70, answers_before, True), (10, answers_after, False)):
        scored = score("peg3", answers)
        QuestionnaireResponse.objects.create(
            patient=patient,
            instrument="peg3",
            answers=list(scored.answers),
            total=scored.total,
            band=scored.band,
            taken_at=now - timedelta(days=days_ago),
            is_baseline=baseline,
        )


def run(stdout) -> None:
    rng = random.Random(6)
    for email, (before, after, (peg_before, peg_after)) in PLANS.items():
        patient = User.objects.filter(email=email).first()
        if patient is None:
            continue
        logged = _diary(patient, before, after, rng)
        _peg(patient, peg_before, peg_after)
        stdout.write(f"  {email}: {logged} diary days")
    miami = User.objects.filter(email="patient.miami@demo.practice.example").first()
    if miami is not None:
        DiaryReminderPreference.objects.get_or_create(
            patient=miami, defaults={"enabled": True, "local_time": time(20, 30)}
        )
    pensacola = User.objects.filter(email="patient.pensacola@demo.practice.example").first()
    if pensacola is not None and not ClusterAttack.objects.filter(patient=pensacola).exists():
        now = timezone.now().replace(minute=0, second=0, microsecond=0)
        for days_ago, hours, minutes in ((2, 20, 45), (3, 20, 60), (3, 6, 30), (9, 21, 90)):
            ClusterAttack.objects.create(
                patient=pensacola,
                started_at=now - timedelta(days=days_ago, hours=hours),
                minutes=minutes,
                side="right",
                autonomic_signs=["lacrimation", "rhinorrhoea", "restlessness"],
                treatment=["oxygen"],
                relief="complete",
            )
