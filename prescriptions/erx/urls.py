from django.urls import path

from prescriptions.erx import apis

urlpatterns = [
    path(
        "physician/prescriptions/<uuid:prescription_id>/epcs-session/",
        apis.PhysicianEpcsSessionApi.as_view(),
        name="physician-rx-epcs-session",
    ),
    path(
        "physician/prescriptions/<uuid:prescription_id>/sandbox-sign/",
        apis.PhysicianSandboxSignApi.as_view(),
        name="physician-rx-sandbox-sign",
    ),
]
