"""Data: put the screening of every already-claimed assessment on its patient's chart.

Before this, a claimed assessment's hard stops left no trace on the patient and its review items
lived only behind the `screening_review` flag. Each claimed assessment becomes a Screening and
its answers become Contraindication records (hard stops: pregnancy/nursing, under age). Review
items whose `screening_review` flag a physician already resolved are recorded as resolved by that
physician at that time; everything else is unresolved and waits for a decision. The code lists
are copied here on purpose (a migration must not import the app's code).
"""

from django.db import migrations

CONTRAINDICATIONS = [
    "pregnant_or_nursing",
    "psychotic_disorder_or_mania",
    "substance_dependence",
    "uncontrolled_hypertension",
    "heart_disease",
    "aneurysm_or_brain_bleed",
    "uncontrolled_hyperthyroidism",
    "seizures",
    "severe_lung_disease",
    "liver_disease",
    "bladder_disease",
    "ketamine_hypersensitivity",
]
MEDICATIONS = ["opioids", "benzodiazepines", "maois", "stimulants", "lamotrigine"]
HARD_STOPS = {"pregnant_or_nursing", "under_18"}
NOTE = "Cleared with the screening review flag before contraindication records existed."


def forwards(apps, schema_editor):
    Assessment = apps.get_model("patients", "Assessment")
    Screening = apps.get_model("patients", "Screening")
    Contraindication = apps.get_model("patients", "Contraindication")
    SafetyFlag = apps.get_model("patients", "SafetyFlag")
    for assessment in Assessment.objects.filter(patient__isnull=False).order_by("created_at", "id"):
        if Screening.objects.filter(assessment=assessment).exists():
            continue
        answers = assessment.answers or {}
        found = list(answers.get("contraindications") or [])
        meds = list(answers.get("medications") or [])
        screening = Screening.objects.create(
            patient_id=assessment.patient_id,
            source="assessment",
            assessment=assessment,
            screened_at=assessment.created_at,
            contraindications=found,
            medications=meds,
        )
        codes = [c for c in CONTRAINDICATIONS if c in found] + [f"medication_{m}" for m in MEDICATIONS if m in meds]
        if any(r.get("code") == "under_18" for r in assessment.reasons or []):
            codes.insert(0, "under_18")
        flag = SafetyFlag.objects.filter(source_assessment=assessment, status="resolved").first()
        for code in codes:
            hard = code in HARD_STOPS
            decided = flag is not None and not hard
            if (
                not decided
                and Contraindication.objects.filter(
                    patient_id=assessment.patient_id, code=code, status="unresolved"
                ).exists()
            ):
                continue
            Contraindication.objects.create(
                patient_id=assessment.patient_id,
                code=code,
                severity="hard_stop" if hard else "review",
                source="assessment",
                source_date=assessment.created_at.date(),
                screening=screening,
                status="resolved" if decided else "unresolved",
                decided_at=flag.resolved_at if decided else None,
                decided_by_id=flag.resolved_by_id if decided else None,
                decision_note=NOTE if decided else None,
            )


def backwards(apps, schema_editor):
    Screening = apps.get_model("patients", "Screening")
    Contraindication = apps.get_model("patients", "Contraindication")
    Contraindication.objects.filter(source="assessment").delete()
    Screening.objects.filter(source="assessment").delete()


class Migration(migrations.Migration):
    dependencies = [("patients", "0003_screening_contraindications")]

    operations = [migrations.RunPython(forwards, backwards)]
