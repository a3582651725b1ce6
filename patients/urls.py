from django.urls import path

from patients import apis

urlpatterns = [
    path("assessments/", apis.AssessmentSubmitApi.as_view(), name="assessment-create"),
    path("patient/profile/", apis.ProfileApi.as_view(), name="patient-profile"),
    path("patient/consents/", apis.ConsentListApi.as_view(), name="patient-consents"),
    path("patient/consents/<uuid:document_id>/sign/", apis.ConsentSignApi.as_view(), name="patient-consent-sign"),
    path("patient/questionnaires/", apis.PatientQuestionnaireApi.as_view(), name="patient-questionnaires"),
    path("patient/vitals/", apis.PatientVitalsApi.as_view(), name="patient-vitals"),
    path("patient/pre-session-checks/", apis.PreSessionCheckApi.as_view(), name="patient-pre-session-check"),
    path("physician/safety-flags/", apis.SafetyFlagListApi.as_view(), name="safety-flags"),
    path(
        "physician/safety-flags/<uuid:flag_id>/resolve/",
        apis.SafetyFlagResolveApi.as_view(),
        name="safety-flag-resolve",
    ),
    path(
        "physician/patients/<uuid:patient_id>/questionnaires/",
        apis.CareTeamQuestionnaireApi.as_view(),
        name="care-team-questionnaires",
    ),
    path("physician/patients/<uuid:patient_id>/vitals/", apis.CareTeamVitalsApi.as_view(), name="care-team-vitals"),
    path(
        "physician/patients/<uuid:patient_id>/screenings/",
        apis.CareTeamScreeningApi.as_view(),
        name="care-team-screenings",
    ),
    path(
        "physician/patients/<uuid:patient_id>/contraindications/",
        apis.CareTeamContraindicationApi.as_view(),
        name="care-team-contraindications",
    ),
    path(
        "physician/contraindications/<uuid:contraindication_id>/decision/",
        apis.ContraindicationDecisionApi.as_view(),
        name="contraindication-decision",
    ),
    path("staff/review-queue/", apis.ReviewQueueApi.as_view(), name="review-queue"),
    path("staff/review-queue/assessments/", apis.ReviewQueueAssessmentsApi.as_view(), name="review-queue-assessments"),
    path(
        "staff/review-queue/registrations/",
        apis.ReviewQueueRegistrationsApi.as_view(),
        name="review-queue-registrations",
    ),
    path(
        "staff/assessments/<uuid:assessment_id>/mark-reviewed/",
        apis.AssessmentMarkReviewedApi.as_view(),
        name="assessment-mark-reviewed",
    ),
    path(
        "staff/patients/<uuid:patient_id>/assign-physician/",
        apis.AssignPhysicianApi.as_view(),
        name="assign-physician",
    ),
]
