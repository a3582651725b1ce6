from django.urls import path

from careteam import apis

urlpatterns = [
    path(
        "staff/prescribing-readiness/",
        apis.PrescribingReadinessApi.as_view(),
        name="staff-prescribing-readiness",
    ),
]
