from django.urls import path

from interop import apis

urlpatterns = [
    path("patient/record-export/", apis.PatientRecordExportApi.as_view(), name="patient-record-export"),
    path(
        "patient/record-export/<uuid:export_id>/",
        apis.PatientRecordExportDetailApi.as_view(),
        name="patient-record-export-detail",
    ),
    path(
        "physician/patients/<uuid:patient_id>/record-export/",
        apis.CareTeamRecordExportApi.as_view(),
        name="care-team-record-export",
    ),
    path("record-export/download/<str:token>/", apis.RecordExportDownloadApi.as_view(), name="record-export-download"),
]
