"""Patients: intake (assessments), profile, consents, questionnaires, safety flags, vitals."""

from patients.models.assessments import Assessment, AssessmentOutcome
from patients.models.consents import ConsentDocument, ConsentKind, ConsentSignature
from patients.models.policy import ClinicalPolicy
from patients.models.profile import PatientProfile
from patients.models.questionnaires import QuestionnaireResponse
from patients.models.safety import AlertDelivery, SafetyFlag, SafetyFlagKind, SafetyFlagStatus
from patients.models.screening import (
    Contraindication,
    ContraindicationSeverity,
    ContraindicationSource,
    ContraindicationStatus,
    Screening,
    ScreeningSource,
)
from patients.models.vitals import CheckOutcome, PreSessionCheck, VitalReading

__all__ = [
    "AlertDelivery",
    "Assessment",
    "AssessmentOutcome",
    "CheckOutcome",
    "ClinicalPolicy",
    "ConsentDocument",
    "ConsentKind",
    "ConsentSignature",
    "Contraindication",
    "ContraindicationSeverity",
    "ContraindicationSource",
    "ContraindicationStatus",
    "PatientProfile",
    "PreSessionCheck",
    "QuestionnaireResponse",
    "SafetyFlag",
    "SafetyFlagKind",
    "SafetyFlagStatus",
    "Screening",
    "ScreeningSource",
    "VitalReading",
]
