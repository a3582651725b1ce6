from django.urls import path

from treatment import apis

urlpatterns = [
    path("patient/sessions/", apis.PatientSessionsApi.as_view(), name="patient-sessions"),
    path("patient/sessions/<uuid:session_id>/end/", apis.PatientSessionEndApi.as_view(), name="patient-session-end"),
    path(
        "patient/sessions/<uuid:session_id>/check-in/",
        apis.PatientSessionCheckInApi.as_view(),
        name="patient-session-check-in",
    ),
    path("patient/supply/", apis.PatientSupplyApi.as_view(), name="patient-supply"),
    path(
        "physician/patients/<uuid:patient_id>/sessions/",
        apis.CareTeamSessionsApi.as_view(),
        name="care-team-sessions",
    ),
]
