from django.urls import path

from outcomes import apis

urlpatterns = [
    path("patient/headache-diary/", apis.DiaryListApi.as_view(), name="headache-diary"),
    # <str:date>: a malformed date is a 400 field error (invalid_date), not a routing 404.
    path("patient/headache-diary/<str:date>/", apis.DiaryEntryApi.as_view(), name="headache-diary-entry"),
    path("patient/headache-summary/", apis.PatientHeadacheSummaryApi.as_view(), name="headache-summary"),
    path("patient/cluster-attacks/", apis.ClusterAttackListApi.as_view(), name="cluster-attacks"),
    path("patient/diary-reminder/", apis.DiaryReminderApi.as_view(), name="diary-reminder"),
    path(
        "physician/patients/<uuid:patient_id>/headache-summary/",
        apis.CareTeamHeadacheSummaryApi.as_view(),
        name="care-team-headache-summary",
    ),
    path(
        "physician/patients/<uuid:patient_id>/outcome-report.pdf",
        apis.OutcomeReportApi.as_view(),
        name="outcome-report",
    ),
    path("physician/outcome-review-flags/", apis.ReviewFlagListApi.as_view(), name="outcome-review-flags"),
    path(
        "physician/outcome-review-flags/<uuid:flag_id>/resolve/",
        apis.ReviewFlagResolveApi.as_view(),
        name="outcome-review-flag-resolve",
    ),
]
