"""Code systems, identifier systems and profiles of the FHIR output (docs/fhir.md#codes).

Standard systems where a standard code exists and could be verified; a local system
(`LOCAL_*`, under `LOCAL_BASE`) otherwise, never a guessed standard code.
"""

from __future__ import annotations

from dataclasses import dataclass

from patients.scoring import GAD7, MIDAS, PCL5, PEG3, PHQ9

FHIR_VERSION = "4.3.0"  # R4B

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NPI = "http://hl7.org/fhir/sid/us-npi"
# The DEA number's OID (HL7 identifier registry: "DEA number").
DEA = "urn:oid:2.16.840.1.113883.4.814"
V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
V2_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/v2-0131"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_PHARMACY_SUPPLY = "http://terminology.hl7.org/CodeSystem/v3-ActPharmacySupplyType"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_CATEGORY_LOINC = "59284-0"  # LOINC "Patient Consent"

LOCAL_BASE = "https://practice.example/fhir"
LOCAL_PATIENT_ID = f"{LOCAL_BASE}/sid/patient"
LOCAL_LICENCE = f"{LOCAL_BASE}/sid/state-licence"  # + "/FL" or "/NJ"
LOCAL_NJ_CDS = f"{LOCAL_BASE}/sid/nj-cds"
LOCAL_INSTRUMENT = f"{LOCAL_BASE}/CodeSystem/instrument-score"
LOCAL_OUTCOME = f"{LOCAL_BASE}/CodeSystem/outcome"
LOCAL_SAFETY_FLAG = f"{LOCAL_BASE}/CodeSystem/safety-flag"
LOCAL_VISIT_TYPE = f"{LOCAL_BASE}/CodeSystem/visit-type"
LOCAL_CREDENTIAL = f"{LOCAL_BASE}/CodeSystem/credential"
LOCAL_CONSENT_DOCUMENT = f"{LOCAL_BASE}/consent-document"  # + "/<kind>/v<version>"
LOCAL_QUESTIONNAIRE = f"{LOCAL_BASE}/Questionnaire"  # + "/<instrument>"

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"
PROFILE = {
    "Patient": f"{US_CORE}/us-core-patient",
    "Practitioner": f"{US_CORE}/us-core-practitioner",
    "Encounter": f"{US_CORE}/us-core-encounter",
    "MedicationRequest": f"{US_CORE}/us-core-medicationrequest",
    "Medication": f"{US_CORE}/us-core-medication",
    "QuestionnaireResponse": f"{US_CORE}/us-core-questionnaireresponse",
    "survey": f"{US_CORE}/us-core-observation-survey",
    "blood-pressure": f"{US_CORE}/us-core-blood-pressure",
}

# Ketamine, the RxNorm ingredient (TTY IN) every compounded product is made of. A compounded
# product has no RxNorm concept of its own: it carries its ingredient (docs/fhir.md#medications).
KETAMINE_RXNORM = "6130"

BLOOD_PRESSURE_PANEL = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")


@dataclass(frozen=True)
class InstrumentCode:
    system: str
    code: str
    display: str
    panel: str | None = None  # the LOINC panel of the whole form, where verified


# Total scores: LOINC where the code was verified (docs/fhir.md#instruments); the others carry a
# local code until a verified LOINC code replaces it.
INSTRUMENT_CODES: dict[str, InstrumentCode] = {
    PHQ9: InstrumentCode(
        LOINC, "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]", "44249-1"
    ),
    GAD7: InstrumentCode(
        LOINC, "70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]", "69737-5"
    ),
    PCL5: InstrumentCode(LOCAL_INSTRUMENT, "pcl5-total", "PTSD Checklist for DSM-5 (PCL-5) total score"),
    MIDAS: InstrumentCode(LOCAL_INSTRUMENT, "midas-total", "Migraine Disability Assessment (MIDAS) total score"),
    PEG3: InstrumentCode(LOCAL_INSTRUMENT, "peg3-score", "PEG-3 pain intensity and interference score (mean)"),
}

HEADACHE_DAYS = (LOCAL_OUTCOME, "headache-days-per-month", "Headache days in the calendar month (diary)")
