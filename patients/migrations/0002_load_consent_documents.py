"""The first version of each consent document, so every environment has something to sign.

Texts are the practice's plain-language summaries; the medical director publishes new versions
(a new row with a higher version and a later effective_at) and patients re-sign.
"""

from datetime import UTC, datetime

from django.db import migrations

EFFECTIVE_AT = datetime(2026, 1, 1, tzinfo=UTC)

DOCUMENTS = [
    (
        "telehealth",
        "Consent to telehealth care",
        "I agree to receive care by secure video and messaging. I understand that telehealth has limits: "
        "the physician cannot examine me in person, technology can fail, and I must be physically in Florida "
        "or New Jersey at the time of each visit. I will give my true location and seek in-person or "
        "emergency care (call 911) when needed. I may withdraw this consent at any time.",
    ),
    (
        "ketamine_informed_consent",
        "Informed consent for compounded ketamine taken at home",
        "Ketamine is approved by the FDA only as an anesthetic given by injection under medical supervision. "
        "The compounded ketamine prescribed to me (troches, sublingual tablets or nasal spray) is not "
        "FDA-approved for depression, anxiety, PTSD or pain, and compounded drugs are not reviewed by the FDA "
        "for safety, effectiveness or quality. The FDA has warned (October 2023) about the risks of "
        "compounded ketamine used at home without monitoring by a health care provider, including "
        "dissociation, sedation, breathing problems, high blood pressure, abuse and misuse, bladder problems, "
        "and worsening of psychiatric symptoms including suicidal thoughts. I agree to: take it only as "
        "prescribed; have an adult treatment monitor present, sober, for every session; check my blood "
        "pressure before each session and not dose when the app says to hold; not drive or operate machinery "
        "until the next day; not combine it with alcohol or other sedatives; store it locked away from others; "
        "and report any side effect or thought of self-harm at once (call or text 988, or 911 in an emergency).",
    ),
    (
        "controlled_substance_agreement",
        "Controlled-substance agreement",
        "Ketamine is a Schedule III controlled substance. I will receive it from one prescriber and one "
        "pharmacy only, keep it secured, never share or sell it, not request early refills for lost or stolen "
        "medication without a police report, and understand that my prescription history may be checked in "
        "the state prescription-monitoring program. Breaking this agreement may end my treatment.",
    ),
    (
        "privacy_notice",
        "Notice of privacy practices",
        "This notice describes how medical information about me may be used and disclosed and how I can get "
        "access to it. My information is used for treatment, payment and health-care operations, shared with "
        "the pharmacy that fills my prescriptions and with vendors under business-associate agreements, and "
        "every access by the care team is recorded. I may request a copy of my record, an accounting of "
        "disclosures, and corrections.",
    ),
]


def load(apps, schema_editor):
    ConsentDocument = apps.get_model("patients", "ConsentDocument")
    for kind, title, body in DOCUMENTS:
        ConsentDocument.objects.get_or_create(
            kind=kind, version=1, defaults={"title": title, "body": body, "effective_at": EFFECTIVE_AT}
        )


def unload(apps, schema_editor):
    ConsentDocument = apps.get_model("patients", "ConsentDocument")
    ConsentSignature = apps.get_model("patients", "ConsentSignature")
    # Never remove a document someone signed (the signature points at it, PROTECT).
    signed = ConsentSignature.objects.values_list("document_id", flat=True)
    ConsentDocument.objects.filter(version=1).exclude(pk__in=signed).delete()


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
